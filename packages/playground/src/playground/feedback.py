"""People's corrections from the browser: the quarantine, the review, the feedback shard.

The contract is contracts/feedback.md. The `feedback` Lambda stores each correction at
``s3://<data bucket>/feedback/pending/<id>.json`` (its canonical JSON plus ``received_at``);
nothing here trusts it: every pending object is checked against the contract again when read.

A review turns accepted samples into a new dataset version (`data.upload`: the MNIST files of
the latest version, copied unchanged inside the bucket, plus the feedback shard, IDX gzip,
every sample accepted so far; the manifest last, so its event starts training), then writes
the review record, then deletes the pending objects it decided on. The order is what keeps a
review that stops half-way from losing an accepted sample: nothing is deleted before the
version that holds it exists, and reviewing the same samples again finds them in the latest
shard and writes nothing new. Rejected samples are only deleted; their pixels go nowhere.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import html
import json
import re
import struct
import tempfile
import unicodedata
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import numpy as np
from botocore.exceptions import ClientError

from mlops_settings import Settings
from pipelines.mnist.code.idx import IdxError, parse_idx, write_idx_gz
from playground import data

PENDING_PREFIX = "feedback/pending/"
REVIEWS_PREFIX = "feedback/reviews/"
SIDE = 28
PIXELS = SIDE * SIDE
# The six members of a correction (the request body of POST /feedback), as the contract says.
MEMBERS = ("pixels", "predicted", "label", "model_version", "model_sha256", "input_spec_version")
STORED_MEMBERS = (*MEMBERS, "received_at")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_SELECTION_ITEM = re.compile(r"(\d+)(?:-(\d+))?")


class FeedbackError(ValueError):
    """A review cannot go ahead; the message says why. Nothing was changed."""


@dataclass(frozen=True)
class Sample:
    """One pending correction, checked against contracts/feedback.md.

    ``pixels`` is uint8 [28, 28] (the model's input, white on black, round(255 * v));
    ``received_at`` the Lambda's ISO 8601 UTC time; ``id`` the SHA-256 of the canonical JSON.
    """

    id: str
    key: str
    pixels: np.ndarray
    predicted: int
    label: int
    model_version: int
    model_sha256: str
    input_spec_version: int
    received_at: str

    @property
    def corrected(self) -> bool:
        """The person said the model was wrong."""
        return self.label != self.predicted


@dataclass(frozen=True)
class Broken:
    """A pending object that breaks the contract: its key and what is wrong."""

    key: str
    problem: str


@dataclass(frozen=True)
class Pending:
    """What waits in the quarantine: good samples oldest first (their index), broken ones."""

    samples: list[Sample]
    broken: list[Broken] = field(default_factory=list)


def canonical_json(body: dict[str, Any]) -> bytes:
    """The canonical JSON of a correction: the six members, keys sorted, no spaces."""
    return json.dumps(
        {name: body[name] for name in MEMBERS}, sort_keys=True, separators=(",", ":")
    ).encode()


def sample_id(body: dict[str, Any]) -> str:
    """A correction's id: the SHA-256 (hex) of its canonical JSON."""
    return hashlib.sha256(canonical_json(body)).hexdigest()


def _integer(document: dict[str, Any], name: str, low: int, high: int | None) -> int:
    value = document[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, found {type(value).__name__}")
    if value < low or (high is not None and value > high):
        limit = f"{low}-{high}" if high is not None else f">= {low}"
        raise ValueError(f"{name} {value} outside {limit}")
    return value


def parse_pending(key: str, body: bytes) -> Sample:
    """A pending object's bytes as a Sample, checked against contracts/feedback.md.

    Raises:
        ValueError: naming the problem (not JSON, members missing or extra, a type or range,
            the pixels, an id that is not the SHA-256 of the canonical JSON).
    """
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise ValueError("not JSON") from None
    if not isinstance(document, dict):
        raise ValueError(f"not a JSON object but {type(document).__name__}")
    missing = [name for name in STORED_MEMBERS if name not in document]
    extra = sorted(set(document) - set(STORED_MEMBERS))
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    if extra:
        raise ValueError(f"members the contract does not have: {', '.join(extra)}")
    pixels_text = document["pixels"]
    if not isinstance(pixels_text, str):
        raise ValueError(f"pixels must be a base64 string, found {type(pixels_text).__name__}")
    try:
        raw = base64.b64decode(pixels_text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("pixels are not standard base64") from None
    if base64.b64encode(raw).decode("ascii") != pixels_text:
        raise ValueError("pixels are not canonical base64 (padding or trailing bits)")
    if len(raw) != PIXELS:
        raise ValueError(f"pixels decode to {len(raw)} bytes, expected {PIXELS} (28x28)")
    predicted = _integer(document, "predicted", 0, 9)
    label = _integer(document, "label", 0, 9)
    model_version = _integer(document, "model_version", 1, None)
    input_spec_version = _integer(document, "input_spec_version", 1, None)
    model_sha256 = document["model_sha256"]
    if not isinstance(model_sha256, str) or not _SHA256.fullmatch(model_sha256):
        raise ValueError("model_sha256 must be 64 lowercase hex digits")
    received_at = document["received_at"]
    if not isinstance(received_at, str):
        raise ValueError("received_at must be an ISO 8601 string")
    try:
        moment = datetime.fromisoformat(received_at)
    except ValueError:
        raise ValueError(f"received_at {received_at[:40]!r} is not ISO 8601") from None
    if moment.utcoffset() is None or moment.utcoffset().total_seconds() != 0:  # type: ignore[union-attr]
        raise ValueError(f"received_at {received_at!r} is not UTC")
    identity = sample_id(document)
    name = key.rsplit("/", 1)[-1]
    if name != f"{identity}.json":
        raise ValueError(
            f"the key names id {name.removesuffix('.json')[:16]}..., but the SHA-256 of the "
            f"canonical JSON is {identity[:16]}..."
        )
    return Sample(
        id=identity,
        key=key,
        pixels=np.frombuffer(raw, dtype=np.uint8).reshape(SIDE, SIDE).copy(),
        predicted=predicted,
        label=label,
        model_version=model_version,
        model_sha256=model_sha256,
        input_spec_version=input_spec_version,
        received_at=received_at,
    )


def _s3(settings: Settings) -> Any:
    return boto3.client("s3", region_name=settings.region)


def list_pending(settings: Settings, s3: Any = None) -> Pending:
    """Every object under feedback/pending/: good samples by (received_at, id), broken ones.

    Oldest first, so a sample that arrives later gets a higher index and the indexes a
    person saw in the grid stay valid.
    """
    s3 = s3 or _s3(settings)
    samples: list[Sample] = []
    broken: list[Broken] = []
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=settings.data_bucket, Prefix=PENDING_PREFIX):
        for item in page.get("Contents", []):
            key = str(item["Key"])
            body = s3.get_object(Bucket=settings.data_bucket, Key=key)["Body"].read()
            try:
                samples.append(parse_pending(key, body))
            except ValueError as exc:
                broken.append(Broken(key, str(exc)))
    samples.sort(key=lambda s: (datetime.fromisoformat(s.received_at), s.id))
    return Pending(samples, broken)


@dataclass(frozen=True)
class Counts:
    """What `feedback list` shows: pending samples by label, by model version, by confusion."""

    total: int
    by_label: dict[int, int]
    by_model_version: dict[int, int]
    confusions: dict[tuple[int, int], int]  # (predicted, label) -> count, corrections only
    confirmed: int  # label == predicted ("Right")
    broken: int


def counts(pending: Pending) -> Counts:
    """Pending samples counted by label, by model version and by predicted -> label."""
    samples = pending.samples
    return Counts(
        total=len(samples),
        by_label=dict(sorted(Counter(s.label for s in samples).items())),
        by_model_version=dict(sorted(Counter(s.model_version for s in samples).items())),
        confusions=dict(
            Counter((s.predicted, s.label) for s in samples if s.corrected).most_common()
        ),
        confirmed=sum(not s.corrected for s in samples),
        broken=len(pending.broken),
    )


# ---------------------------------------------------------------- selection


MAX_REVIEWER_CHARS = 100


def check_reviewer(name: str) -> str:
    """The reviewer's name as recorded in the review and the manifest: `name` stripped.

    Raises:
        FeedbackError: a control character (a newline breaks `data ls`) or more than
            MAX_REVIEWER_CHARS characters.
    """
    name = name.strip()
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise FeedbackError("--reviewer has a control character (a newline?): give one line")
    if len(name) > MAX_REVIEWER_CHARS:
        raise FeedbackError(
            f"--reviewer is {len(name)} characters long; at most {MAX_REVIEWER_CHARS}"
        )
    return name


def parse_selection(text: str, count: int, option: str = "--accept") -> list[int]:
    """Indexes from ``"0,3,5-9"`` (spaces allowed), each checked against ``count`` samples.

    Returns them sorted, each once. Raises FeedbackError naming the option and the problem:
    an empty item, something not an index or range, a range that runs backwards, an index
    not below ``count``.
    """
    chosen: set[int] = set()
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            raise FeedbackError(f"{option} {text!r}: an empty item (write e.g. 0,3,5-9)")
        match = _SELECTION_ITEM.fullmatch(item)
        if not match:
            raise FeedbackError(
                f"{option} {text!r}: {item!r} is not an index or a range (write e.g. 0,3,5-9)"
            )
        first = int(match[1])
        last = int(match[2]) if match[2] is not None else first
        if last < first:
            raise FeedbackError(f"{option} {text!r}: the range {item} runs backwards")
        if last >= count:
            raise FeedbackError(
                f"{option} {text!r}: index {last} is out of range; there are {count} pending "
                f"samples (0-{count - 1})"
                if count
                else f"{option} {text!r}: there are no pending samples"
            )
        chosen.update(range(first, last + 1))
    return sorted(chosen)


@dataclass(frozen=True)
class Decision:
    """Which pending samples a review accepts and rejects (the rest stay pending)."""

    accepted: list[Sample]
    rejected: list[Sample]
    kept: list[Sample]


def decide(
    samples: Sequence[Sample],
    accept: str | None = None,
    reject: str | None = None,
    accept_all: bool = False,
    reject_all: bool = False,
    reject_rest: bool = False,
) -> Decision:
    """Turn the review's options into a Decision.

    Raises:
        FeedbackError: no pending samples, nothing chosen, an index both accepted and
            rejected, a bad selection, a bulk option with another choice, or --reject-rest
            without --accept.
    """
    if not samples:
        raise FeedbackError("no pending feedback to review")
    bulk = [name for name, on in (("--accept-all", accept_all), ("--reject-all", reject_all)) if on]
    if len(bulk) > 1 or (bulk and (accept or reject or reject_rest)):
        raise FeedbackError(f"{bulk[0]} decides on every sample; give no other choice with it")
    if reject_rest and reject:
        raise FeedbackError("--reject-rest rejects what --accept leaves; give no --reject with it")
    if reject_rest and not accept:
        # Alone it would reject every sample without saying so; --reject-all says it.
        raise FeedbackError(
            "--reject-rest rejects what --accept leaves; give --accept with it "
            "(or --reject-all to reject every sample)"
        )
    everything = list(range(len(samples)))
    accepted = everything if accept_all else parse_selection(accept, len(samples)) if accept else []
    if reject_all:
        rejected = everything
    elif reject_rest:
        rejected = [i for i in everything if i not in set(accepted)]
    elif reject:
        rejected = parse_selection(reject, len(samples), "--reject")
    else:
        rejected = []
    both = sorted(set(accepted) & set(rejected))
    if both:
        shown = ", ".join(map(str, both[:10]))
        raise FeedbackError(f"indexes both accepted and rejected: {shown}; choose one for each")
    if not accepted and not rejected:
        raise FeedbackError(
            "nothing chosen: give --accept 0,3,5-9, --reject ..., --accept-all, --reject-all "
            "or --reject-rest"
        )
    decided = set(accepted) | set(rejected)
    return Decision(
        accepted=[samples[i] for i in accepted],
        rejected=[samples[i] for i in rejected],
        kept=[s for i, s in enumerate(samples) if i not in decided],
    )


# ---------------------------------------------------------------- the grid


def png_bytes(image: np.ndarray, scale: int = 4) -> bytes:
    """A greyscale PNG of a uint8 [H, W] image, each pixel a ``scale`` x ``scale`` block."""
    big = np.repeat(np.repeat(image, scale, axis=0), scale, axis=1).astype(np.uint8)
    height, width = big.shape
    rows = b"".join(b"\x00" + big[row].tobytes() for row in range(height))

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload))
            + kind
            + payload
            + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def grid_html(pending: Pending, title: str = "Pending feedback") -> str:
    """The review grid as one self-contained HTML page (pictures inline as PNG).

    One cell per sample: its index, predicted -> corrected label, the model version, when it
    arrived and its id; broken objects listed below.
    """
    cells = []
    for index, sample in enumerate(pending.samples):
        picture = base64.b64encode(png_bytes(sample.pixels)).decode("ascii")
        verdict = (
            f"predicted {sample.predicted} &rarr; <strong>{sample.label}</strong>"
            if sample.corrected
            else f"predicted {sample.predicted}, <strong>right</strong>"
        )
        cells.append(
            f'<figure class="{"wrong" if sample.corrected else "right"}" id="sample-{index}">'
            f'<div class="index">#{index}</div>'
            f'<img alt="sample {index}" src="data:image/png;base64,{picture}">'
            f"<figcaption>{verdict}<br>model v{sample.model_version}<br>"
            f"{html.escape(sample.received_at)}<br><code>{sample.id[:12]}</code></figcaption>"
            "</figure>"
        )
    broken = "".join(
        f"<li><code>{html.escape(b.key)}</code>: {html.escape(b.problem)}</li>"
        for b in pending.broken
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}: {len(pending.samples)} samples</h1>"
        "<p>Accept or reject by index: <code>playground feedback review --accept 0,3,5-9 "
        "--reject 1</code>. The number in bold is the label the person gave.</p>"
        f'<div class="grid">{"".join(cells)}</div>'
        + (
            f"<h2>Broken pending objects ({len(pending.broken)})</h2><ul>{broken}</ul>"
            if broken
            else ""
        )
        + "</body></html>\n"
    )


