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

A decision is bound to the grid it was made on (`ShownReview`, its review id): indexes and bulk
options resolve against the samples that grid showed, never against what is pending by the
time the decision is carried out; and reviews are carried out one at a time under a lock in
the bucket (`review_lock`), so two reviewers never decide one sample twice or build two
dataset versions on the same latest one.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import html
import json
import re
import struct
import tempfile
import time
import unicodedata
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from botocore.exceptions import ClientError

from functions.feedback.correction import parse_stored
from mlops_settings import Settings
from pipelines.mnist.code.idx import IMAGE_SIDE, IdxError, parse_idx, write_idx_gz
from playground import data, people

PENDING_PREFIX = "feedback/pending/"
REVIEWS_PREFIX = "feedback/reviews/"
REVIEW_LOCK_KEY = "feedback/review.lock"
# A review holds the lock for seconds (a few S3 requests, server-side copies of the MNIST
# files); one older than this was left by a review that stopped and may be taken over.
LOCK_LEASE_S = 120
LOCK_POLL_S = 0.25
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


def parse_pending(key: str, body: bytes) -> Sample:
    """A pending object's bytes as a Sample, checked against contracts/feedback.md.

    The checks are the `feedback` Lambda's own (`functions.feedback.correction.parse_stored`),
    so the review refuses exactly what the endpoint would, with the same message.

    Raises:
        ValueError: naming the problem (`CorrectionError`: not JSON, members missing or
            extra, a type or range, the pixels, ``received_at``), or an id in the key that is
            not the SHA-256 of the canonical JSON.
    """
    correction, received_at = parse_stored(body)
    identity = correction.sample_id
    name = key.rsplit("/", 1)[-1]
    if name != f"{identity}.json":
        raise ValueError(
            f"the key names id {name.removesuffix('.json')[:16]}..., but the SHA-256 of the "
            f"canonical JSON is {identity[:16]}..."
        )
    return Sample(
        id=identity,
        key=key,
        pixels=np.frombuffer(correction.pixels, dtype=np.uint8)
        .reshape(IMAGE_SIDE, IMAGE_SIDE)
        .copy(),
        predicted=correction.predicted,
        label=correction.label,
        model_version=correction.model_version,
        model_sha256=correction.model_sha256,
        input_spec_version=correction.input_spec_version,
        received_at=received_at,
    )


def _s3(settings: Settings) -> Any:
    # As the person of the command (`playground.people`): the reviewer, in `feedback review`.
    return people.client("s3", settings)


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


@dataclass(frozen=True)
class Choice:
    """What the reviewer asked for: the options of `feedback review`, not yet resolved."""

    accept: str | None = None
    reject: str | None = None
    accept_all: bool = False
    reject_all: bool = False
    reject_rest: bool = False

    def __bool__(self) -> bool:
        return bool(
            self.accept or self.reject or self.accept_all or self.reject_all or self.reject_rest
        )


def choose(count: int, choice: Choice) -> tuple[list[int], list[int]]:
    """The indexes (of ``count`` shown samples) a choice accepts and rejects, each sorted.

    Raises:
        FeedbackError: no samples, nothing chosen, an index both accepted and rejected, a
            bad selection, a bulk option with another choice, or --reject-rest without
            --accept.
    """
    if not count:
        raise FeedbackError("no pending feedback to review")
    accept, reject = choice.accept, choice.reject
    bulk = [
        name
        for name, on in (("--accept-all", choice.accept_all), ("--reject-all", choice.reject_all))
        if on
    ]
    if len(bulk) > 1 or (bulk and (accept or reject or choice.reject_rest)):
        raise FeedbackError(f"{bulk[0]} decides on every sample; give no other choice with it")
    if choice.reject_rest and reject:
        raise FeedbackError("--reject-rest rejects what --accept leaves; give no --reject with it")
    if choice.reject_rest and not accept:
        # Alone it would reject every sample without saying so; --reject-all says it.
        raise FeedbackError(
            "--reject-rest rejects what --accept leaves; give --accept with it "
            "(or --reject-all to reject every sample)"
        )
    everything = list(range(count))
    accepted = everything if choice.accept_all else parse_selection(accept, count) if accept else []
    if choice.reject_all:
        rejected = everything
    elif choice.reject_rest:
        rejected = [i for i in everything if i not in set(accepted)]
    elif reject:
        rejected = parse_selection(reject, count, "--reject")
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
    return accepted, rejected


