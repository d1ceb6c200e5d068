r"""Strict mode: refuse, as AWS would, requests that break the service model's constraints.

moto accepts much that AWS refuses: it checks no regex patterns and few lengths, ranges or
enums. Before the emulator hands a request to moto, this module reads the request back into
its operation's input (with botocore's own service model, for every protocol: ``json`` with
``X-Amz-Target``, ``query`` with ``Action``, ``rest-json`` and ``rest-xml`` by HTTP method and
``requestUri`` template) and checks every member against the model: required, type, min/max
length or count, value range, enum and pattern. Patterns are Java regular expressions (AWS
matches the whole value); they are translated for the ``regex`` package (ASCII ``\\w``/``\\d``/
``\\s`` and POSIX classes such as ``\\p{Punct}`` as in Java, ``\\x{..}``, surrogate pairs).

A refusal is answered in the service's own error format, with AWS's message, for example
``1 validation error detected: Value 'N,1,28,28' at 'customerMetadataProperties.input_shape'
failed to satisfy constraint: Member must satisfy regular expression pattern: ...``.

A request that fits its model may still be refused for what the service itself decides
(`_service_semantics`): SageMaker's CreatePipeline and UpdatePipeline check the pipeline
definition they carry (`localaws.sagemaker.pipeline_definition`), with SageMaker's message.

Requests that cannot be matched to an operation (unsigned requests, moto's own endpoints,
protocols not handled here) pass through unvalidated; they are counted and logged once each.
"""

from __future__ import annotations

import gzip
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote
from xml.etree import ElementTree
from xml.sax.saxutils import escape

import regex

log = logging.getLogger("localaws.strict")

_MISSING: Any = object()
_RECENT_VIOLATIONS = 100

