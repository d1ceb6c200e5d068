"""The review's pure parts: pending objects against the contract, selections, the grid, the
shard's files."""

from __future__ import annotations

import base64
import gzip
import io
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from functions.feedback.correction import MEMBERS, STORED_MEMBERS, parse_correction
from functions.function_url import ApiError
from pipelines.mnist.code.idx import parse_idx
from playground import data
from playground import feedback as fb
from support.pending_feedback import BASE_TIME, correction, real_digits, sample_id, stored

IMAGES, LABELS = real_digits(6)


def pending_sample(i: int = 0) -> fb.Sample:
    body = correction(IMAGES[i], int(LABELS[i]))
    return fb.parse_pending(f"feedback/pending/{sample_id(body)}.json", stored(body, BASE_TIME))


def broken_problem(document: dict[str, object] | bytes, key: str) -> str:
    """The problem parse_pending names for a stored object (it must refuse it)."""
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    with pytest.raises(ValueError, match=r".") as caught:
        fb.parse_pending(key, body)
    return str(caught.value)


def good_document() -> dict[str, object]:
    body = correction(IMAGES[0], int(LABELS[0]))
    return {**body, "received_at": "2026-11-30T03:00:00Z"}


def test_a_stored_correction_reads_back_with_its_pixels_labels_and_id() -> None:
    body = correction(IMAGES[0], int(LABELS[0]), predicted=3)
    key = f"feedback/pending/{sample_id(body)}.json"

    sample = fb.parse_pending(key, stored(body, BASE_TIME))

    assert sample.id == sample_id(body)
    assert np.array_equal(sample.pixels, IMAGES[0])
    assert (sample.predicted, sample.label, sample.model_version) == (3, int(LABELS[0]), 1)
    assert sample.received_at == "2026-11-30T03:00:00Z"


BREAKS = [
    (lambda d: d.pop("label"), "missing member(s) label"),
    (lambda d: d.update(ip="203.0.113.9"), "unknown member(s) 'ip'; a correction has only"),
    (lambda d: d.update(label=10), "label must be from 0 to 9, got 10"),
    (lambda d: d.update(predicted=True), "predicted must be a whole number from 0 to 9, got true"),
    (lambda d: d.update(model_version=0), "model_version must be from 1 to 999999999, got 0"),
    (lambda d: d.update(model_sha256="ABC"), "model_sha256 must be 64 lowercase hex digits"),
    (
        lambda d: d.update(pixels=base64.b64encode(bytes(783)).decode()),
        "pixels must be 784 bytes (28x28), got 783",
    ),
    (lambda d: d.update(pixels="not base64!"), "pixels is not standard base64"),
    (
        lambda d: d.update(pixels=str(d["pixels"]).rstrip("=")),
        "pixels is not standard base64",
    ),
]
BREAK_IDS = [
    "missing",
    "extra-member",
    "label-range",
    "bool",
    "version",
    "sha",
    "short-pixels",
    "not-base64",
    "no-padding",
]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        *BREAKS,
        (lambda d: d.update(received_at="2026-11-30T03:00:00+01:00"), "is not UTC"),
        (lambda d: d.update(received_at="yesterday"), "is not ISO 8601"),
    ],
    ids=[*BREAK_IDS, "not-utc", "not-a-time"],
)
def test_a_pending_object_breaking_the_contract_is_named(change, problem: str) -> None:
    document = good_document()
    change(document)
    assert problem in broken_problem(document, "feedback/pending/x.json")


@pytest.mark.parametrize(("change", "problem"), BREAKS, ids=BREAK_IDS)
def test_the_review_refuses_what_the_endpoint_refuses_with_the_same_message(
    change, problem: str
) -> None:
    # One implementation of contracts/feedback.md: the stored object fails the review for
    # the reason the same body, posted, gets its 400 from the feedback Lambda.
    document = good_document()
    change(document)
    posted = {name: value for name, value in document.items() if name != "received_at"}
    with pytest.raises(ApiError) as answered:
        parse_correction(json.dumps(posted).encode())
    assert answered.value.code == "invalid_feedback"
    review = broken_problem(document, "feedback/pending/x.json")
    assert problem in answered.value.message
    assert review == answered.value.message.replace(
        "a correction has only " + ", ".join(MEMBERS),
        "a correction has only " + ", ".join(STORED_MEMBERS),
    )