def decide(
    samples: Sequence[Sample],
    accept: str | None = None,
    reject: str | None = None,
    accept_all: bool = False,
    reject_all: bool = False,
    reject_rest: bool = False,
) -> Decision:
    """Turn the options into a Decision over ``samples`` (index i is ``samples[i]``).

    Raises:
        FeedbackError: as `choose`.
    """
    accepted, rejected = choose(
        len(samples), Choice(accept, reject, accept_all, reject_all, reject_rest)
    )
    decided = set(accepted) | set(rejected)
    return Decision(
        accepted=[samples[i] for i in accepted],
        rejected=[samples[i] for i in rejected],
        kept=[s for i, s in enumerate(samples) if i not in decided],
    )


# ---------------------------------------------------------------- the review shown


def review_id(ids: Sequence[str]) -> str:
    """A grid's review id: 12 hex digits of SHA-256 over its sample ids in their order.

    The same samples in the same order are the same review (contracts/feedback.md).
    """
    text = "feedback review\n" + "".join(f"{i}\n" for i in ids)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


_REVIEW_ID = re.compile(r"[0-9a-f]{12}")


@dataclass(frozen=True)
class ShownReview:
    """A grid as a person saw it: its review id, when, the sample ids by index, broken keys."""

    review: str
    shown_at: str
    ids: list[str]
    broken: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The record written next to the grid (contracts/feedback.md)."""
        return {
            "review": self.review,
            "shown_at": self.shown_at,
            "ids": self.ids,
            "broken": self.broken,
        }


def reviews_folder(settings: Settings) -> Path:
    """Where the grids and their review records live: ``<state>/feedback/reviews``."""
    return Path(settings.state_dir).resolve() / "feedback" / "reviews"


def show(settings: Settings, pending: Pending, now: datetime | None = None) -> ShownReview:
    """Record ``pending`` as a review and write its grid; the review (its page: `grid_path`).

    Writes ``<review id>.json`` (the ids in order) and ``<review id>.html`` in
    `reviews_folder`, the record first, so a page on screen always has its record.
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    ids = [s.id for s in pending.samples]
    shown = ShownReview(
        review=review_id(ids),
        shown_at=moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        ids=ids,
        broken=[b.key for b in pending.broken],
    )
    folder = reviews_folder(settings)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{shown.review}.json").write_text(json.dumps(shown.as_json(), indent=2) + "\n")
    grid_path(settings, shown.review).write_text(grid_html(pending, review=shown.review))
    return shown


def grid_path(settings: Settings, review: str) -> Path:
    """The grid page of a review."""
    return reviews_folder(settings) / f"{review}.html"


def shown_review(settings: Settings, review: str) -> ShownReview:
    """The review recorded under this id on this machine.

    Raises:
        FeedbackError: not a review id, or no grid of that id was shown here.
    """
    review = review.strip().lower()
    if not _REVIEW_ID.fullmatch(review):
        raise FeedbackError(
            f"--review {review[:40]!r} is not a review id (12 hex digits, as the grid shows)"
        )
    path = reviews_folder(settings) / f"{review}.json"
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise FeedbackError(
            f"no review {review} was shown here ({reviews_folder(settings)}): run "
            "`playground feedback review` to see the pending samples and decide on its grid"
        ) from None
    except ValueError:
        raise FeedbackError(f"the record of review {review} ({path}) is not JSON") from None
    ids = [str(i) for i in document.get("ids", [])]
    if review_id(ids) != review:
        raise FeedbackError(f"the record of review {review} ({path}) lists other samples")
    broken = [str(k) for k in document.get("broken", [])]
    return ShownReview(review, str(document.get("shown_at", "")), ids, broken)


@dataclass(frozen=True)
class Resolution:
    """A choice resolved against the review it names and what is pending now.

    ``index``: sample id -> its index in the review. ``gone``: indexes of the review no
    longer pending (decided since), left out; ``decided_here``: those of them an earlier
    decision on this same review took, index -> "by <reviewer> at <time>" (the others
    another review took).
    ``newer``: pending samples the review did not show, left pending. ``broken``: the
    review's broken objects still there, deleted on request.
    """

    decision: Decision
    index: dict[str, int]
    gone: list[int]
    newer: list[Sample]
    broken: list[Broken]
    decided_here: dict[int, str] = field(default_factory=dict)

    @property
    def decided_elsewhere(self) -> list[int]:
        """Indexes of the review another review decided on since it was shown."""
        return [i for i in self.gone if i not in self.decided_here]


