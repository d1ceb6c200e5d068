"""Keep the emulator's restart fast: object bodies out of line, snapshots, journal compaction.

Three pieces, each safe against ``kill -9`` at any moment (new files are written aside,
fsynced, then renamed over the old, and the folder is fsynced):

- **Blobs.** Request and object bodies of 8 KiB or more live in content-addressed files
  ``blobs/<sha256[:2]>/<sha256>``; a journal entry names its body's hash instead of holding it.
- **Snapshots.** ``snapshot.pickle`` holds moto's in-memory state (every service backend in
  use) as of one journal sequence number, with S3 object bodies as blob references that are
  read only when an object is read. A start loads it and replays only the journal entries
  after it. The journal stays the source of truth: a snapshot written by another moto or
  botocore version, or one that cannot be read, is ignored and the whole journal replayed.
- **Compaction.** Rewrites the journal without S3 object writes that a later write or delete
  of the same key made invisible, and with inline bodies of 8 KiB or more moved to blobs;
  then deletes blobs that neither the journal nor the snapshot names. Entries keep their
  sequence numbers (replays seed moto's random generator from them), so identifiers and
  timestamps stay.

A test can pause compaction at a stage with ``PLAYGROUND_EMULATOR_COMPACTION_PAUSE=<stage>``
(``blobs``: large bodies written, journal not yet replaced; ``renamed``: journal replaced,
old blobs not yet removed); the emulator then writes ``compaction-paused-<stage>`` in its
state folder and sleeps, so the test can kill it there.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import pickle
import sys
import tempfile
import threading
import time
import weakref
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

log = logging.getLogger("localaws.emulator")

BLOB_THRESHOLD = 8 * 1024
SNAPSHOT_NAME = "snapshot.pickle"
BLOBS_NAME = "blobs"
PAUSE_VARIABLE = "PLAYGROUND_EMULATOR_COMPACTION_PAUSE"
_FORMAT = 1


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes | Iterable[bytes]) -> None:
    """Replace ``path`` with ``data``: all of it or (after a crash) none of it."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as handle:
        for chunk in [data] if isinstance(data, bytes) else data:
            handle.write(chunk)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def pause_point(state_dir: Path, stage: str) -> None:
    """Stop here (for a kill -9 test) when PLAYGROUND_EMULATOR_COMPACTION_PAUSE names stage."""
    if os.environ.get(PAUSE_VARIABLE) == stage:
        (state_dir / f"compaction-paused-{stage}").write_text(str(os.getpid()))
        log.warning("compaction paused at %r for a test", stage)
        time.sleep(3600)


class BlobStore:
    """Content-addressed files under ``<state>/blobs``; a blob, once written, never changes."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str) -> Path:
        """Where the blob with this SHA-256 (hex) lives."""
        return self.root / digest[:2] / digest

    def put(self, data: bytes) -> str:
        """Store ``data`` durably (once) and return its SHA-256."""
        digest = hashlib.sha256(data).hexdigest()
        path = self.path(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            fsync_dir(path.parent)
        return digest

    def get(self, digest: str) -> bytes:
        """The blob's bytes."""
        return self.path(digest).read_bytes()

    def digests(self) -> set[str]:
        """Every stored blob."""
        if not self.root.exists():
            return set()
        return {p.name for p in self.root.glob("*/*") if not p.name.startswith(".tmp-")}

    def remove_except(self, keep: set[str]) -> int:
        """Delete blobs not in ``keep`` (and leftovers of interrupted writes)."""
        removed = 0
        if not self.root.exists():
            return 0
        for path in self.root.glob("*/*"):
            if path.name.startswith(".tmp-") or path.name not in keep:
                path.unlink(missing_ok=True)
                removed += 1
        return removed


def entry_body(entry: dict[str, Any], blobs: BlobStore) -> bytes:
    """A journal entry's request body, inline (base64) or from its blob."""
    if "blob" in entry:
        return blobs.get(entry["blob"])
    return base64.b64decode(entry.get("body", ""))