def test_a_pending_object_under_another_id_or_not_json_is_refused() -> None:
    document = good_document()
    assert "the key names id" in broken_problem(document, f"feedback/pending/{'0' * 64}.json")
    assert broken_problem(b"\xff\xfe", "feedback/pending/x.json") == "the body is not UTF-8 text"
    assert broken_problem(b"{", "feedback/pending/x.json") == "the body is not valid JSON"
    assert "must be a JSON object" in broken_problem(b"[1, 2]", "feedback/pending/x.json")
    assert "appears twice" in broken_problem(b'{"label": 1, "label": 2}', "feedback/pending/x.json")


def test_selection_takes_indexes_and_ranges_once_each() -> None:
    assert fb.parse_selection("0,3,5-9", 10) == [0, 3, 5, 6, 7, 8, 9]
    assert fb.parse_selection(" 2 , 2, 1-2 ", 3) == [1, 2]


@pytest.mark.parametrize(
    ("text", "count", "message"),
    [
        ("0,12", 10, "index 12 is out of range; there are 10 pending samples (0-9)"),
        ("3-1", 10, "the range 3-1 runs backwards"),
        ("1,,2", 10, "an empty item"),
        ("-1", 10, "'-1' is not an index or a range"),
        ("a", 10, "'a' is not an index or a range"),
        ("0", 0, "there are no pending samples"),
    ],
)
def test_a_bad_selection_says_what_is_wrong(text: str, count: int, message: str) -> None:
    with pytest.raises(fb.FeedbackError, match=r"--accept") as caught:
        fb.parse_selection(text, count)
    assert message in str(caught.value)


def test_decide_splits_accepted_rejected_and_kept() -> None:
    samples = [pending_sample(i) for i in range(6)]

    decision = fb.decide(samples, accept="0,2-3", reject="5")

    assert [s.id for s in decision.accepted] == [samples[i].id for i in (0, 2, 3)]
    assert [s.id for s in decision.rejected] == [samples[5].id]
    assert [s.id for s in decision.kept] == [samples[i].id for i in (1, 4)]
    rest = fb.decide(samples, accept="1", reject_rest=True)
    assert [s.id for s in rest.rejected] == [samples[i].id for i in (0, 2, 3, 4, 5)]
    assert len(fb.decide(samples, accept_all=True).accepted) == 6
    assert len(fb.decide(samples, reject_all=True).rejected) == 6


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"accept": "0-2", "reject": "2,3"}, "indexes both accepted and rejected: 2"),
        ({}, "nothing chosen"),
        ({"accept_all": True, "reject": "1"}, "--accept-all decides on every sample"),
        ({"accept_all": True, "reject_all": True}, "decides on every sample"),
        ({"accept": "1", "reject": "2", "reject_rest": True}, "give no --reject with it"),
        ({"reject_rest": True}, "give --accept with it (or --reject-all"),
        ({"reject": "9"}, "--reject '9': index 9 is out of range"),
    ],
)
def test_contradictory_or_empty_choices_are_refused(options: dict, message: str) -> None:
    samples = [pending_sample(i) for i in range(6)]
    with pytest.raises(fb.FeedbackError) as caught:
        fb.decide(samples, **options)
    assert message in str(caught.value)


def test_no_pending_samples_is_an_error() -> None:
    with pytest.raises(fb.FeedbackError, match="no pending feedback"):
        fb.decide([], accept_all=True)


def shown_of(samples: list[fb.Sample]) -> fb.ShownReview:
    ids = [s.id for s in samples]
    return fb.ShownReview(fb.review_id(ids), "2026-11-30T03:00:00Z", ids)


def test_a_review_id_names_the_samples_and_their_order() -> None:
    ids = [pending_sample(i).id for i in range(3)]

    assert fb.review_id(ids) == fb.review_id(list(ids))
    assert len(fb.review_id(ids)) == 12
    assert fb.review_id(ids) != fb.review_id(ids[::-1])
    assert fb.review_id(ids) != fb.review_id(ids[:2])