def _gone_message(shown: ShownReview, indexes: list[int], decided_here: Mapping[int, str]) -> str:
    """Why these indexes of ``shown`` are no longer pending, saying who decided them."""
    here = [i for i in indexes if i in decided_here]
    elsewhere = [i for i in indexes if i not in decided_here]
    parts = []
    for group, who in (
        (
            here,
            "this review decided on {it} already" + (f" ({decided_here[here[0]]})" if here else ""),
        ),
        (elsewhere, "another review decided on {it} after this grid was shown"),
    ):
        if group:
            one = len(group) == 1
            listed = ", ".join(f"#{i} ({shown.ids[i][:12]})" for i in group[:10])
            verb, it = ("is", "it") if one else ("are", "them")
            parts.append(
                f"{listed} of review {shown.review} {verb} no longer pending: {who.format(it=it)}"
            )
    return "; ".join(parts)


def resolve(
    shown: ShownReview,
    pending: Pending,
    choice: Choice,
    reject_broken: bool = False,
    decided_before: Mapping[str, str] | None = None,
) -> Resolution:
    """Resolve ``choice`` against the samples ``shown``, never against later ones.

    Args:
        shown: the review the choice was made on.
        pending: what is pending now (`list_pending`).
        choice: the indexes and bulk options given.
        reject_broken: delete the broken objects the review listed.
        decided_before: sample id -> who and when an earlier decision on this same review
            took it
            (`decided_by_review`), so a repeated decision is told apart from another review's.

    Raises:
        FeedbackError: a bad choice (`choose`); an index named that is no longer pending; a
            broken pending object when ``reject_broken`` is off; nothing left to decide.
    """
    if pending.broken and not reject_broken:
        problems = "; ".join(f"{b.key}: {b.problem}" for b in pending.broken[:3])
        raise FeedbackError(
            f"{len(pending.broken)} pending objects break contracts/feedback.md ({problems}); "
            "delete them with --reject-broken"
        )
    now_pending = {s.id: s for s in pending.samples}
    index = {sample: i for i, sample in enumerate(shown.ids)}
    gone = [i for i, sample in enumerate(shown.ids) if sample not in now_pending]
    earlier = decided_before or {}
    decided_here = {i: earlier[shown.ids[i]] for i in gone if shown.ids[i] in earlier}
    if choice:
        accepted, rejected = choose(len(shown.ids), choice)
    elif reject_broken:
        accepted, rejected = [], []
    else:
        raise FeedbackError("nothing chosen")
    count = len(shown.ids)
    named = set(parse_selection(choice.accept, count) if choice.accept else [])
    named |= set(parse_selection(choice.reject, count, "--reject") if choice.reject else [])
    named_gone = sorted(named & set(gone))
    if named_gone:
        raise FeedbackError(
            _gone_message(shown, named_gone, decided_here)
            + "; run `playground feedback review` for a fresh grid"
        )
    left = set(gone)
    accepted = [i for i in accepted if i not in left]
    rejected = [i for i in rejected if i not in left]
    broken_now = {b.key: b for b in pending.broken}
    broken = [broken_now[k] for k in shown.broken if k in broken_now] if reject_broken else []
    if not accepted and not rejected and not broken:
        by = (
            "this review already"
            if gone and all(i in decided_here for i in gone)
            else "another review since"
            if not decided_here
            else "this review or another since"
        )
        raise FeedbackError(
            f"every sample of review {shown.review} this decision covers was decided by {by}; "
            "run `playground feedback review` for a fresh grid"
            if gone
            else f"nothing of review {shown.review} is left to decide"
        )
    decided = set(accepted) | set(rejected)
    return Resolution(
        decision=Decision(
            accepted=[now_pending[shown.ids[i]] for i in accepted],
            rejected=[now_pending[shown.ids[i]] for i in rejected],
            kept=[
                now_pending[s]
                for i, s in enumerate(shown.ids)
                if i not in decided and s in now_pending
            ],
        ),
        index=index,
        gone=gone,
        newer=[s for s in pending.samples if s.id not in index],
        broken=broken,
        decided_here=decided_here,
    )