# S3's bucket naming rules are enforced by the service, not stated in its model (whose
# BucketName is a bare string). https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
_S3_BUCKET = regex.compile(r"(?!xn--|sthree-|amzn-s3-demo-)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_S3_BUCKET_BAD = regex.compile(r"\.\.|\.-|-\.|^\d+\.\d+\.\d+\.\d+$|(-s3alias|--ol-s3|\.mrap)$")


# --------------------------------------------------------------------------- patterns


_JAVA_POSIX = {
    "Lower": "a-z",
    "Upper": "A-Z",
    "ASCII": r"\x00-\x7F",
    "Alpha": "a-zA-Z",
    "Digit": "0-9",
    "Alnum": "a-zA-Z0-9",
    "Punct": r"!-/:-@\[-`{-~",
    "Graph": r"!-~",
    "Print": r" -~",
    "Blank": r" \t",
    "Cntrl": r"\x00-\x1F\x7F",
    "XDigit": "0-9a-fA-F",
    "Space": r" \t\n\x0B\f\r",
    "all": r"\x00-\U0010FFFF",
}


def _surrogates(match: regex.Match[str]) -> str:
    high, low = int(match.group(1), 16), int(match.group(2), 16)
    return f"\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08X}"


_JAVA_SHORTHAND = {"w": "a-zA-Z0-9_", "d": "0-9", "s": r" \t\n\x0B\f\r"}


def translate_java_pattern(pattern: str) -> str:
    r"""A Java regular expression (as in AWS service models) rewritten for the `regex` package.

    In Java ``\\w``, ``\\d``, ``\\s`` and the POSIX classes (``\\p{Punct}`` and friends) are
    ASCII-only, unlike Unicode's; Java writes ``\\x{22}`` for a code point and spells characters
    outside the BMP as UTF-16 surrogate pairs; a quantifier right after an anchor (``$`` then
    ``{1,256}``) repeats the anchor, which is the anchor.
    """
    out = regex.sub(
        r"\\u(D[89AB][0-9A-Fa-f]{2})\\u(D[C-F][0-9A-Fa-f]{2})", _surrogates, pattern, flags=regex.I
    )
    out = regex.sub(r"\\x\{([0-9A-Fa-f]{1,6})\}", lambda m: f"\\U{int(m.group(1), 16):08X}", out)
    posix = regex.compile(rf"\\([pP])\{{({'|'.join(_JAVA_POSIX)})\}}")
    quantifier = regex.compile(r"\{\d+(,\d*)?\}|[*+?]")
    result: list[str] = []
    in_class = False
    i = 0
    while i < len(out):
        char = out[i]
        if char == "\\" and i + 1 < len(out):
            found = posix.match(out, i)
            letter = out[i + 1]
            if found:
                negated, chars = found.group(1) == "P", _JAVA_POSIX[found.group(2)]
                if in_class and negated:
                    result.append(found.group(0))
                else:
                    result.append(chars if in_class else f"[{'^' if negated else ''}{chars}]")
                i = found.end()
                continue
            if letter in _JAVA_SHORTHAND:
                chars = _JAVA_SHORTHAND[letter]
                result.append(chars if in_class else f"[{chars}]")
                if in_class and out.startswith("-", i + 2):
                    # Java reads `[\\w-.]` as \\w, '-', '.': the dash cannot start a range.
                    result.append("\\-")
                    i += 1
            elif letter.lower() in _JAVA_SHORTHAND and not in_class:
                result.append(f"[^{_JAVA_SHORTHAND[letter.lower()]}]")
            else:
                result.append(out[i : i + 2])
            i += 2
            continue
        if in_class:
            if char == "]" and not (result and result[-1] in ("[", "[^")):
                in_class = False
            result.append(char)
            i += 1
            continue
        if char == "[":
            in_class = True
            if out.startswith("[^", i):
                result.append("[^")
                i += 2
                continue
        elif char in "$^" and not (char == "^" and result and result[-1] == "["):
            result.append(char)
            i += 1
            repeat = quantifier.match(out, i)
            if repeat:
                i = repeat.end()
            continue
        result.append(char)
        i += 1
    return "".join(result)


@cache
def compiled_pattern(pattern: str) -> regex.Pattern[str] | None:
    """The model's pattern ready for `fullmatch`, or None (logged) when it cannot be compiled."""
    translated = translate_java_pattern(pattern)
    for flags in (regex.V0, regex.V1):
        try:
            return regex.compile(translated, flags)
        except (regex.error, ValueError, OverflowError):
            continue
    log.warning("strict mode cannot compile the model pattern %r; not checking it", pattern)
    return None


# --------------------------------------------------------------------------- service index


@dataclass(frozen=True)
class ServiceEntry:
    """One botocore service: its name and the metadata that finds it from a request."""

    name: str
    protocol: str
    signing_name: str
    target_prefix: str | None
    api_version: str


class ServiceIndex:
    """Which botocore services a request may be for, read from the models' metadata only.

    Reading the metadata at the head of each ``service-2.json(.gz)`` takes about 0.1 s; loading
    every model would take seconds, so full models are loaded only when a request needs one.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_signing: dict[str, list[ServiceEntry]] | None = None
        self._by_target: dict[str, list[ServiceEntry]] = {}
        self._models: dict[str, Any] = {}
        self._routes: dict[str, dict[str, list[_Route]]] = {}

    def _build(self) -> dict[str, list[ServiceEntry]]:
        import botocore

        root = Path(botocore.__file__).parent / "data"
        decoder = json.JSONDecoder()
        by_signing: dict[str, list[ServiceEntry]] = {}
        for service_dir in sorted(root.iterdir()):
            versions = sorted(
                v
                for v in service_dir.glob("*/")
                if (v / "service-2.json.gz").exists() or (v / "service-2.json").exists()
            )
            if not versions:
                continue
            model = versions[-1] / "service-2.json.gz"
            opener = gzip.open if model.exists() else open
            if not model.exists():
                model = versions[-1] / "service-2.json"
            with opener(model, "rt", encoding="utf-8") as handle:
                head = handle.read(16384)
            try:
                metadata, _ = decoder.raw_decode(head, head.index("{", head.index('"metadata"')))
            except ValueError:
                continue
            entry = ServiceEntry(
                name=service_dir.name,
                protocol=metadata.get("protocol", ""),
                signing_name=metadata.get("signingName") or metadata.get("endpointPrefix", ""),
                target_prefix=metadata.get("targetPrefix"),
                api_version=metadata.get("apiVersion", ""),
            )
            by_signing.setdefault(entry.signing_name, []).append(entry)
            if entry.target_prefix:
                self._by_target.setdefault(entry.target_prefix, []).append(entry)
        return by_signing

    def candidates(self, signing_name: str) -> list[ServiceEntry]:
        """Services signed with this name, the one of the same name first."""
        with self._lock:
            if self._by_signing is None:
                self._by_signing = self._build()
            found = list(self._by_signing.get(signing_name, []))
        return sorted(found, key=lambda e: e.name != signing_name)

    def by_target(self, prefix: str) -> list[ServiceEntry]:
        """Services whose JSON ``X-Amz-Target`` starts with this prefix."""
        self.candidates("")
        return self._by_target.get(prefix, [])

    def model(self, name: str) -> Any:
        """The botocore ServiceModel for a service (loaded once)."""
        with self._lock:
            if name not in self._models:
                self._models[name] = _botocore_session().get_service_model(name)
            return self._models[name]

    def routes(self, name: str, method: str) -> list[_Route]:
        """The REST routes (URI templates) of a service's operations for one HTTP method."""
        model = self.model(name)
        with self._lock:
            if name not in self._routes:
                routes: dict[str, list[_Route]] = {}
                for op in model.operation_names:
                    route = _Route.of(model.operation_model(op))
                    routes.setdefault(route.method, []).append(route)
                self._routes[name] = routes
            return self._routes[name].get(method, [])


@cache
def _botocore_session() -> Any:
    import botocore.session

    return botocore.session.get_session()


# --------------------------------------------------------------------------- REST routes


@dataclass
class _Route:
    """An operation's ``requestUri`` as a matcher for incoming paths."""

    operation: Any
    method: str
    path: regex.Pattern[str]
    labels: dict[str, str]  # regex group -> member name
    literal_length: int
    query: dict[str, str | None]
    located: list[tuple[str, str, bool]]  # (location, wire name, required) of each member

    @classmethod
    def of(cls, operation: Any) -> _Route:
        http = operation.http
        uri = http.get("requestUri", "/")
        path, _, query_text = uri.partition("?")
        parts: list[str] = []
        labels: dict[str, str] = {}
        literal = 0
        for index, piece in enumerate(regex.split(r"(\{[^}]+\})", path)):
            if piece.startswith("{") and piece.endswith("}"):
                name = piece[1:-1]
                group = f"g{index}"
                greedy = name.endswith("+")
                labels[group] = name.rstrip("+")
                parts.append(f"(?P<{group}>.+)" if greedy else f"(?P<{group}>[^/]+)")
            else:
                literal += len(piece)
                parts.append(regex.escape(piece))
        query: dict[str, str | None] = {}
        for item in query_text.split("&") if query_text else []:
            key, sep, value = item.partition("=")
            if key != "x-id":  # botocore's operation marker; not every client sends it
                query[key] = value if sep else None
        located: list[tuple[str, str, bool]] = []
        shape = operation.input_shape
        for name, member in shape.members.items() if shape is not None else []:
            location = member.serialization.get("location")
            if location in ("header", "querystring"):
                wire = member.serialization.get("name", name)
                located.append(
                    (
                        location,
                        wire.lower() if location == "header" else wire,
                        name in shape.required_members,
                    )
                )
        return cls(
            operation=operation,
            method=http.get("method", "POST"),
            path=regex.compile("".join(parts) + "/?"),
            labels=labels,
            literal_length=literal,
            query=query,
            located=located,
        )

    def presence(self, request: Request, query: dict[str, str]) -> tuple[int, int]:
        """How many of the required header/query members the request has, and how many exist."""
        present = required = 0
        for location, wire, is_required in self.located:
            if not is_required:
                continue
            required += 1
            if (wire in request.headers) if location == "header" else (wire in query):
                present += 1
        return present, required


# --------------------------------------------------------------------------- requests


@dataclass
class Request:
    """The parts of an HTTP request the validator reads."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    host: str = ""

    @property
    def query_dict(self) -> dict[str, str]:
        """The query string as a dict (the last value of a repeated key wins)."""
        return dict(self.query)


def signing_name(request: Request) -> str | None:
    """The service name in a SigV4 credential scope (header or presigned query), or None."""
    auth = request.headers.get("authorization", "")
    credential = ""
    if "Credential=" in auth:
        credential = auth.split("Credential=", 1)[1].split(",", 1)[0]
    else:
        credential = request.query_dict.get("X-Amz-Credential", "")
    parts = credential.strip().split("/")
    return parts[3] if len(parts) >= 5 else None


@dataclass
class Operation:
    """A request read back into its operation's input."""

    service: ServiceEntry
    model: Any  # botocore OperationModel
    params: dict[str, Any]


class UnmatchedError(Exception):
    """The request cannot be tied to one operation of a known service."""


def _json_body(body: bytes) -> Any:
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise UnmatchedError("body is not JSON") from None


def _identify(index: ServiceIndex, request: Request) -> Operation:
    target = request.headers.get("x-amz-target")
    signing = signing_name(request)
    if target and "." in target:
        prefix, _, action = target.rpartition(".")
        entries = [e for e in index.by_target(prefix) if e.protocol == "json"]
        if signing:
            entries.sort(key=lambda e: e.signing_name != signing)
        for entry in entries:
            model = index.model(entry.name)
            if action in model.operation_names:
                params = _json_body(request.body)
                if not isinstance(params, dict):
                    raise UnmatchedError("JSON body is not an object")
                return Operation(entry, model.operation_model(action), params)
        raise UnmatchedError(f"unknown target {target}")
    if not signing:
        raise UnmatchedError("unsigned request")
    candidates = index.candidates(signing)
    form = request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
    query_params: dict[str, str] = {}
    if form or "Action" in request.query_dict:
        query_params = dict(request.query)
        if form:
            query_params.update(parse_qsl(request.body.decode("utf-8", "replace"), True))
    query_action = query_params.get("Action")
    if query_action:
        version = query_params.get("Version")
        for entry in candidates:
            if entry.protocol != "query" or (version and version != entry.api_version):
                continue
            model = index.model(entry.name)
            if query_action in model.operation_names:
                operation = model.operation_model(query_action)
                params = _from_query(operation.input_shape, "", query_params)
                return Operation(entry, operation, params if params is not _MISSING else {})
        raise UnmatchedError(f"unknown action {query_action}")
    best: tuple[tuple[int, ...], ServiceEntry, _Route, regex.Match[str], str] | None = None
    query = request.query_dict
    for entry in candidates:
        if entry.protocol not in ("rest-json", "rest-xml"):
            continue
        path = _rest_path(entry, request)
        for route in index.routes(entry.name, request.method):
            # The literal query keys (`?tagging`, `?list-type=2`) are the cheap test: first.
            if any(
                key not in query or (value is not None and query[key] != value)
                for key, value in route.query.items()
            ):
                continue
            found = route.path.fullmatch(path)
            if not found:
                continue
            present, required = route.presence(request, query)
            score = (
                route.literal_length,
                len(route.query),
                int(present >= required),
                # S3 keeps deprecated twins at the same URI (PutBucketLifecycle and
                # PutBucketLifecycleConfiguration); clients send the current one.
                int(not route.operation.deprecated),
                required,
            )
            if best is None or score > best[0]:
                best = (score, entry, route, found, path)
    if best is None:
        raise UnmatchedError(f"no {signing} operation for {request.method} {request.path}")
    _, entry, route, found, _ = best
    params = _from_rest(entry, route, found, request)
    return Operation(entry, route.operation, params)


def _rest_path(entry: ServiceEntry, request: Request) -> str:
    """The request path, with an S3 virtual-hosted bucket moved into it."""
    if entry.name != "s3" or not request.host:
        return request.path
    host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
    bucket = ""
    if ".s3." in host or ".s3-" in host:
        bucket = host.split(".s3", 1)[0]
    elif host.endswith(".localhost"):
        bucket = host[: -len(".localhost")]
    return f"/{bucket}{request.path}" if bucket else request.path


def _from_rest(
    entry: ServiceEntry, route: _Route, found: regex.Match[str], request: Request
) -> Any:
    operation = route.operation
    shape = operation.input_shape
    if shape is None:
        return {}
    params: dict[str, Any] = {}
    labels = {route.labels[g]: v for g, v in found.groupdict().items()}
    query: dict[str, list[str]] = {}
    for key, value in request.query:
        query.setdefault(key, []).append(value)
    payload = shape.serialization.get("payload")
    body_members: dict[str, Any] = {}
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location == "uri":
            if wire in labels:
                params[name] = _scalar(member, unquote(labels[wire]))
        elif location == "querystring":
            if member.type_name == "map":
                params[name] = {k: v[-1] for k, v in query.items()}
            elif wire in query:
                values = query[wire]
                if member.type_name == "list":
                    params[name] = [_scalar(member.member, v) for v in values]
                else:
                    params[name] = _scalar(member, values[-1])
        elif location == "header":
            header = request.headers.get(wire.lower())
            if header is not None:
                if member.type_name == "list":
                    params[name] = [_scalar(member.member, v.strip()) for v in header.split(",")]
                elif member.serialization.get("jsonvalue"):
                    params[name] = header
                else:
                    params[name] = _scalar(member, header)
        elif location == "headers":
            prefix = wire.lower()
            found_headers = {
                k[len(prefix) :]: v for k, v in request.headers.items() if k.startswith(prefix)
            }
            if found_headers:
                params[name] = found_headers
        elif location in (None, ""):
            body_members[name] = member
    if payload:
        member = shape.members[payload]
        if member.type_name in ("blob", "string") or member.serialization.get("eventstream"):
            if request.body:
                params[payload] = _STREAM
        elif request.body.strip():
            params[payload] = _parse_body(entry, member, request.body)
    elif body_members and request.body.strip():
        document = _parse_body(entry, shape, request.body)
        if isinstance(document, dict):
            for name in body_members:
                if name in document:
                    params[name] = document[name]
    return params


_STREAM: Any = object()
# A value `validate` skips: a streamed body, or a value known only at run time (a pipeline
# definition's step properties).
UNCHECKED: Any = _STREAM


def _parse_body(entry: ServiceEntry, shape: Any, body: bytes) -> Any:
    if entry.protocol == "rest-json":
        return _json_body(body)
    try:
        # Local clients' request bodies; ElementTree resolves no external entities.
        root = ElementTree.fromstring(body)  # noqa: S314
    except ElementTree.ParseError:
        raise UnmatchedError("body is not XML") from None
    return _from_xml(shape, root)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _from_xml(shape: Any, element: ElementTree.Element) -> Any:
    kind = shape.type_name
    if kind == "structure":
        out: dict[str, Any] = {}
        children = list(element)
        for name, member in shape.members.items():
            if member.serialization.get("location"):
                continue
            wire = member.serialization.get("name", name)
            if member.serialization.get("xmlAttribute"):
                for key, value in element.attrib.items():
                    if _local(key) == wire.rsplit(":", 1)[-1]:
                        out[name] = _scalar(member, value)
                continue
            matching = [c for c in children if _local(c.tag) == wire]
            if not matching:
                continue
            if member.type_name == "list" and member.serialization.get("flattened"):
                out[name] = [_from_xml(member.member, c) for c in matching]
            elif member.type_name == "map" and member.serialization.get("flattened"):
                out[name] = _xml_map(member, matching)
            else:
                out[name] = _from_xml(member, matching[0])
        return out
    if kind == "list":
        item = shape.member.serialization.get("name", "member")
        return [_from_xml(shape.member, c) for c in element if _local(c.tag) == item]
    if kind == "map":
        return _xml_map(shape, [c for c in element if _local(c.tag) == "entry"])
    return _scalar(shape, element.text or "")


def _xml_map(shape: Any, entries: list[ElementTree.Element]) -> dict[str, Any]:
    key_name = shape.key.serialization.get("name", "key")
    value_name = shape.value.serialization.get("name", "value")
    out: dict[str, Any] = {}
    for entry in entries:
        key = next((c.text or "" for c in entry if _local(c.tag) == key_name), "")
        value = next((c for c in entry if _local(c.tag) == value_name), None)
        out[key] = _from_xml(shape.value, value) if value is not None else None
    return out


def _query_keys_under(params: dict[str, str], prefix: str) -> bool:
    return any(k.startswith(prefix) for k in params)


def _from_query(shape: Any, prefix: str, params: dict[str, str]) -> Any:
    kind = shape.type_name
    if kind == "structure":
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            wire = member.serialization.get("name", name)
            key = f"{prefix}.{wire}" if prefix else wire
            value = _from_query(member, key, params)
            if value is not _MISSING:
                out[name] = value
        if prefix and not out and not _query_keys_under(params, prefix + "."):
            return _MISSING
        return out
    if kind == "list":
        if prefix in params and params[prefix] == "":
            return []
        flattened = shape.serialization.get("flattened")
        item = shape.member.serialization.get("name", "member")
        base = prefix if flattened else f"{prefix}.{item}"
        if not _query_keys_under(params, base + "."):
            return _MISSING
        items = []
        index = 1
        while True:
            value = _from_query(shape.member, f"{base}.{index}", params)
            if value is _MISSING:
                break
            items.append(value)
            index += 1
        return items
    if kind == "map":
        flattened = shape.serialization.get("flattened")
        base = prefix if flattened else f"{prefix}.entry"
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        if not _query_keys_under(params, base + "."):
            return _MISSING
        out_map: dict[str, Any] = {}
        index = 1
        while f"{base}.{index}.{key_name}" in params:
            value = _from_query(shape.value, f"{base}.{index}.{value_name}", params)
            out_map[params[f"{base}.{index}.{key_name}"]] = None if value is _MISSING else value
            index += 1
        return out_map
    if prefix not in params:
        return _MISSING
    return _scalar(shape, params[prefix])


@dataclass(frozen=True)
class _BadScalar:
    text: str


def _scalar(shape: Any, text: str) -> Any:
    """A string from a URI, query, header or XML as the shape's type (or a _BadScalar)."""
    kind = shape.type_name
    try:
        if kind in ("integer", "long"):
            return int(text)
        if kind in ("float", "double"):
            return float(text)
    except ValueError:
        return _BadScalar(text)
    if kind == "boolean":
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        return _BadScalar(text)
    return text


# --------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class Problem:
    """One broken constraint: where, which value, and what the member must satisfy."""

    path: str
    value: str | None  # rendered as AWS does; None for a missing member, "" if sensitive
    constraint: str
    member: str

    def sentence(self) -> str:
        """AWS's wording for one violation."""
        # AWS names no value for sensitive members ("Value at 'password' ...").
        shown = "null " if self.value is None else f"{self.value} " if self.value else ""
        return f"Value {shown}at '{self.path}' failed to satisfy constraint: {self.constraint}"


def _render(value: Any) -> str:
    if isinstance(value, _BadScalar):
        return f"'{value.text}'"
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_plain(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_plain(v) for v in value) + "]"
    return str(value)


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else _render(value)


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "float": (int, float),
    "double": (int, float),
    "boolean": (bool,),
    "structure": (dict,),
    "list": (list,),
    "map": (dict,),
    "blob": (str, bytes),
    "timestamp": (int, float, str),
}