def test_a_decision_resolves_against_the_samples_shown_not_those_pending_now() -> None:
    samples = [pending_sample(i) for i in range(6)]
    shown = shown_of(samples[1:4])  # the grid showed three
    # Since then one arrived that sorts ahead of them (same second, lower id), two after.
    now = fb.Pending([samples[0], *samples[1:4], samples[4], samples[5]])

    everything = fb.resolve(shown, now, fb.Choice(accept_all=True))
    first = fb.resolve(shown, now, fb.Choice(accept="0", reject_rest=True))

    assert [s.id for s in everything.decision.accepted] == shown.ids
    assert [s.id for s in everything.newer] == [samples[i].id for i in (0, 4, 5)]
    assert [s.id for s in first.decision.accepted] == [samples[1].id]
    assert [s.id for s in first.decision.rejected] == [samples[2].id, samples[3].id]
    assert first.index == {samples[i].id: i - 1 for i in (1, 2, 3)}


def test_a_shown_sample_decided_since_is_refused_by_index_and_left_out_in_bulk() -> None:
    samples = [pending_sample(i) for i in range(4)]
    shown = shown_of(samples)
    now = fb.Pending([samples[0], samples[2], samples[3]])  # #1 was decided meanwhile

    with pytest.raises(fb.FeedbackError, match=r"#1 \(.*\) of review .* is no longer pending"):
        fb.resolve(shown, now, fb.Choice(accept="0-1"))
    bulk = fb.resolve(shown, now, fb.Choice(reject_all=True))

    assert [s.id for s in bulk.decision.rejected] == [samples[i].id for i in (0, 2, 3)]
    assert bulk.gone == [1]
    with pytest.raises(fb.FeedbackError, match="decided by another review since"):
        fb.resolve(shown_of([samples[1]]), now, fb.Choice(accept_all=True))


def test_a_sample_this_same_review_decided_before_is_not_blamed_on_another_review() -> None:
    samples = [pending_sample(i) for i in range(3)]
    shown = shown_of(samples)
    now = fb.Pending([samples[2]])  # #0 this review took earlier, #1 another review took
    earlier = {samples[0].id: "by Ada at 2026-11-30T03:05:00Z"}

    with pytest.raises(fb.FeedbackError) as both:
        fb.resolve(shown, now, fb.Choice(accept="0-1"), decided_before=earlier)
    message = str(both.value)
    assert "#0" in message.split(";")[0]
    assert "this review decided on it already (by Ada at 2026-11-30T03:05:00Z)" in message
    assert "another review decided on it after this grid was shown" in message.split(";")[1]
    bulk = fb.resolve(shown, now, fb.Choice(accept_all=True), decided_before=earlier)
    assert bulk.decided_here == {0: "by Ada at 2026-11-30T03:05:00Z"}
    assert bulk.decided_elsewhere == [1]
    with pytest.raises(fb.FeedbackError, match="was decided by this review already"):
        fb.resolve(shown_of(samples[:1]), now, fb.Choice(accept_all=True), decided_before=earlier)


def test_broken_objects_are_deleted_only_when_asked_and_only_those_shown() -> None:
    samples = [pending_sample(0)]
    shown_broken = fb.Broken("feedback/pending/a.json", "not JSON")
    later_broken = fb.Broken("feedback/pending/b.json", "not JSON")
    shown = fb.ShownReview(fb.review_id([samples[0].id]), "", [samples[0].id], [shown_broken.key])
    now = fb.Pending(samples, [shown_broken, later_broken])

    with pytest.raises(fb.FeedbackError, match=r"feedback/pending/a\.json: not JSON"):
        fb.resolve(shown, now, fb.Choice(accept="0"))
    resolved = fb.resolve(shown, now, fb.Choice(), reject_broken=True)

    assert resolved.broken == [shown_broken]
    assert resolved.decision.kept == samples


def test_a_shown_review_is_read_back_and_an_unknown_one_is_refused(tmp_path: Path) -> None:
    from mlops_settings import Settings

    settings = Settings(state_dir=tmp_path)
    samples = [pending_sample(i) for i in range(2)]

    shown = fb.show(settings, fb.Pending(samples))

    assert fb.shown_review(settings, shown.review) == shown
    assert f"--review {shown.review} --accept" in fb.grid_path(settings, shown.review).read_text()
    with pytest.raises(fb.FeedbackError, match="no review 0123456789ab was shown here"):
        fb.shown_review(settings, "0123456789ab")
    with pytest.raises(fb.FeedbackError, match="is not a review id"):
        fb.shown_review(settings, "../../etc")


