"""Replays that give every client the answers it was given, and never lock anyone out.

Three pieces the journal (`localaws.emulator`) uses:

- **Seeded entropy.** moto draws some identifiers from `os.urandom` (S3's multipart UploadIds,
  `uuid.uuid4`), not from the random generator the journal seeds per entry. While a journalled
  request runs, `os.urandom` on that thread draws from a generator seeded like the others, so
  a replay by the same moto makes the same identifiers.
- **Answer aliases.** Each journal entry records the answer's identifiers (small XML/JSON
  bodies and the headers that carry ids). A replay by another moto, botocore or Python (whose
  snapshot is set aside) may make other ids; every id that comes out different is kept as an
  alias (what the client was told -> what this moto holds). Later entries and live requests are
  translated in, answers translated back, so clients keep using the ids they were given, for
  every kind of random answer (upload ids, version ids, execution ARNs, tokens), not one.
- **Named failures.** An entry that fails on replay (an exception, or an error answer where the
  original succeeded) raises `ReplayError` naming the entry, what it was and the way out
  (`repair`, which keeps every entry that still replays and sets the others aside).
"""

from __future__ import annotations

import base64
import json
import os
import random
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote
from xml.etree import ElementTree

# Answers larger than this are not recorded (object bodies; ids come in small answers).
ANSWER_LIMIT = 16 * 1024
# Headers that carry an answer's identifiers; request ids are random but never sent back.
ANSWER_HEADERS = ("etag", "x-amz-version-id", "location", "x-amz-copy-source-version-id")
_IGNORED_FIELDS = {"RequestId", "requestId", "HostId", "ResponseMetadata"}
_TEXT_TYPES = ("xml", "json", "x-www-form-urlencoded", "text/")
_DATE_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}|^\d+(\.\d+)?$|^[A-Z][a-z]{2}, \d")
_SPLIT = re.compile(r"([:/])")
_CREDENTIAL = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/")  # .../region/SERVICE/...
REPAIR_HINT = "playground local repair"

_entropy = threading.local()
_real_urandom = os.urandom


def _urandom(size: int) -> bytes:
    generator: random.Random | None = getattr(_entropy, "generator", None)
    if generator is None:
        return _real_urandom(size)
    return generator.randbytes(size)


def install_seeded_entropy() -> None:
    """Route `os.urandom` through a per-thread switch (real entropy unless `seeded` is on)."""
    os.urandom = _urandom


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """While inside, `os.urandom` on this thread draws from a generator seeded with `seed`."""
    _entropy.generator = random.Random(seed)  # noqa: S311 - reproducible ids, not secrets
    try:
        yield
    finally:
        _entropy.generator = None


def is_text(content_type: str) -> bool:
    """Whether a body of this Content-Type is text the aliases may be applied to."""
    return any(kind in content_type.lower() for kind in _TEXT_TYPES)


def record_answer(headers: list[tuple[str, str]], body: bytes) -> dict[str, Any] | None:
    """What a journal entry keeps of an answer: its id-carrying headers and small text body.

    Returns None when there is nothing to keep (an empty answer without such headers).
    """
    kept = {name.lower(): value for name, value in headers if name.lower() in ANSWER_HEADERS}
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
    answer: dict[str, Any] = {}
    if kept:
        answer["headers"] = kept
    if body and len(body) <= ANSWER_LIMIT and is_text(content_type):
        with suppress(UnicodeDecodeError):
            answer["body"] = body.decode("utf-8")
    return answer or None


def _identifier(value: str) -> bool:
    return (
        8 <= len(value) <= 2048
        and not any(c.isspace() for c in value)
        and not (_DATE_LIKE.match(value))
    )


def _leaves(text: str) -> list[str] | None:
    """The answer's string leaves in document order (JSON or XML), None if neither."""
    text = text.strip()
    if text.startswith(("{", "[")):
        try:
            document = json.loads(text)
        except ValueError:
            return None
        found: list[str] = []

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                for key, value in node.items():
                    if key not in _IGNORED_FIELDS:
                        walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)
            elif isinstance(node, str):
                found.append(node)

        walk(document)
        return found
    if text.startswith("<"):
        try:
            root = ElementTree.fromstring(text)  # noqa: S314 - our own server's answer
        except ElementTree.ParseError:
            return None
        return [
            element.text.strip()
            for element in root.iter()
            if element.text
            and element.text.strip()
            and element.tag.rsplit("}", 1)[-1] not in _IGNORED_FIELDS
        ]
    return None