def validate(shape: Any, value: Any, path: str = "") -> list[Problem]:
    """Every constraint of ``shape`` that ``value`` breaks, in AWS's terms."""
    problems: list[Problem] = []
    _check(shape, value, path, problems)
    return problems


def _check(shape: Any, value: Any, path: str, problems: list[Problem]) -> None:
    if value is _STREAM or value is None:
        return
    kind = shape.type_name
    sensitive = bool(shape.metadata.get("sensitive"))

    def add(constraint: str, v: Any = value) -> None:
        rendered = "" if sensitive else _render(v)
        problems.append(Problem(path=path, value=rendered, constraint=constraint, member=path))

    if isinstance(value, _BadScalar):
        add(f"Member must be of type {kind}")
        return
    expected = _TYPES.get(kind)
    if expected and (
        not isinstance(value, expected)
        or (kind not in ("boolean",) and isinstance(value, bool) and bool not in expected)
    ):
        add(f"Member must be of type {kind}")
        return
    metadata = shape.metadata
    if kind == "structure":
        for name in shape.required_members:
            if value.get(name) is None:
                problems.append(
                    Problem(
                        path=_join(path, name),
                        value=None,
                        constraint="Member must not be null",
                        member=name,
                    )
                )
        for name, member_value in value.items():
            member = shape.members.get(name)
            if member is not None:
                _check(member, member_value, _join(path, name), problems)
        return
    if kind in ("string",):
        length = len(value)
        _length(metadata, length, add)
        enum = getattr(shape, "enum", None)
        if enum and value not in enum:
            add(f"Member must satisfy enum value set: [{', '.join(enum)}]")
        pattern = metadata.get("pattern")
        if pattern:
            compiled = compiled_pattern(pattern)
            if compiled is not None and compiled.fullmatch(value) is None:
                add(f"Member must satisfy regular expression pattern: {pattern}")
        return
    if kind in ("integer", "long", "float", "double"):
        if "min" in metadata and value < metadata["min"]:
            add(f"Member must have value greater than or equal to {metadata['min']}")
        if "max" in metadata and value > metadata["max"]:
            add(f"Member must have value less than or equal to {metadata['max']}")
        return
    if kind == "list":
        _length(metadata, len(value), add)
        for index, item in enumerate(value, start=1):
            _check(shape.member, item, f"{path}.{index}.member", problems)
        return
    if kind == "map":
        _length(metadata, len(value), add)
        key_problems: list[Problem] = []
        for key, item in value.items():
            key_found: list[Problem] = []
            _check(shape.key, key, path, key_found)
            for problem in key_found:
                key_problems.append(problem)
            _check(shape.value, item, f"{path}.{key}", problems)
        for problem in key_problems:
            problems.append(
                Problem(
                    path=path,
                    value=problem.value,
                    constraint=f"Map keys must satisfy constraint: [{problem.constraint}]",
                    member=path,
                )
            )