def test_counts_by_label_model_version_and_confusion() -> None:
    first = pending_sample(0)
    body = correction(IMAGES[1], 4, predicted=4, model_version=2)
    right = fb.parse_pending(f"feedback/pending/{sample_id(body)}.json", stored(body, BASE_TIME))
    pending = fb.Pending([first, right], [fb.Broken("feedback/pending/x.json", "not JSON")])

    summary = fb.counts(pending)

    assert summary.total == 2
    assert summary.by_label == dict(sorted(Counter([int(LABELS[0]), 4]).items()))
    assert summary.by_model_version == {1: 1, 2: 1}
    assert summary.confusions == {(first.predicted, first.label): 1}
    assert (summary.confirmed, summary.broken) == (1, 1)


def test_the_grid_shows_each_sample_with_its_index_labels_and_picture() -> None:
    samples = [pending_sample(i) for i in range(3)]
    page = fb.grid_html(fb.Pending(samples, [fb.Broken("feedback/pending/b.json", "not JSON")]))

    for index, sample in enumerate(samples):
        assert f'id="sample-{index}"' in page
        assert f"#{index}</div>" in page
        assert f"predicted {sample.predicted} &rarr; <strong>{sample.label}</strong>" in page
    assert "feedback/pending/b.json</code>: not JSON" in page
    picture = page.split('src="data:image/png;base64,', 1)[1].split('"', 1)[0]
    image = np.asarray(Image.open(io.BytesIO(base64.b64decode(picture))))
    assert image.shape == (112, 112)
    assert np.array_equal(image[::4, ::4], samples[0].pixels)  # the exact model input


def test_the_shard_holds_every_sample_in_order_and_the_mnist_files_are_copied(
    tmp_path: Path,
) -> None:
    latest = {
        "bucket": "b",
        "objects": [
            {"key": f"raw/mnist/v1/{name}", "sha256": f"{i}" * 64, "count": 10}
            for i, name in enumerate(
                [*data.SPLITS["train"], data.FEEDBACK_IMAGES, data.FEEDBACK_LABELS]
            )
        ],
    }

    files = fb._version_files(latest, tmp_path, IMAGES[:4], LABELS[:4])

    copied = {f.name: f.copy_from for f in files if f.copy_from}
    assert copied == {name: f"raw/mnist/v1/{name}" for name in data.SPLITS["train"]}
    shard = {f.name: f for f in files if not f.copy_from}
    assert sorted(shard) == sorted([data.FEEDBACK_IMAGES, data.FEEDBACK_LABELS])
    images = parse_idx(gzip.decompress(shard[data.FEEDBACK_IMAGES].path.read_bytes()))
    labels = parse_idx(gzip.decompress(shard[data.FEEDBACK_LABELS].path.read_bytes()))
    assert np.array_equal(images, IMAGES[:4])
    assert np.array_equal(labels, LABELS[:4])
    assert shard[data.FEEDBACK_IMAGES].count == 4
    # The same samples give the same bytes, so the same version id.
    (tmp_path / "again").mkdir()
    again = fb._version_files(latest, tmp_path / "again", IMAGES[:4], LABELS[:4])
    assert data.version_id(again) == data.version_id(files)


def test_received_at_is_the_lambdas_utc_time() -> None:
    assert datetime.fromisoformat(pending_sample().received_at) == BASE_TIME.astimezone(UTC)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("a\nb", "a control character"),
        ("Ann\tLee", "a control character"),
        ("x" * 101, "101 characters long; at most 100"),
    ],
)
def test_a_reviewer_name_that_would_break_the_records_is_refused(name: str, message: str) -> None:
    with pytest.raises(fb.FeedbackError) as caught:
        fb.check_reviewer(name)
    assert message in str(caught.value)


def test_a_reviewer_name_is_recorded_stripped() -> None:
    assert fb.check_reviewer("  Ann Lee  ") == "Ann Lee"
    assert fb.check_reviewer("x" * 100) == "x" * 100