def entry_with_body(entry: dict[str, Any], body: bytes, blobs: BlobStore) -> dict[str, Any]:
    """The entry with ``body`` stored inline when small, else in a blob (written first)."""
    out = {k: v for k, v in entry.items() if k not in ("body", "blob")}
    if len(body) >= BLOB_THRESHOLD:
        out["blob"] = blobs.put(body)
    else:
        out["body"] = base64.b64encode(body).decode("ascii")
    return out


# --------------------------------------------------------------------------- lazy bodies


class BlobBuffer:
    """A read-only stand-in for moto's SpooledTemporaryFile that reads a blob when asked.

    moto's S3 object keeps its body in ``_value_buffer`` and only seeks, reads, truncates,
    writes and closes it. Reads open the blob file; a write (moto replacing the body) turns
    this into an ordinary in-memory buffer.
    """

    def __init__(self, path: Path, digest: str) -> None:
        self.path = path
        self.digest = digest
        self._position = 0
        self._closed = False
        self._memory: io.BytesIO | None = None

    def seek(self, offset: int, whence: int = 0) -> int:
        """Move the read position."""
        if self._memory is not None:
            return self._memory.seek(offset, whence)
        if whence == 2:
            offset += self.path.stat().st_size
        elif whence == 1:
            offset += self._position
        self._position = offset
        return offset

    def tell(self) -> int:
        """The read position."""
        return self._memory.tell() if self._memory is not None else self._position

    def read(self, size: int = -1) -> bytes:
        """Bytes from the blob file (or from memory after a write)."""
        if self._closed:
            raise ValueError("I/O operation on closed file")
        if self._memory is not None:
            return self._memory.read(size)
        with self.path.open("rb") as handle:
            handle.seek(self._position)
            data = handle.read() if size is None or size < 0 else handle.read(size)
        self._position += len(data)
        return data

    def truncate(self, size: int | None = None) -> int:
        """Start over in memory (moto truncates before it writes a new body)."""
        if self._memory is None:
            self._memory = io.BytesIO(self._blob_prefix(size))
            self._memory.seek(self._position)
        return self._memory.truncate(size)

    def write(self, data: bytes) -> int:
        """Write in memory."""
        if self._memory is None:
            self.truncate(None)
        memory = self._memory
        if memory is None:  # pragma: no cover - truncate always sets it
            raise ValueError("I/O operation on closed file")
        return memory.write(data)

    def close(self) -> None:
        """Forget the body (moto disposes of deleted objects)."""
        self._closed = True
        self._memory = None

    def _blob_prefix(self, size: int | None) -> bytes:
        if size == 0 or (size is None and self._position == 0):
            return b""
        data = self.path.read_bytes()
        return data if size is None else data[:size]


# --------------------------------------------------------------------------- snapshots


def _versions() -> dict[str, str]:
    import botocore
    import moto

    return {"moto": moto.__version__, "botocore": botocore.__version__, "python": sys.version}


def _backend_dicts() -> list[tuple[str, str, Any]]:
    """(module, attribute, BackendDict) for every moto service backend in use."""
    from moto.core.base_backend import BackendDict

    in_use: list[Any] = list(getattr(BackendDict, "_instances", []))
    found: list[tuple[str, str, Any]] = []
    for module_name, module in list(sys.modules.items()):
        if not module_name.startswith("moto.") or module is None:
            continue
        for attribute, value in list(vars(module).items()):
            if isinstance(value, BackendDict) and any(value is b for b in in_use):
                found.append((module_name, attribute, value))
    unique: dict[int, tuple[str, str, Any]] = {}
    for item in found:
        # A backend dict is imported into several modules; keep the one in its models module.
        current = unique.get(id(item[2]))
        if current is None or (item[0].endswith(".models") and not current[0].endswith(".models")):
            unique[id(item[2])] = item
    return sorted(unique.values(), key=lambda i: (i[0], i[1]))


@dataclass(frozen=True)
class _BlobRef:
    digest: str


def _fake_key_class() -> Any:
    from moto.s3.models import FakeKey

    return FakeKey