def _length(metadata: dict[str, Any], length: int, add: Any) -> None:
    if "min" in metadata and length < metadata["min"]:
        add(f"Member must have length greater than or equal to {metadata['min']}")
    if "max" in metadata and length > metadata["max"]:
        add(f"Member must have length less than or equal to {metadata['max']}")


def _join(path: str, name: str) -> str:
    return f"{path}.{_camel(name)}" if path else _camel(name)


def _service_rules(operation: Operation) -> list[Problem]:
    """Constraints the service enforces that its model does not state."""
    if operation.service.name == "s3" and operation.model.name == "CreateBucket":
        bucket = operation.params.get("Bucket")
        if isinstance(bucket, str) and (
            not _S3_BUCKET.fullmatch(bucket) or _S3_BUCKET_BAD.search(bucket)
        ):
            return [
                Problem(
                    path="bucket",
                    value=f"'{bucket}'",
                    constraint="Bucket names must be 3-63 characters of a-z, 0-9, '.' and '-'",
                    member="Bucket",
                )
            ]
    return []


def message(problems: list[Problem]) -> str:
    """AWS's summary: ``N validation error(s) detected: <sentence>; <sentence>``."""
    count = len(problems)
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(p.sentence() for p in problems)


# --------------------------------------------------------------------------- answers


