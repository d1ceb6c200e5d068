"""The local AWS emulator: moto's server behind a write-ahead journal, so state survives.

moto keeps everything in memory. This module wraps moto's WSGI application with a journal:
every request that changed state and succeeded is appended to ``journal.jsonl`` (and fsynced)
*before* its response leaves the server, so whatever a client saw acknowledged is on disk, even
if the process is killed with SIGKILL a moment later. On start the state is restored
in-process (no HTTP) before the emulator reports ready: from the latest snapshot plus the
journal entries after it, or from the whole journal; a torn last line (one without its
newline: a write that was never acknowledged) is dropped, any other unreadable line stops the
start. Snapshots, out-of-line bodies and compaction (which keep restarts fast however long the
history) are in `localaws.snapshot`.

Replays must give back the same identifiers and timestamps, so each journalled request runs
with moto's random generators (and `os.urandom`) seeded from its sequence number and with
moto's clock frozen at the time it was first served; the ids an answer gave are journalled
with it, so a replay by another moto version maps them (`localaws.replay`). An entry that
fails on replay stops the start with a `ReplayError` naming it (exit code 3) and the way out,
`repair_journal`. Reads (GET/HEAD, and Describe/List/Get actions sent by POST) are not
journalled.

In strict mode (the default) every request is first checked against its AWS service model
(`localaws.strict`); one that breaks it gets AWS's 400 answer, never reaches moto, and is
not journalled. ``/_playground/violations`` reports what was refused since the start.

With IAM enforcement (``--iam``) every request is then decided as IAM decides it, from the
signer's role and the resource's policy (`localaws.permission`); a denial gets AWS's
``AccessDenied`` answer, never reaches moto and is not journalled. ``/_playground/denials``
reports denials and what each role used; ``/_playground/authorize`` answers, for the signer,
what IAM would decide on a resource the emulator cannot hold (AWS's image registry).

Run as ``python -m localaws.emulator --host H --port P --state-dir D [--no-strict] [--iam]``
(``playground local start`` does that in the background).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import io
import json
import logging
import os
import random
import signal
import sys
import threading
import time
import types
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from localaws import replay as replay_
from localaws import snapshot
from localaws.control_paths import (
    AUTHORIZE_PATH,
    DENIALS_PATH,
    HEALTH_PATH,
    VIOLATIONS_PATH,
)
from localaws.permission import PermissionLayer
from localaws.s3_cors import S3CorsLayer
from localaws.sagemaker.model_package import model_package_semantics
from localaws.sagemaker.pipeline_definition import pipeline_semantics
from localaws.strict import StrictMode, request_from_environ
from localaws.wsgi import StartResponse, WsgiApp, call_app, read_body

VIOLATIONS_NAME = "violations.jsonl"
DENIALS_NAME = "denials.jsonl"
JOURNAL_NAME = "journal.jsonl"
REPLAY_FAILED = 3  # the exit code when a journal entry cannot be replayed
_READ_ACTIONS = ("Describe", "List", "Get", "Search", "BatchDescribe", "BatchGet", "Query")
_MUTATING_METHODS = {"PUT", "POST", "DELETE", "PATCH"}
_SEED_BASE = 20_240_601
# A snapshot after this many journalled changes (or bytes of bodies) bounds what a restart
# after kill -9 replays; a pipeline run journals about 40 changes and 3 MB.
SNAPSHOT_EVERY_ENTRIES = 64
SNAPSHOT_EVERY_BYTES = 16 * 1024 * 1024

log = logging.getLogger("localaws.emulator")


class FrozenClock:
    """Lets the journal pin moto's idea of "now" while one request is processed."""

    def __init__(self) -> None:
        self.frozen: _dt.datetime | None = None
        real = _dt.datetime
        clock = self

        class _Datetime(_dt.datetime):
            @classmethod
            def now(cls, tz: _dt.tzinfo | None = None) -> _dt.datetime:  # type: ignore[override]
                if clock.frozen is None:
                    return real.now(tz)
                moment = clock.frozen
                return moment.astimezone(tz) if tz else moment.replace(tzinfo=None)

            @classmethod
            def utcnow(cls) -> _dt.datetime:  # type: ignore[override]
                if clock.frozen is None:
                    return real.now(_dt.UTC).replace(tzinfo=None)
                return clock.frozen.replace(tzinfo=None)

        self.datetime_class = _Datetime

    def install(self) -> None:
        """Make moto's shared `utcnow()` read this clock (it looks up `datetime` at call time)."""
        import moto.core.utils as moto_utils

        shim = types.ModuleType("datetime")
        shim.__dict__.update(_dt.__dict__)
        shim.datetime = self.datetime_class  # type: ignore[attr-defined]
        moto_utils.datetime = shim