def _restore_key(cls: Any, state: dict[str, Any], body: Any) -> Any:
    key = cls.__new__(cls)
    key.__dict__.update(state)
    if isinstance(body, BlobBuffer):
        key._value_buffer = body
    else:
        # Owned by the object from now on, as in moto's own constructor.
        buffer = tempfile.SpooledTemporaryFile(max_size=state.get("_max_buffer_size") or 0)  # noqa: SIM115
        buffer.write(body)
        key._value_buffer = buffer
    key.lock = threading.Lock()
    return key


def _weak_value_dict(items: dict[Any, Any]) -> weakref.WeakValueDictionary[Any, Any]:
    return weakref.WeakValueDictionary(items)


def _default_dict(factory: type, items: dict[Any, Any]) -> defaultdict[Any, Any]:
    return defaultdict(factory, items)


class _SnapshotPickler(pickle.Pickler):
    def __init__(self, file: Any, blobs: BlobStore, key_class: Any) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.blobs = blobs
        self.key_class = key_class
        self.moved: list[tuple[Any, str]] = []
        self.referenced: set[str] = set()

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, weakref.WeakValueDictionary):
            # moto's Lambda backend indexes its functions by ARN in one; the functions
            # themselves are pickled where the backend holds them.
            return _weak_value_dict, (dict(obj),)
        factory = getattr(obj, "default_factory", None)
        if isinstance(obj, defaultdict) and getattr(factory, "__name__", "") == "<lambda>":
            # ... and its aliases in a defaultdict(lambda: {}): the same as defaultdict(dict).
            empty = factory()  # type: ignore[misc]
            if type(empty) in (dict, list, set) and not empty:
                return _default_dict, (type(empty), dict(obj))
        if not isinstance(obj, self.key_class):
            return NotImplemented
        state = {k: v for k, v in obj.__dict__.items() if k not in ("_value_buffer", "lock")}
        buffer = obj.__dict__.get("_value_buffer")
        if isinstance(buffer, BlobBuffer) and buffer._memory is None and not buffer._closed:
            self.referenced.add(buffer.digest)
            return _restore_key, (type(obj), state, _BlobRef(buffer.digest))
        try:
            value = obj.value
        except ValueError:  # a deleted object's closed buffer
            return _restore_key, (type(obj), state, b"")
        if len(value) < BLOB_THRESHOLD:
            return _restore_key, (type(obj), state, value)
        digest = self.blobs.put(value)
        self.moved.append((obj, digest))
        self.referenced.add(digest)
        return _restore_key, (type(obj), state, _BlobRef(digest))

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, _BlobRef):
            return ("blob", obj.digest)
        return None


class _SnapshotUnpickler(pickle.Unpickler):
    def __init__(self, file: Any, blobs: BlobStore) -> None:
        super().__init__(file)
        self.blobs = blobs

    def persistent_load(self, pid: Any) -> Any:
        kind, digest = pid
        if kind != "blob":
            raise pickle.UnpicklingError(f"unknown reference {kind!r}")
        return BlobBuffer(self.blobs.path(digest), digest)


def save_snapshot(
    path: Path, seq: int, blobs: BlobStore, aliases: dict[str, str] | None = None
) -> int:
    """Write moto's state as of journal entry ``seq``; returns the snapshot's size in bytes.

    ``aliases`` ({id a client was given: id moto holds}, `localaws.replay`) are kept with it.

    Call with writes held off (the emulator holds its write lock). Bodies moved to blobs are
    then read from there, which also frees their memory.
    """
    key_class = _fake_key_class()
    backends = [
        (module, attribute, {account: dict(regions) for account, regions in bd.items()})
        for module, attribute, bd in _backend_dicts()
    ]
    buffer = io.BytesIO()
    pickler = _SnapshotPickler(buffer, blobs, key_class)
    pickler.dump(backends)
    # The header comes first, so the blobs a snapshot needs can be listed without moto.
    header = {
        "format": _FORMAT,
        "versions": _versions(),
        "seq": seq,
        "blobs": sorted(pickler.referenced),
        "aliases": dict(aliases or {}),
    }
    data = pickle.dumps(header, protocol=pickle.HIGHEST_PROTOCOL) + buffer.getvalue()
    write_atomically(path, data)
    for key, digest in pickler.moved:
        with key.lock:
            if key.__dict__.get("_value_buffer") is not None:
                key._value_buffer.close()
            key._value_buffer = BlobBuffer(blobs.path(digest), digest)
    return len(data)