@dataclass(frozen=True)
class Refusal:
    """The HTTP answer for a request strict mode refuses."""

    status: str
    headers: list[tuple[str, str]]
    body: bytes
    service: str
    operation: str
    code: str
    message: str


ServiceSemantics = Callable[[Operation], "str | None"]
"""A service's own check of a well-formed request: its refusal message, or None to accept.

The checks live with their service (`localaws.sagemaker.pipeline_definition.pipeline_semantics`)
and are handed to `StrictMode` by the emulator, so this module knows no service's rules.
"""


def _refusal(operation: Operation, problems: list[Problem], text: str | None = None) -> Refusal:
    text = text or message(problems)
    request_id = str(uuid.uuid4())
    protocol = operation.service.protocol
    service = operation.service.name
    if service == "s3":
        first = problems[0]
        code = "InvalidArgument"
        extra = f"<ArgumentName>{escape(first.member)}</ArgumentName>"
        if first.path == "bucket":
            code, extra = "InvalidBucketName", ""
            name = operation.params.get("Bucket")
            if isinstance(name, str):
                extra = f"<BucketName>{escape(name)}</BucketName>"
            text = f"The specified bucket is not valid. {text}"
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{escape(text)}</Message>{extra}"
            f"<RequestId>{request_id}</RequestId></Error>"
        ).encode()
        headers = [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)]
    elif protocol in ("query", "rest-xml", "ec2"):
        code = "ValidationError"
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{code}</Code><Message>{escape(text)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
    else:
        code = "ValidationException"
        body = json.dumps({"__type": code, "message": text}).encode()
        content_type = "application/x-amz-json-1.1" if protocol == "json" else "application/json"
        headers = [
            ("Content-Type", content_type),
            ("x-amzn-ErrorType", code),
            ("x-amzn-RequestId", request_id),
        ]
    headers.append(("Content-Length", str(len(body))))
    return Refusal(
        status="400 Bad Request",
        headers=headers,
        body=body,
        service=service,
        operation=operation.model.name,
        code=code,
        message=text,
    )


def refusal_entry(refusal: Refusal, **context: str) -> dict[str, Any]:
    """One refusal as the emulator lists and logs it: UTC time, ``context``, then the answer."""
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **context,
        "service": refusal.service,
        "operation": refusal.operation,
        "code": refusal.code,
        "message": refusal.message,
    }