def decided_by_review(settings: Settings, review: str, s3: Any = None) -> dict[str, str]:
    """The samples earlier decisions on ``review`` took: sample id -> "by <reviewer> at <time>".

    Read from the review records under ``feedback/reviews/`` (contracts/feedback.md); a
    record that is not JSON is passed over (it names no decision this can use).
    """
    s3 = s3 or _s3(settings)
    taken: dict[str, str] = {}
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=settings.data_bucket, Prefix=REVIEWS_PREFIX):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=settings.data_bucket, Key=item["Key"])["Body"].read()
            try:
                record = json.loads(body)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("review") == review:
                for sample in [*record.get("accepted", []), *record.get("rejected", [])]:
                    taken[str(sample)] = (
                        f"by {record.get('reviewer', '?')} at {record.get('reviewed_at', '?')}"
                    )
    return taken


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


def grid_html(pending: Pending, title: str = "Pending feedback", review: str = "") -> str:
    """The review grid as one self-contained HTML page (pictures inline as PNG).

    One cell per sample: its index, predicted -> corrected label, the model version, when it
    arrived and its id; broken objects listed below. With ``review`` (its review id) the page
    names the review and the command that decides on it.
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
        + (f'<p class="review">review <code>{html.escape(review)}</code></p>' if review else "")
        + "<p>Accept or reject by index: <code>playground feedback review "
        + (f"--review {html.escape(review)} " if review else "")
        + "--accept 0,3,5-9 --reject 1</code>. Indexes mean the samples on this page only; "
        "samples that arrive later wait for another grid. The number in bold is the label "
        "the person gave.</p>"
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
        return [], np.zeros((0, IMAGE_SIDE, IMAGE_SIDE), np.uint8), np.zeros(0, np.uint8)
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
    review_id: str | None = None,
    arrived_after: Sequence[str] = (),
) -> ReviewResult:
    """Carry out a Decision: the new dataset version, the review record, then the deletes.

    ``review_id`` (the grid decided on) and ``arrived_after`` (ids pending but not shown)
    go into the record. Call it under `review_lock` (`decide_review` does): two reviews at
    once would build two versions on the same latest one.

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
        "review": review_id,
        "reviewer": reviewer,
        "reviewed_at": reviewed_at,
        "accepted": [s.id for s in decision.accepted],
        "rejected": [s.id for s in decision.rejected],
        "broken": [b.key for b in broken],
        "dataset_version": version,
        "arrived_after": list(arrived_after),
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


# ---------------------------------------------------------------- one review at a time


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


_PRECONDITION = ("PreconditionFailed", "412", "ConditionalRequestConflict", "409")
_MISSING = ("NoSuchKey", "404")