def _header(handle: Any) -> dict[str, Any]:
    header = pickle.load(handle)  # noqa: S301 - our own file in our own state folder
    if not isinstance(header, dict):
        raise pickle.UnpicklingError("no snapshot header")
    return header


def snapshot_blobs(path: Path) -> set[str] | None:
    """The blobs a snapshot refers to (from its header); None when it cannot be read."""
    if not path.exists():
        return set()
    try:
        with path.open("rb") as handle:
            return set(_header(handle).get("blobs", []))
    except Exception:  # the caller keeps every blob then
        log.warning("cannot read the header of %s", path)
        return None


def snapshot_aliases(path: Path) -> dict[str, str]:
    """The id aliases a snapshot was written with (empty when none or unreadable)."""
    try:
        with path.open("rb") as handle:
            aliases = _header(handle).get("aliases", {})
    except Exception:
        return {}
    return {str(k): str(v) for k, v in aliases.items()} if isinstance(aliases, dict) else {}


def load_snapshot(path: Path, blobs: BlobStore) -> int | None:
    """Install a snapshot's state into moto; returns its sequence number, None when unusable."""
    if not path.exists():
        return None
    try:
        with path.open("rb") as handle:
            header = _header(handle)
            if header.get("format") != _FORMAT or header.get("versions") != _versions():
                log.warning("ignoring snapshot %s written by other versions; replaying", path)
                return None
            backends = _SnapshotUnpickler(handle, blobs).load()
    except Exception as exc:  # any unreadable snapshot means: replay instead
        log.warning("ignoring snapshot %s (%s); replaying the whole journal", path, exc)
        return None
    import importlib

    for module, attribute, accounts in backends:
        backend_dict = getattr(importlib.import_module(module), attribute)
        for account, regions in accounts.items():
            account_backends = backend_dict[account]
            for region, backend in regions.items():
                dict.__setitem__(account_backends, region, backend)
    return int(header["seq"])


# --------------------------------------------------------------------------- compaction


def _s3_target(entry: dict[str, Any]) -> tuple[str, str] | None:
    """(bucket, key) of a path-style S3 request signed for s3, else None; key '' for a bucket."""
    headers = entry.get("headers", {})
    auth = headers.get("Authorization", "")
    if "/s3/aws4_request" not in auth:
        return None
    path = entry["path"]
    if not path.startswith("/"):
        return None
    bucket, _, key = path[1:].partition("/")
    return bucket, key


def _query_keys(entry: dict[str, Any]) -> set[str]:
    return {k for k, _ in parse_qsl(entry.get("query", ""), keep_blank_values=True)} - {"x-id"}