def differences(recorded: Mapping[str, Any], replayed: Mapping[str, Any]) -> dict[str, str]:
    """Ids the original answer gave that the replayed answer gives differently.

    Args:
        recorded: `record_answer` of the original answer (as journalled).
        replayed: `record_answer` of the replayed answer, already translated back.

    Returns:
        {original id: replayed id}; an ARN or path that differs also maps its differing parts
        (split at ':' and '/'), so a request naming only the execution id is translated too.
    """
    pairs: list[tuple[str, str]] = []
    old_headers, new_headers = recorded.get("headers", {}), replayed.get("headers", {})
    pairs += [(old_headers[k], new_headers[k]) for k in old_headers if k in new_headers]
    old_leaves = _leaves(recorded.get("body", "")) or []
    new_leaves = _leaves(replayed.get("body", "")) or []
    if len(old_leaves) == len(new_leaves):
        pairs += list(zip(old_leaves, new_leaves, strict=True))
    found: dict[str, str] = {}
    for old, new in pairs:
        old, new = old.strip('"'), new.strip('"')
        if old == new or not (_identifier(old) and _identifier(new)):
            continue
        found[old] = new
        old_parts, new_parts = _SPLIT.split(old), _SPLIT.split(new)
        if len(old_parts) == len(new_parts):
            for a, b in zip(old_parts, new_parts, strict=True):
                if a != b and _identifier(a) and _identifier(b):
                    found[a] = b
    return found


class Aliases:
    """Ids as the clients know them (original) and as this moto holds them (replayed)."""

    def __init__(self, known: Mapping[str, str] | None = None) -> None:
        self.forward: dict[str, str] = {}
        self._inbound: re.Pattern[str] | None = None
        self._outbound: re.Pattern[str] | None = None
        self.learn(known or {})

    def __bool__(self) -> bool:
        return bool(self.forward)

    def learn(self, found: Mapping[str, str]) -> None:
        """Add {original: replayed} ids (and their URL-encoded forms)."""
        added = False
        for old, new in found.items():
            for a, b in ((old, new), (quote(old, safe=""), quote(new, safe=""))):
                if a != b and self.forward.get(a) != b:
                    self.forward[a] = b
                    added = True
        if added:
            self._inbound = self._pattern(self.forward)
            self._outbound = self._pattern({v: k for k, v in self.forward.items()})

    @staticmethod
    def _pattern(table: Mapping[str, str]) -> re.Pattern[str] | None:
        if not table:
            return None
        keys = sorted(table, key=len, reverse=True)
        return re.compile("|".join(re.escape(k) for k in keys))

    def inbound(self, text: str) -> str:
        """`text` with the ids clients know replaced by the ids this moto holds."""
        if self._inbound is None:
            return text
        return self._inbound.sub(lambda m: self.forward[m.group(0)], text)

    def outbound(self, text: str) -> str:
        """`text` with the ids this moto holds replaced by the ids the clients know."""
        if self._outbound is None:
            return text
        backward = {v: k for k, v in self.forward.items()}
        return self._outbound.sub(lambda m: backward[m.group(0)], text)

    def outbound_bytes(self, body: bytes, content_type: str) -> bytes:
        """An answer body translated back (text bodies only; object bytes are never touched)."""
        if self._outbound is None or not body or not is_text(content_type):
            return body
        try:
            return self.outbound(body.decode("utf-8")).encode("utf-8")
        except UnicodeDecodeError:
            return body


def describe(entry: Mapping[str, Any]) -> str:
    """One line saying what a journal entry was, e.g. `S3 UploadPart PUT /bucket/key?...`."""
    headers = {k.lower(): v for k, v in entry.get("headers", {}).items()}
    target = headers.get("x-amz-target", "")
    query = entry.get("query", "")
    action = target.rsplit(".", 1)[-1] if target else ""
    body = entry.get("body") if isinstance(entry.get("body"), str) else None
    if not action and body and "x-www-form-urlencoded" in headers.get("content-type", ""):
        try:
            form = parse_qs(base64.b64decode(body).decode("utf-8", "replace"))
            action = form.get("Action", [""])[0]
        except ValueError:
            action = ""
    credential = _CREDENTIAL.search(headers.get("authorization", ""))
    service = credential.group(1) if credential else "?"
    where = f"{entry.get('method', '?')} {entry.get('path', '?')}" + (f"?{query}" if query else "")
    return " ".join(part for part in (service, action, where) if part)


@dataclass
class ReplayError(Exception):
    """A journal entry could not be applied on start: which, what it was, why, the way out."""

    seq: int | None
    line: int | None
    what: str
    reason: str
    journal: str

    def __str__(self) -> str:
        line = f"line {self.line} of {self.journal}" if self.line is not None else self.journal
        where = f"entry {self.seq} ({line})" if self.seq is not None else line
        return (
            f"cannot start: journal {where} failed on replay.\n"
            f"  the entry: {self.what}\n"
            f"  the failure: {self.reason}\n"
            f"No entry has been dropped. `{REPAIR_HINT}` keeps every entry that still replays, "
            "drops the others (the old journal is kept beside it) and says what it dropped."
        )