def append_json_line(path: Path | None, entry: dict[str, Any]) -> None:
    """Append ``entry`` as one JSON line to ``path`` (nothing when None); callers hold a lock."""
    if path is not None:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")


# --------------------------------------------------------------------------- the checker


@dataclass
class StrictMode:
    """Validates requests and keeps count of what it refused and what it could not check.

    ``violations`` counts refusals since the process started; ``recent`` holds the last 100
    (time, service, operation, code, message); ``unvalidated`` counts, by reason, requests that
    passed through unchecked. Each refusal is also appended to ``violations_log`` (JSON lines).
    """

    enabled: bool = True
    violations_log: Path | None = None
    index: ServiceIndex = field(default_factory=ServiceIndex)
    violations: int = 0
    recent: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=_RECENT_VIOLATIONS))
    unvalidated: dict[str, int] = field(default_factory=dict)
    semantics: Sequence[ServiceSemantics] = ()
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, request: Request) -> Refusal | None:
        """The refusal for a request that breaks its operation's model, else None."""
        if not self.enabled:
            return None
        try:
            operation = _identify(self.index, request)
        except UnmatchedError as exc:
            self._unvalidated(str(exc))
            return None
        problems = []
        if operation.model.input_shape is not None:
            problems = validate(operation.model.input_shape, operation.params)
        problems = _service_rules(operation) + problems
        if problems:
            refusal = _refusal(operation, problems)
        else:
            semantic = next(
                (text for check in self.semantics if (text := check(operation)) is not None), None
            )
            if semantic is None:
                return None
            refusal = _refusal(operation, [], semantic)
        self._record(refusal)
        return refusal

    def _unvalidated(self, reason: str) -> None:
        with self._lock:
            first = reason not in self.unvalidated
            self.unvalidated[reason] = self.unvalidated.get(reason, 0) + 1
        if first:
            log.info("strict mode passes through unchecked: %s", reason)

    def _record(self, refusal: Refusal) -> None:
        entry = refusal_entry(refusal)
        with self._lock:
            self.violations += 1
            self.recent.append(entry)
            append_json_line(self.violations_log, entry)
        log.warning(
            "strict mode refused %s %s (%s): %s",
            refusal.service,
            refusal.operation,
            refusal.code,
            refusal.message,
        )

    def report(self) -> dict[str, Any]:
        """What ``/_playground/violations`` answers."""
        with self._lock:
            return {
                "strict": self.enabled,
                "violations": self.violations,
                "recent": list(self.recent),
                "unvalidated": dict(self.unvalidated),
            }


def request_from_environ(environ: dict[str, Any], body: bytes) -> Request:
    """A WSGI environ (and its already-read body) as a Request."""
    headers = {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = str(environ["CONTENT_TYPE"])
    raw_path = environ.get("PATH_INFO", "/")
    # WSGI gives the path as latin-1 decoded bytes; AWS names are UTF-8.
    try:
        path = raw_path.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        path = raw_path
    return Request(
        method=environ.get("REQUEST_METHOD", "GET"),
        path=path,
        query=parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True),
        headers=headers,
        body=body,
        host=headers.get("host", ""),
    )


__all__ = [
    "Refusal",
    "Request",
    "StrictMode",
    "compiled_pattern",
    "message",
    "request_from_environ",
    "translate_java_pattern",
    "validate",
]