@contextmanager
def review_lock(
    settings: Settings,
    review: str,
    reviewer: str,
    notify: Callable[[str], None] = print,
    s3: Any = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[None]:
    """Hold ``s3://<data bucket>/feedback/review.lock`` while a review is carried out.

    Taken with ``If-None-Match: *``; a lock held by another review is waited for (``notify``
    says whose), and one older than its lease (``LOCK_LEASE_S``, by the holder's ``since``)
    is taken over with ``If-Match`` on its ETag, so of two waiters only one takes it.
    Released with ``If-Match`` on our ETag: a lock taken over from us is not deleted.
    S3 conditional writes: AWS S3 user guide, "Add preconditions to S3 operations with
    conditional requests".

    Raises:
        FeedbackError: the lock was neither released nor expired within its lease (a clock
            far off, or a holder that keeps renewing it).
    """
    s3 = s3 or _s3(settings)
    bucket = settings.data_bucket
    deadline = clock() + LOCK_LEASE_S + 10 * LOCK_POLL_S + 5
    announced = ""

    def body() -> bytes:
        mine = {
            "review": review,
            "reviewer": reviewer,
            "since": _iso(clock()),
            "lease_seconds": LOCK_LEASE_S,
        }
        return json.dumps(mine).encode()

    while True:
        try:
            etag = s3.put_object(Bucket=bucket, Key=REVIEW_LOCK_KEY, Body=body(), IfNoneMatch="*")[
                "ETag"
            ]
            break
        except ClientError as exc:
            if _code(exc) not in _PRECONDITION:
                raise
        try:
            held = s3.get_object(Bucket=bucket, Key=REVIEW_LOCK_KEY)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                continue  # released between our two requests
            raise
        holder = _lock_holder(held)
        if clock() >= holder["expires"]:
            try:
                etag = s3.put_object(
                    Bucket=bucket, Key=REVIEW_LOCK_KEY, Body=body(), IfMatch=held["ETag"]
                )["ETag"]
            except ClientError as exc:
                if _code(exc) not in (*_PRECONDITION, *_MISSING):
                    raise
                continue  # another waiter took it, or its holder released it
            notify(
                f"took over the review lock left by {holder['reviewer']} (review "
                f"{holder['review']}, since {holder['since']}): its lease of "
                f"{holder['lease']} s ran out, so that review had stopped; if it had written a "
                "dataset version, its samples are in the latest shard and reviewing them again "
                "finishes it"
            )
            break
        if announced != held["ETag"]:
            announced = held["ETag"]
            notify(
                f"waiting for the review by {holder['reviewer']} (review {holder['review']}, "
                f"since {holder['since']}) to finish: reviews are carried out one at a time"
            )
        if clock() > deadline:
            raise FeedbackError(
                f"the review lock s3://{bucket}/{REVIEW_LOCK_KEY} held by {holder['reviewer']} "
                "was neither released nor expired; nothing was changed"
            )
        sleep(LOCK_POLL_S)
    try:
        yield
    finally:
        try:
            s3.delete_object(Bucket=bucket, Key=REVIEW_LOCK_KEY, IfMatch=etag)
        except ClientError as exc:
            if _code(exc) not in (*_PRECONDITION, *_MISSING):
                raise
            notify(
                "the review lock had been taken over before this review finished (it took "
                f"longer than the lease of {LOCK_LEASE_S} s)"
            )


def _lock_holder(held: dict[str, Any]) -> dict[str, Any]:
    """Who holds the lock, since when and until when (epoch seconds).

    A lock that is not the JSON `review_lock` writes counts from its Last-Modified time.
    """
    raw = held["Body"].read()
    modified = held.get("LastModified")
    fallback = modified.timestamp() if modified else 0.0
    try:
        document = json.loads(raw)
        since = datetime.fromisoformat(str(document["since"])).timestamp()
        lease = float(document.get("lease_seconds", LOCK_LEASE_S))
        who, review = str(document.get("reviewer", "?")), str(document.get("review", "?"))
    except (ValueError, KeyError, TypeError):
        since, lease, who, review = fallback, float(LOCK_LEASE_S), "an unknown reviewer", "?"
    return {
        "reviewer": who,
        "review": review,
        "since": _iso(since),
        "lease": int(lease),
        "expires": since + lease,
    }


@dataclass(frozen=True)
class Decided:
    """A decision carried out: how it resolved against its review, and what it did."""

    resolution: Resolution
    result: ReviewResult


def decide_review(
    settings: Settings,
    shown: ShownReview,
    choice: Choice,
    reviewer: str,
    reject_broken: bool = False,
    notify: Callable[[str], None] = print,
    now: datetime | None = None,
) -> Decided:
    """Decide on the review ``shown``: under the lock, read what is pending, resolve, act.

    Raises:
        FeedbackError: as `resolve` and `review`; nothing was changed.
    """
    reviewer = check_reviewer(reviewer)
    s3 = _s3(settings)
    with review_lock(settings, shown.review, reviewer, notify, s3=s3):
        pending = list_pending(settings, s3)
        pending_ids = {s.id for s in pending.samples}
        earlier = (
            decided_by_review(settings, shown.review, s3)
            if any(i not in pending_ids for i in shown.ids)
            else {}
        )
        resolution = resolve(shown, pending, choice, reject_broken, earlier)
        result = review(
            settings,
            resolution.decision,
            reviewer,
            resolution.broken,
            now=now,
            indexes=resolution.index,
            review_id=shown.review,
            arrived_after=[s.id for s in resolution.newer],
        )
    return Decided(resolution, result)