_STYLE = (
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem}"
    ".grid{display:flex;flex-wrap:wrap;gap:.75rem}"
    "figure{margin:0;padding:.4rem;border:2px solid #ccc;border-radius:6px;width:124px}"
    "figure.wrong{border-color:#d08a00}figure.right{border-color:#2f8f46}"
    "img{display:block;width:112px;height:112px;image-rendering:pixelated;background:#000}"
    ".index{font-weight:bold;font-size:1.1rem}figcaption{font-size:12px}"
)


def write_grid(settings: Settings, pending: Pending) -> Path:
    """Write the grid into the state folder (``feedback/review.html``); its path."""
    target = Path(settings.state_dir).resolve() / "feedback" / "review.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(grid_html(pending))
    return target


# ---------------------------------------------------------------- the review


@dataclass(frozen=True)
class ReviewResult:
    """What a review did."""

    reviewed_at: str
    record_key: str
    accepted: list[str]  # ids
    rejected: list[str]  # ids
    broken: list[str]  # keys deleted on request
    already_in_shard: list[str]  # accepted ids the latest shard already held
    dataset_version: str | None  # the version holding the accepted samples
    created: bool  # this review wrote that version's manifest (one event, one execution)
    shard_size: int  # samples in that version's shard


def _latest_manifest(settings: Settings, s3: Any) -> dict[str, Any] | None:
    try:
        body = s3.get_object(
            Bucket=settings.data_bucket, Key=f"{settings.raw_prefix}/{data.LATEST_NAME}"
        )["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise
    manifest: dict[str, Any] = json.loads(body)
    return manifest


def _read_object(s3: Any, bucket: str, item: dict[str, Any]) -> bytes:
    extra = {"VersionId": item["version_id"]} if item.get("version_id") else {}
    body: bytes = s3.get_object(Bucket=bucket, Key=item["key"], **extra)["Body"].read()
    if hashlib.sha256(body).hexdigest() != item["sha256"]:
        raise FeedbackError(f"s3://{bucket}/{item['key']}: not the bytes its manifest names")
    return body


def previous_shard(manifest: dict[str, Any], s3: Any) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The feedback shard of a version: ids row by row, images uint8 [N, 28, 28], labels [N].

    Empty arrays when the version has no shard. FeedbackError when the shard and the
    manifest's ``feedback.ids`` disagree.
    """
    by_name = {str(o["key"]).rsplit("/", 1)[-1]: o for o in manifest.get("objects", [])}
    ids = list((manifest.get("feedback") or {}).get("ids", []))
    if data.FEEDBACK_IMAGES not in by_name:
        return [], np.zeros((0, SIDE, SIDE), np.uint8), np.zeros(0, np.uint8)
    try:
        images = parse_idx(
            gzip.decompress(_read_object(s3, manifest["bucket"], by_name[data.FEEDBACK_IMAGES]))
        )
        labels = parse_idx(
            gzip.decompress(_read_object(s3, manifest["bucket"], by_name[data.FEEDBACK_LABELS]))
        )
    except (IdxError, KeyError, OSError) as exc:
        raise FeedbackError(f"the latest version's feedback shard is unreadable: {exc}") from None
    if not (len(images) == len(labels) == len(ids)):
        raise FeedbackError(
            f"the latest version's feedback shard holds {len(images)} images and {len(labels)} "
            f"labels, its manifest names {len(ids)} ids"
        )
    return ids, np.asarray(images), np.asarray(labels)


def _check_pixels_unique(
    ids: list[str], images: np.ndarray, new: Sequence[Sample], index: dict[str, int]
) -> None:
    """Refuse accepted samples whose pixels another shard row or accepted sample has."""
    seen: dict[bytes, str] = {}
    for sample_id_, image in zip(ids, images, strict=True):
        seen.setdefault(image.tobytes(), sample_id_)
    for sample in new:
        other = seen.get(sample.pixels.tobytes())
        if other is not None:
            where = (
                f"index {index[other]}" if other in index else f"sample {other[:12]} in the shard"
            )
            raise FeedbackError(
                f"index {index[sample.id]} has the same pixels as {where}: the shard would fail "
                "prepare's duplicates or leakage check; reject one of them"
            )
        seen[sample.pixels.tobytes()] = sample.id


def review(
    settings: Settings,
    decision: Decision,
    reviewer: str,
    broken: Iterable[Broken] = (),
    now: datetime | None = None,
    indexes: dict[str, int] | None = None,
) -> ReviewResult:
    """Carry out a Decision: the new dataset version, the review record, then the deletes.

    Raises FeedbackError before anything is written when the review cannot go ahead (no
    reviewer, no dataset version to add to, an accepted sample duplicating another's pixels).
    """
    reviewer = reviewer.strip()
    if not reviewer:
        raise FeedbackError("a review needs the reviewer's name (--reviewer NAME)")
    s3 = _s3(settings)
    bucket = settings.data_bucket
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    reviewed_at = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    broken = list(broken)
    index = indexes or {
        s.id: i for i, s in enumerate([*decision.accepted, *decision.rejected, *decision.kept])
    }
    version: str | None = None
    created = False
    already: list[str] = []
    shard_size = 0
    if decision.accepted:
        latest = _latest_manifest(settings, s3)
        if latest is None:
            raise FeedbackError(
                "no dataset version to add the feedback to: seed one first (`playground data "
                "seed`); nothing was changed"
            )
        ids, images, labels = previous_shard(latest, s3)
        known = set(ids)
        already = [s.id for s in decision.accepted if s.id in known]
        new = [s for s in decision.accepted if s.id not in known]
        _check_pixels_unique(ids, images, new, index)
        all_ids = ids + [s.id for s in new]
        all_images = np.concatenate([images, *(s.pixels[None] for s in new)]).astype(np.uint8)
        all_labels = np.concatenate([labels, np.array([s.label for s in new], np.uint8)])
        shard_size = len(all_ids)
        with tempfile.TemporaryDirectory(prefix="feedback-shard-") as tmp:
            files = _version_files(latest, Path(tmp), all_images, all_labels)
            result = data.upload(
                settings,
                files,
                source=f"feedback review by {reviewer}",
                extra={
                    "feedback": {
                        "reviewer": reviewer,
                        "reviewed_at": reviewed_at,
                        "accepted": [s.id for s in new],
                        "ids": all_ids,
                    }
                },
            )
        version, created = result.version, result.created
    record = {
        "reviewer": reviewer,
        "reviewed_at": reviewed_at,
        "accepted": [s.id for s in decision.accepted],
        "rejected": [s.id for s in decision.rejected],
        "broken": [b.key for b in broken],
        "dataset_version": version,
    }
    record_key = _write_record(s3, bucket, reviewed_at, record)
    # Only now, with the version and the record stored, does anything leave the quarantine.
    for key in [s.key for s in (*decision.accepted, *decision.rejected)] + [b.key for b in broken]:
        s3.delete_object(Bucket=bucket, Key=key)
    return ReviewResult(
        reviewed_at=reviewed_at,
        record_key=record_key,
        accepted=record["accepted"],  # type: ignore[arg-type]
        rejected=record["rejected"],  # type: ignore[arg-type]
        broken=record["broken"],  # type: ignore[arg-type]
        already_in_shard=already,
        dataset_version=version,
        created=created,
        shard_size=shard_size,
    )


def _version_files(
    latest: dict[str, Any], work: Path, images: np.ndarray, labels: np.ndarray
) -> list[data.CheckedFile]:
    """The new version's files: the latest version's other files copied, the new shard."""
    files = []
    for item in latest["objects"]:
        name = str(item["key"]).rsplit("/", 1)[-1]
        if name in (data.FEEDBACK_IMAGES, data.FEEDBACK_LABELS):
            continue
        files.append(
            data.CheckedFile(
                path=Path(name),
                name=name,
                sha256=str(item["sha256"]),
                count=int(item.get("count", 0)),
                copy_from=str(item["key"]),
                copy_version_id=str(item.get("version_id", "")),
            )
        )
    for name, array in ((data.FEEDBACK_IMAGES, images), (data.FEEDBACK_LABELS, labels)):
        path = work / name
        write_idx_gz(array, path)
        files.append(
            data.CheckedFile(path, name, hashlib.sha256(path.read_bytes()).hexdigest(), len(labels))
        )
    return files


def _write_record(s3: Any, bucket: str, reviewed_at: str, record: dict[str, Any]) -> str:
    """Store the review record write-once; a second review in the same second gets a suffix."""
    body = (json.dumps(record, indent=2) + "\n").encode()
    for key in (
        f"{REVIEWS_PREFIX}{reviewed_at}.json",
        f"{REVIEWS_PREFIX}{reviewed_at}-{hashlib.sha256(body).hexdigest()[:8]}.json",
    ):
        try:
            s3.put_object(
                Bucket=bucket, Key=key, Body=body, ContentType="application/json", IfNoneMatch="*"
            )
            return key
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("PreconditionFailed", "412"):
                raise
    raise FeedbackError(f"a review record for {reviewed_at} already exists; try again")