def is_mutation(method: str, headers: dict[str, str], body: bytes) -> bool:
    """Whether a request may change state (and so must be journalled)."""
    if method not in _MUTATING_METHODS:
        return False
    target = headers.get("X-Amz-Target", "")
    if target:
        action = target.rsplit(".", 1)[-1]
        return not action.startswith(_READ_ACTIONS)
    content_type = headers.get("Content-Type", "")
    if method == "POST" and content_type.startswith("application/x-www-form-urlencoded"):
        action = parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
        if action:
            return not action.startswith(_READ_ACTIONS)
    return True


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    headers = {
        key[5:].replace("_", "-").title(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").title()] = str(environ[key])
    # botocore sends these names; title() would turn them into "X-Amz-Target" etc. anyway.
    return headers


def _read_entry(line: bytes, previous: tuple[int, int] | None) -> tuple[dict[str, Any] | None, str]:
    """One journal line as an entry, or None and why it is not one.

    Args:
        line: one line of the journal, without its newline.
        previous: (seq, line number) of the entry before it, None for the first.
    """
    try:
        entry = json.loads(line)
    except ValueError:
        return None, "not a readable journal entry"
    if not isinstance(entry, dict) or type(entry.get("seq")) is not int:
        return None, "not a readable journal entry (no change number)"
    if previous is not None and entry["seq"] <= previous[0]:
        return None, (
            f"its change number {entry['seq']} does not follow {previous[0]} (line {previous[1]}),"
            " so one of the two lines is damaged"
        )
    return entry, ""


class Journal:
    """Append-only, fsynced log of the state-changing requests that succeeded.

    Bodies of 8 KiB or more are kept in content-addressed blob files beside it (written and
    fsynced before the entry that names them); see `localaws.snapshot`.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.blobs = snapshot.BlobStore(path.parent / snapshot.BLOBS_NAME)
        self.snapshot_path = path.parent / snapshot.SNAPSHOT_NAME
        self.count = 0  # the sequence number of the last acknowledged change
        self.torn = False  # the file ends in a line without its newline
        self.line_numbers: dict[int, int] = {}  # seq -> line of the file, from `entries`

    def entries(self, corrupt: list[tuple[int, bytes, str]] | None = None) -> list[dict[str, Any]]:
        """Every entry of the journal, in order.

        Only a last line without its newline can be a write cut by a crash: `append` writes
        line and newline before it fsyncs and before the client gets an answer, so such a
        line was never acknowledged. It is dropped when unreadable (and kept when it reads as
        a whole entry); `torn` tells the caller to rewrite the file so appends start on a
        line of their own. Every line that ends in its newline was written whole and may
        have been acknowledged: when it is unreadable, not a journal entry, or its sequence
        number does not follow the one before, it is corrupt, wherever it stands.

        Args:
            corrupt: when given, corrupt lines are appended to it as (line number, line,
                reason) and skipped (`repair_journal`); otherwise the first raises `ReplayError`.

        Raises:
            localaws.replay.ReplayError: a corrupt line, naming it and the way out.
        """
        self.torn = False
        self.line_numbers = {}
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        lines = data.split(b"\n")
        unterminated = len(lines)  # split leaves b"" last when the file ends in a newline
        entries: list[dict[str, Any]] = []
        for number, line in enumerate(lines, start=1):
            if number == unterminated and line:
                self.torn = True
            if not line.strip():
                continue
            last = entries[-1]["seq"] if entries else None
            entry, reason = _read_entry(
                line, None if last is None else (last, self.line_numbers[last])
            )
            if entry is not None:
                entries.append(entry)
                self.line_numbers[entry["seq"]] = number
                continue
            if number == unterminated:
                log.warning("dropping a torn last journal line (%d bytes)", len(line))
                continue
            if corrupt is not None:
                corrupt.append((number, line, reason))
                continue
            raise replay_.ReplayError(
                None,
                number,
                line[:120].decode("utf-8", "replace"),
                f"the line is corrupt: {reason}",
                str(self.path),
            )
        return entries

    def rewrite(self, entries: list[dict[str, Any]]) -> None:
        """Write the file again with only these entries (after a torn tail or a compaction)."""
        snapshot.write_atomically(self.path, [json.dumps(e).encode() + b"\n" for e in entries])
        self.renumber(entries)

    def renumber(self, entries: list[dict[str, Any]]) -> None:
        """Note that the file now holds exactly these entries, one a line."""
        self.torn = False
        self.line_numbers = {e["seq"]: n for n, e in enumerate(entries, start=1)}

    def append(self, entry: dict[str, Any], body: bytes) -> None:
        """Write one entry (its body inline or as a blob) and force it to disk."""
        line = json.dumps(snapshot.entry_with_body(entry, body, self.blobs)).encode() + b"\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            written = 0
            while written < len(line):  # a write may take fewer bytes (a signal, a full disk)
                written += os.write(fd, line[written:])
            os.fsync(fd)
        finally:
            os.close(fd)

    def clear(self) -> None:
        """Forget everything (after moto's own reset): snapshot first, then journal, blobs."""
        self.snapshot_path.unlink(missing_ok=True)
        self.path.write_bytes(b"")
        self.blobs.remove_except(set())
        self.count = 0


class JournalledApp:
    """WSGI middleware: serialise and journal state changes; replay them on start."""

    def __init__(
        self,
        app: WsgiApp,
        journal: Journal,
        strict: StrictMode | None = None,
        permission: PermissionLayer | None = None,
        region: str = "us-east-1",
    ) -> None:
        self.app = app
        self.journal = journal
        self.strict = strict or StrictMode(enabled=False)
        self.permission = permission or PermissionLayer(enabled=False, index=self.strict.index)
        self.region = region
        self.clock = FrozenClock()
        self.clock.install()
        replay_.install_seeded_entropy()
        self.aliases = replay_.Aliases()
        self._write_lock = threading.Lock()
        self.ready = False
        self._since_snapshot = (0, 0)  # entries, body bytes
        self._snapshotting = False

    def _seeded_call(
        self, seq: int, moment: _dt.datetime, environ: dict[str, Any]
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        from moto.moto_api._internal import mock_random

        mock_random.seed(_SEED_BASE + seq)
        # Some moto models (SageMaker's pipeline execution ids) draw from `random` itself.
        random.seed(_SEED_BASE + seq)
        self.clock.frozen = moment
        try:
            # S3's multipart UploadIds (and uuid4) come from os.urandom.
            with replay_.seeded(_SEED_BASE + seq):
                return self._translated_call(environ)
        finally:
            self.clock.frozen = None

    def _translated_call(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        """Call moto with the clients' ids mapped in and the answer's ids mapped back."""
        if not self.aliases:
            return call_app(self.app, environ)
        self._translate_in(environ)
        status, headers, body = call_app(self.app, environ)
        content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
        translated = self.aliases.outbound_bytes(body, content_type)
        headers = [(k, self.aliases.outbound(v)) for k, v in headers]
        if translated != body:  # a HEAD's Content-Length stays the object's
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(translated))))
        return status, headers, translated

    def _translate_in(self, environ: dict[str, Any]) -> None:
        """Rewrite a request's path, query, headers and text body to the ids moto holds."""
        aliases = self.aliases
        for key in ("PATH_INFO", "QUERY_STRING", "RAW_URI", "REQUEST_URI"):
            if isinstance(environ.get(key), str):
                environ[key] = aliases.inbound(environ[key])
        for key, value in list(environ.items()):
            if key.startswith("HTTP_") and key != "HTTP_AUTHORIZATION" and isinstance(value, str):
                environ[key] = aliases.inbound(value)
        if replay_.is_text(environ.get("CONTENT_TYPE", "")):
            body = read_body(environ)
            try:
                translated = aliases.inbound(body.decode("utf-8")).encode("utf-8")
            except UnicodeDecodeError:
                return
            environ["wsgi.input"] = io.BytesIO(translated)
            environ["CONTENT_LENGTH"] = str(len(translated))

    def replay(self, on_failure: Callable[[dict[str, Any], str], None] | None = None) -> int:
        """Restore the state: compact if useful, load the snapshot, replay what follows it.

        Args:
            on_failure: called with (entry, reason) for each entry that fails, and the replay
                goes on (`repair_journal`); without it the first failure raises.

        Returns:
            How many journal entries it replayed (those after the snapshot, or all).

        Raises:
            localaws.replay.ReplayError: an entry is unreadable or fails (no `on_failure`).
        """
        journal = self.journal
        entries = journal.entries([] if on_failure is not None else None)
        if snapshot.needs_compaction(entries, journal.snapshot_path):
            entries, _ = snapshot.compact(
                journal.path, entries, journal.blobs, journal.snapshot_path
            )
            journal.renumber(entries)
        elif journal.torn:
            journal.rewrite(entries)
        restored = snapshot.load_snapshot(journal.snapshot_path, journal.blobs) or 0
        # Ids mapped before the snapshot; a whole replay learns them again from the answers.
        known = snapshot.snapshot_aliases(journal.snapshot_path) if restored else {}
        self.aliases = replay_.Aliases(known)
        tail = [e for e in entries if e["seq"] > restored]
        for entry in tail:
            failure = self.replay_entry(entry)
            if failure is not None:
                if on_failure is None:
                    raise replay_.ReplayError(
                        entry.get("seq"),
                        journal.line_numbers.get(entry["seq"]),
                        replay_.describe(entry),
                        failure,
                        str(journal.path),
                    )
                on_failure(entry, failure)
        journal.count = max([restored] + [e["seq"] for e in entries])
        if restored:
            log.info("restored the snapshot of change %d", restored)
        self._since_snapshot = (len(tail), 0)
        self.ready = True
        return len(tail)

    def replay_entry(self, entry: dict[str, Any]) -> str | None:
        """Apply one journal entry; returns why it failed, None when it succeeded.

        The ids its answer gives that differ from the journalled answer become aliases.
        """
        from werkzeug.test import EnvironBuilder

        try:
            builder = EnvironBuilder(
                method=entry["method"],
                path=entry["path"],
                query_string=entry["query"],
                headers=entry["headers"],
                data=snapshot.entry_body(entry, self.journal.blobs),
            )
            environ = builder.get_environ()
            moment = _dt.datetime.fromisoformat(entry["time"])
            status, headers, body = self._seeded_call(entry["seq"], moment, environ)
        except FileNotFoundError as exc:
            return f"its body is missing from the blob store ({exc.filename})"
        except Exception as exc:  # moto's own failure, or a missing field
            hint = " (it names something that does not exist)" if isinstance(exc, KeyError) else ""
            return f"moto raised {type(exc).__name__}: {exc}{hint}"
        code = int(status.split()[0])
        if code >= 400:
            detail = body[:300].decode("utf-8", "replace").strip()
            return f"answered {status} where it first succeeded: {detail}"
        recorded = entry.get("answer")
        if isinstance(recorded, dict):
            now = replay_.record_answer(headers, body) or {}
            self.aliases.learn(replay_.differences(recorded, now))
        return None

    def take_snapshot(self) -> None:
        """Write a snapshot of the current state (holds writes off while it pickles)."""
        with self._write_lock:
            self._snapshotting = False
            if not self.ready:
                return
            started = time.monotonic()
            try:
                size = snapshot.save_snapshot(
                    self.journal.snapshot_path,
                    self.journal.count,
                    self.journal.blobs,
                    self.aliases.forward,
                )
            except Exception:  # a backend moto cannot pickle: restarts replay the journal
                log.exception("cannot write a snapshot; restarts will replay the journal")
                return
            self._since_snapshot = (0, 0)
            log.info(
                "snapshot of change %d written (%.1f MB, %.2f s)",
                self.journal.count,
                size / 1e6,
                time.monotonic() - started,
            )

    def snapshot_soon(self) -> None:
        """Take a snapshot in the background (if one is not under way already)."""
        if self._snapshotting:
            return
        self._snapshotting = True
        threading.Thread(target=self.take_snapshot, name="snapshot", daemon=True).start()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Serve one request; journal it first when it changed state."""
        path = environ.get("PATH_INFO", "")
        if path == HEALTH_PATH:
            body = json.dumps(
                {
                    "ready": self.ready,
                    "journal_entries": self.journal.count,
                    "strict": self.strict.enabled,
                    "violations": self.strict.violations,
                    "iam": self.permission.enabled,
                    "denials": self.permission.denials,
                }
            )
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body.encode()]
        if path == VIOLATIONS_PATH:
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps(self.strict.report()).encode()]
        if path == DENIALS_PATH:
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps(self.permission.report()).encode()]
        if path == AUTHORIZE_PATH and environ.get("REQUEST_METHOD") == "POST":
            asked = read_body(environ)
            try:
                question = json.loads(asked or b"{}")
                actions = [str(a) for a in question["actions"]]
                resource = str(question.get("resource") or "*")
            except (ValueError, KeyError, TypeError) as exc:
                start_response("400 Bad Request", [("Content-Type", "application/json")])
                return [json.dumps({"message": f"expected actions and resource: {exc}"}).encode()]
            decided = self.permission.authorize(
                request_from_environ(environ, asked), actions, resource
            )
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps(decided).encode()]
        if not self.ready:
            start_response("503 Service Unavailable", [("Content-Type", "application/json")])
            return [b'{"message": "the emulator is replaying its journal"}']
        method = environ.get("REQUEST_METHOD", "GET")
        if path.startswith("/moto-api/") and path.rstrip("/") != "/moto-api/reset":
            return self.app(environ, start_response)
        request_body = read_body(environ) if method in _MUTATING_METHODS else b""
        headers = _headers(environ)
        if path.rstrip("/") == "/moto-api/reset":
            with self._write_lock:
                result = self.app(environ, start_response)
                self.journal.clear()
                self.aliases = replay_.Aliases()
                return result
        request = request_from_environ(environ, request_body)
        refusal = self.strict.check(request) or self.permission.check(request, self.region)
        if refusal is not None:
            # Refused as AWS would: moto never sees it, so nothing changes or is journalled.
            start_response(refusal.status, refusal.headers)
            return [refusal.body]
        if not is_mutation(method, headers, request_body):
            if not self.aliases:
                return self.app(environ, start_response)
            status, out_headers, out_body = self._translated_call(environ)
            start_response(status, out_headers)
            return [out_body]
        query = environ.get("QUERY_STRING", "")
        with self._write_lock:
            seq = self.journal.count + 1
            moment = _dt.datetime.now(_dt.UTC)
            status, out_headers, out_body = self._seeded_call(seq, moment, environ)
            if int(status.split()[0]) < 400:
                entry: dict[str, Any] = {
                    "seq": seq,
                    "time": moment.isoformat(),
                    "method": method,
                    "path": path,
                    "query": query,
                    "headers": headers,
                }
                answer = replay_.record_answer(out_headers, out_body)
                if answer is not None:
                    entry["answer"] = answer
                self.journal.append(entry, request_body)
                self.journal.count = seq
                entries, size = self._since_snapshot
                self._since_snapshot = (entries + 1, size + len(request_body))
                if (
                    self._since_snapshot[0] >= SNAPSHOT_EVERY_ENTRIES
                    or self._since_snapshot[1] >= SNAPSHOT_EVERY_BYTES
                ):
                    self.snapshot_soon()
        start_response(status, out_headers)
        return [out_body]


def _not_ready(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    start_response("503 Service Unavailable", [("Content-Type", "application/json")])
    return [b'{"message": "the emulator is starting"}']


def build_app(state_dir: Path, strict: bool = True, iam: bool = False) -> JournalledApp:
    """Moto's server application wrapped in the journal kept under ``state_dir``.

    With ``strict``, requests that break their service model are refused before moto sees
    them (see `localaws.strict`); refusals are logged to ``violations.jsonl`` there. With
    ``iam``, requests IAM would deny are refused (see `localaws.permission`) and logged to
    ``denials.jsonl``. S3's CORS answers come from the buckets' configurations, as S3 gives them
    (`localaws.s3_cors`), in place of moto's ``Access-Control-Allow-Origin: *`` on everything.
    """
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    strict_mode = StrictMode(
        enabled=strict,
        violations_log=state_dir / VIOLATIONS_NAME,
        semantics=(pipeline_semantics, model_package_semantics),
    )
    return JournalledApp(
        S3CorsLayer(DomainDispatcherApplication(create_backend_app)),
        Journal(state_dir / JOURNAL_NAME),
        strict_mode,
        PermissionLayer(enabled=iam, index=strict_mode.index, denials_log=state_dir / DENIALS_NAME),
    )


def main(argv: list[str] | None = None) -> int:
    """Replay the journal, then serve until killed."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    parser = argparse.ArgumentParser(prog="python -m localaws.emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument(
        "--strict",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="refuse requests that break the AWS service model, as AWS does (default: on)",
    )
    parser.add_argument(
        "--iam",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="decide every request as IAM does, from the signer's role (default: off)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        # The application is attached after binding, so a busy port fails before any replay.
        server = make_server(
            args.host, args.port, _not_ready, threaded=True, request_handler=MotoRequestHandler
        )
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    app = build_app(args.state_dir, strict=args.strict, iam=args.iam)
    log.info("IAM enforcement %s", "on" if args.iam else "off (permissions are not checked)")
    log.info("strict mode %s", "on" if args.strict else "off (requests are not validated)")
    # SageMaker Pipelines and EventBridge deliveries, run locally (moto only records them).
    from localaws.emulated_pipelines import wrap

    server.app = wrap(app, args.host, args.port, args.state_dir)
    # Serve at once (health answers "not ready", the rest 503) while the journal replays.
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    log.info("replaying the journal in %s", args.state_dir)
    try:
        applied = app.replay()
    except replay_.ReplayError as exc:
        print(str(exc), file=sys.stderr, flush=True)
        return REPLAY_FAILED
    log.info("replayed %d journal entries; serving on http://%s:%d", applied, args.host, args.port)
    if applied:
        app.snapshot_soon()

    def stop(signum: int, frame: object) -> None:
        # A clean stop leaves a snapshot of everything, so the next start replays nothing.
        if app.ready and app._since_snapshot[0]:
            app.take_snapshot()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    serving.join()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