def superseded(entries: list[dict[str, Any]], snapshot_seq: int = 0) -> set[int]:
    """Positions of S3 object writes whose effect a later write or delete of the key hides.

    Only plain PutObject and DeleteObject are ever dropped, in buckets never versioned; any
    other request that names a key (copies from or to it, multipart parts, tags, ACLs) or a
    multi-object delete in its bucket keeps the key's writes before it. A delete after the
    snapshot (``snapshot_seq``) of an object written before it stays: the snapshot holds the
    object, and only the delete removes it again.
    """
    versioned = {
        target[0]
        for e in entries
        if (target := _s3_target(e)) and "versioning" in _query_keys(e) and not target[1]
    }
    drop: set[int] = set()
    pending: dict[tuple[str, str], int] = {}
    base_absent: dict[tuple[str, str], bool] = {}
    present: dict[tuple[str, str], bool] = {}

    def barrier(item: tuple[str, str]) -> None:
        pending.pop(item, None)
        present[item] = True

    for position, entry in enumerate(entries):
        target = _s3_target(entry)
        if target is None or target[0] in versioned:
            continue
        bucket, key = target
        method = entry["method"]
        query = _query_keys(entry)
        headers = {k.lower(): v for k, v in entry.get("headers", {}).items()}
        if not key:
            if "delete" in query:
                for item in [i for i in list(pending) + list(present) if i[0] == bucket]:
                    barrier(item)
            continue
        item = (bucket, key)
        source = headers.get("x-amz-copy-source")
        if source:
            source_path = unquote(source.split("?", 1)[0]).lstrip("/")
            source_bucket, _, source_key = source_path.partition("/")
            barrier((source_bucket, source_key))
            barrier(item)
        elif method == "PUT" and not query:
            if item in pending:
                drop.add(pending[item])
            else:
                base_absent[item] = not present.get(item, False)
            pending[item] = position
            present[item] = True
        elif method == "DELETE" and not query:
            if item in pending:
                written = pending.pop(item)
                drop.add(written)
                if base_absent.get(item, False) and (
                    entries[written]["seq"] > snapshot_seq or entry["seq"] <= snapshot_seq
                ):
                    drop.add(position)
            present[item] = False
        else:
            barrier(item)
    return drop


@dataclass(frozen=True)
class CompactionResult:
    """What one compaction did."""

    entries_before: int
    entries_after: int
    bytes_before: int
    bytes_after: int
    blobs_removed: int
    seconds: float


def snapshot_seq(path: Path) -> int:
    """The journal sequence number a snapshot covers (0 without a usable one).

    An unreadable snapshot is ignored at start (the whole journal is replayed), so it
    covers nothing.
    """
    if not path.exists():
        return 0
    try:
        with path.open("rb") as handle:
            return int(_header(handle)["seq"])
    except Exception:
        return 0


def needs_compaction(entries: list[dict[str, Any]], snapshot: Path) -> bool:
    """Whether rewriting the journal would drop entries or move bodies out of line."""
    if any(len(e.get("body", "")) * 3 // 4 >= BLOB_THRESHOLD for e in entries):
        return True
    return bool(superseded(entries, snapshot_seq(snapshot)))


def compact(
    journal: Path, entries: list[dict[str, Any]], blobs: BlobStore, snapshot: Path
) -> tuple[list[dict[str, Any]], CompactionResult]:
    """Rewrite the journal without superseded S3 writes, bodies of 8 KiB+ in blobs.

    Crash-safe in every step: blobs are written and fsynced before the journal that names
    them replaces the old one (atomic rename); unreferenced blobs go only after that.
    """
    started = time.monotonic()
    before = journal.stat().st_size if journal.exists() else 0
    drop = superseded(entries, snapshot_seq(snapshot))
    kept: list[dict[str, Any]] = []
    for position, entry in enumerate(entries):
        if position in drop:
            continue
        if "body" in entry and len(entry["body"]) * 3 // 4 >= BLOB_THRESHOLD:
            entry = entry_with_body(entry, base64.b64decode(entry["body"]), blobs)
        kept.append(entry)
    state_dir = journal.parent
    pause_point(state_dir, "blobs")
    write_atomically(journal, [json.dumps(e).encode() + b"\n" for e in kept])
    pause_point(state_dir, "renamed")
    in_snapshot = snapshot_blobs(snapshot)
    removed = 0
    if in_snapshot is not None:
        removed = blobs.remove_except({e["blob"] for e in kept if "blob" in e} | in_snapshot)
    result = CompactionResult(
        entries_before=len(entries),
        entries_after=len(kept),
        bytes_before=before,
        bytes_after=journal.stat().st_size,
        blobs_removed=removed,
        seconds=time.monotonic() - started,
    )
    log.info(
        "compacted the journal: %d -> %d entries, %.1f -> %.1f MB, %d blobs removed, %.2f s",
        result.entries_before,
        result.entries_after,
        result.bytes_before / 1e6,
        result.bytes_after / 1e6,
        result.blobs_removed,
        result.seconds,
    )
    return kept, result
