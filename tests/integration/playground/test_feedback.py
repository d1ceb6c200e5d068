"""`playground feedback list` and `review` against the emulator (contracts/feedback.md).

Pending samples are written by `support.pending_feedback` exactly as the contract stores them; the
review must turn accepted ones into a new dataset version (the MNIST files unchanged, the
feedback shard, the manifest last), delete rejected ones without copying their pixels
anywhere, and refuse bad input without changing anything.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from typer.testing import CliRunner

from mlops_settings import Settings
from pipelines.mnist.code.idx import parse_idx, read_pair, write_idx_gz
from playground import data
from playground import feedback as fb
from playground.cli import app
from support.pending_feedback import (
    BASE_TIME,
    correction,
    put_many,
    put_pending,
    real_digits,
    sample_id,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mnist"
cli = CliRunner()


def invoke(*args: str) -> Any:
    return cli.invoke(app, ["feedback", *args], env={"COLUMNS": "200"})


def text(result: Any) -> str:
    return " ".join(result.output.split())


def grid() -> str:
    """Show the grid as a reviewer does first (`feedback review`); its review id."""
    result = invoke("review")
    assert result.exit_code == 0, result.output
    return review_of(result)


def review_of(result: Any) -> str:
    found = re.search(r"review ([0-9a-f]{12}): grid of", result.output)
    assert found, result.output
    return found[1]


def decide(*args: str, review: str | None = None) -> Any:
    """Decide on the grid ``review`` (by default one shown just now) with these options."""
    return invoke("review", "--review", review or grid(), *args)


def bucket_state(settings: Settings) -> dict[str, str]:
    """Every object of the data bucket by key, with its ETag (what 'nothing changed' means)."""
    listing = boto3.client("s3").list_objects_v2(Bucket=settings.data_bucket)
    return {o["Key"]: o["ETag"] for o in listing.get("Contents", [])}


def read(settings: Settings, key: str) -> bytes:
    body: bytes = boto3.client("s3").get_object(Bucket=settings.data_bucket, Key=key)["Body"].read()
    return body


def seeded(settings: Settings) -> data.SeedResult:
    """The tiny slice (1,000 digits) as the latest dataset version."""
    return data.seed(settings, str(FIXTURES))


def pending_keys(settings: Settings) -> list[str]:
    return sorted(k for k in bucket_state(settings) if k.startswith(fb.PENDING_PREFIX))


def appears_outside_quarantine(settings: Settings, pixels: np.ndarray) -> list[str]:
    """Keys outside feedback/pending/ whose bytes (gunzipped too) hold these pixels, raw or
    as base64."""
    raw = np.ascontiguousarray(pixels, dtype=np.uint8).tobytes()
    encoded = base64.b64encode(raw)
    found = []
    for key in bucket_state(settings):
        if key.startswith(fb.PENDING_PREFIX):
            continue
        body = read(settings, key)
        if body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
        if raw in body or encoded in body:
            found.append(key)
    return found


@pytest.fixture
def six(emulator: Settings) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """A seeded dataset and six pending corrections, index i arriving i-th."""
    seeded(emulator)
    images, labels = real_digits(6)
    return images, labels, put_many(emulator.data_bucket, images, labels)


def test_list_counts_by_label_model_version_and_confusion(emulator: Settings) -> None:
    images, labels = real_digits(4)
    bodies = [
        correction(images[0], int(labels[0]), predicted=7, model_version=1),
        correction(images[1], int(labels[1]), predicted=7, model_version=2),
        correction(images[2], int(labels[2]), predicted=int(labels[2]), model_version=2),
    ]
    for body in bodies:
        put_pending(emulator.data_bucket, body)
    boto3.client("s3").put_object(
        Bucket=emulator.data_bucket, Key=f"{fb.PENDING_PREFIX}{'e' * 64}.json", Body=b"{}"
    )

    result = invoke("list")

    assert result.exit_code == 0, result.output
    said = text(result)
    assert "3 pending samples" in said
    assert "2 corrections, 1 confirmed right; 1 broken" in said
    by_label = said.split("by label", 1)[1].split("by model version", 1)[0]
    by_version = said.split("by model version", 1)[1].split("corrections:", 1)[0]
    confusions = said.split("corrections: predicted -> label", 1)[1]
    assert labels[:3].tolist() == [0, 1, 2]  # real_digits takes the digits in turn
    for row in ("│ 0 │ 1 │", "│ 1 │ 1 │", "│ 2 │ 1 │"):
        assert row in by_label
    assert "│ 1 │ 1 │" in by_version
    assert "│ 2 │ 2 │" in by_version
    assert "│ 7 │ 0 │ 1 │" in confusions  # predicted 7, the person said 0
    assert "│ 7 │ 1 │ 1 │" in confusions
    assert "│ 2 │ 2 │" not in confusions  # a confirmed "Right" is no confusion
    assert f"{'e' * 64}.json: missing member(s) pixels" in said


def test_list_says_when_nothing_is_pending(emulator: Settings) -> None:
    result = invoke("list")
    assert result.exit_code == 0, result.output
    assert "no pending feedback in s3://" in text(result)


def test_review_accepts_into_a_new_version_and_deletes_rejected_without_a_copy(
    emulator: Settings, six
) -> None:
    images, labels, bodies = six
    before = data.list_versions(emulator)
    ids = [sample_id(b) for b in bodies]

    shown = invoke("review")
    assert "grid of 6 pending samples:" in text(shown)
    review = review_of(shown)
    first = Path(text(shown).split("grid of 6 pending samples: ", 1)[1].split()[0])
    assert f"--review {review} --accept" in first.read_text()

    result = decide(
        "--accept", "0,2-3", "--reject", "1,5", "--reviewer", "Ada Lovelace", review=review
    )

    assert result.exit_code == 0, result.output
    said = text(result)
    assert f"decided on review {review}" in said
    left = re.search(r"1 sample still pending: review ([0-9a-f]{12}), grid (\S+)", said)
    assert left, said
    grid = Path(left[2])
    assert grid.is_file()
    # Afterwards the grid shows what is left (index 4, now #0); no decided sample's picture.
    page = grid.read_text()
    assert 'id="sample-0"' in page
    assert 'id="sample-1"' not in page
    assert f"<code>{ids[4][:12]}</code>" in page
    versions = data.list_versions(emulator)
    assert len(versions) == 2
    new = versions[-1]
    assert new.latest
    assert f"dataset version {new.version} created with 3 feedback samples" in said
    manifest = json.loads(read(emulator, new.manifest_key))
    assert manifest["feedback"]["reviewer"] == "Ada Lovelace"
    assert manifest["feedback"]["accepted"] == [ids[0], ids[2], ids[3]]
    assert manifest["feedback"]["ids"] == [ids[0], ids[2], ids[3]]
    assert manifest["source"] == "feedback review by Ada Lovelace"
    # The MNIST files are the previous version's bytes; the shard holds exactly the accepted.
    previous = {o["key"].rsplit("/", 1)[1]: o["sha256"] for o in before[0].objects}
    current = {o["key"].rsplit("/", 1)[1]: o for o in manifest["objects"]}
    assert {n: current[n]["sha256"] for n in previous} == previous
    assert all(o["key"].startswith(f"raw/mnist/{new.version}/") for o in manifest["objects"])
    shard_images = parse_idx(gzip.decompress(read(emulator, current[data.FEEDBACK_IMAGES]["key"])))
    shard_labels = parse_idx(gzip.decompress(read(emulator, current[data.FEEDBACK_LABELS]["key"])))
    assert np.array_equal(shard_images, images[[0, 2, 3]])
    assert shard_labels.tolist() == labels[[0, 2, 3]].tolist()
    assert new.feedback_count == 3
    assert new.digits == 1_000 + 3
    # latest.json is the new manifest: the run its event starts trains on it.
    assert read(emulator, "raw/mnist/latest.json") == read(emulator, new.manifest_key)
    # Pending: only the undecided index 4 is left.
    assert pending_keys(emulator) == [f"{fb.PENDING_PREFIX}{ids[4]}.json"]
    # Rejected pixels went nowhere; the record holds ids only.
    for index in (1, 5):
        assert appears_outside_quarantine(emulator, images[index]) == []
    [record_key] = [k for k in bucket_state(emulator) if k.startswith(fb.REVIEWS_PREFIX)]
    record = json.loads(read(emulator, record_key))
    assert record == {
        "review": review,
        "reviewer": "Ada Lovelace",
        "reviewed_at": record["reviewed_at"],
        "accepted": [ids[0], ids[2], ids[3]],
        "rejected": [ids[1], ids[5]],
        "broken": [],
        "dataset_version": new.version,
        "arrived_after": [],
    }
    assert record_key == f"{fb.REVIEWS_PREFIX}{record['reviewed_at']}.json"

    listed = cli.invoke(app, ["data", "ls"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    assert "3 (+3)" in listed.output


def test_a_second_review_keeps_the_earlier_shard_and_adds_each_id_once(
    emulator: Settings, six
) -> None:
    images, _, bodies = six
    ids = [sample_id(b) for b in bodies]
    assert decide("--accept", "0,1", "--reviewer", "Ada").exit_code == 0

    result = decide("--accept-all", "--reviewer", "Grace")

    assert result.exit_code == 0, result.output
    newest = data.list_versions(emulator)[-1]
    assert newest.feedback["ids"] == ids  # 0, 1 from the first review, then 2-5
    assert newest.feedback["accepted"] == ids[2:]
    assert newest.feedback["reviewer"] == "Grace"
    key = next(o["key"] for o in newest.objects if o["key"].endswith(data.FEEDBACK_IMAGES))
    assert np.array_equal(parse_idx(gzip.decompress(read(emulator, key))), images)
    assert pending_keys(emulator) == []
    assert "6 (+4)" in cli.invoke(app, ["data", "ls"], env={"COLUMNS": "200"}).output


def test_a_review_stopped_before_its_deletes_loses_nothing_and_finishes_when_repeated(
    emulator: Settings, six, monkeypatch: pytest.MonkeyPatch
) -> None:
    images, _, bodies = six
    ids = [sample_id(b) for b in bodies]
    real_s3 = fb._s3

    class StoppedError(RuntimeError):
        pass

    def s3(settings: Settings) -> Any:
        made = real_s3(settings)
        delete = made.delete_object

        def crash(**request: Any) -> Any:
            if request["Key"].startswith(fb.PENDING_PREFIX):
                raise StoppedError("the machine went down")
            return delete(**request)  # the lock is released as on any exception

        made.delete_object = crash
        return made

    review = grid()
    monkeypatch.setattr(fb, "_s3", s3)
    with pytest.raises(StoppedError):
        fb.decide_review(
            emulator,
            fb.shown_review(emulator, review),
            fb.Choice(accept="0,1", reject="2"),
            "Ada",
        )
    monkeypatch.setattr(fb, "_s3", real_s3)

    # The version holds the accepted samples; the rejected pixels are still only pending.
    first = data.list_versions(emulator)[-1]
    assert first.feedback["ids"] == ids[:2]
    assert appears_outside_quarantine(emulator, images[2]) == []
    assert len(pending_keys(emulator)) == 6

    again = decide("--accept", "0,1", "--reject", "2", "--reviewer", "Ada", review=review)

    assert again.exit_code == 0, again.output
    assert "2 accepted samples were already in the latest shard" in text(again)
    assert f"dataset version {first.version} already held these samples" in text(again)
    assert [v.version for v in data.list_versions(emulator)][-1] == first.version
    assert len(data.list_versions(emulator)) == 2
    assert pending_keys(emulator) == sorted(f"{fb.PENDING_PREFIX}{i}.json" for i in ids[3:])
    assert appears_outside_quarantine(emulator, images[2]) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--accept", "0,6"), "index 6 is out of range; there are 6 pending samples (0-5)"),
        (("--accept", "0-2", "--reject", "2"), "indexes both accepted and rejected: 2"),
        (("--accept", "x"), "'x' is not an index or a range"),
        (("--accept-all", "--reject", "1"), "--accept-all decides on every sample"),
        (("--accept", "1", "--reviewer", " "), "--reviewer is empty"),
    ],
)
def test_bad_choices_are_refused_and_change_nothing(
    emulator: Settings, six, args: tuple[str, ...], message: str
) -> None:
    before = bucket_state(emulator)
    reviewer = () if "--reviewer" in args else ("--reviewer", "Ada")

    result = decide(*args, *reviewer)

    assert result.exit_code == 2
    assert message in text(result)
    assert bucket_state(emulator) == before


def test_accepted_samples_with_the_same_pixels_are_refused(emulator: Settings) -> None:
    seeded(emulator)
    images, labels = real_digits(2)
    put_pending(emulator.data_bucket, correction(images[0], int(labels[0]), predicted=1))
    put_pending(emulator.data_bucket, correction(images[0], int(labels[0]), predicted=2))
    put_pending(emulator.data_bucket, correction(images[1], int(labels[1])))
    before = bucket_state(emulator)

    result = decide("--accept-all", "--reviewer", "Ada")

    assert result.exit_code == 2
    assert "has the same pixels as index" in text(result)
    assert "reject one of them" in text(result)
    assert bucket_state(emulator) == before


def test_nothing_pending_no_dataset_or_a_broken_object_is_refused(emulator: Settings) -> None:
    result = decide("--accept-all", "--reviewer", "Ada")
    assert result.exit_code == 2
    assert "no pending feedback to review" in text(result)

    images, labels = real_digits(2)
    put_many(emulator.data_bucket, images, labels)
    before = bucket_state(emulator)
    result = decide("--accept-all", "--reviewer", "Ada")
    assert result.exit_code == 2
    assert "no dataset version to add the feedback to" in text(result)
    assert bucket_state(emulator) == before

    seeded(emulator)
    broken = f"{fb.PENDING_PREFIX}{'0' * 64}.json"
    boto3.client("s3").put_object(Bucket=emulator.data_bucket, Key=broken, Body=b"not json")
    before = bucket_state(emulator)
    result = decide("--accept-all", "--reviewer", "Ada")
    assert result.exit_code == 2
    assert f"{broken}: the body is not valid JSON" in text(result)
    assert "delete them with --reject-broken" in text(result)
    assert bucket_state(emulator) == before

    result = decide("--reject-broken", "--reject", "1", "--reviewer", "Ada")
    assert result.exit_code == 0, result.output
    assert f"deleted broken s3://{emulator.data_bucket}/{broken}" in text(result)
    assert pending_keys(emulator) == [
        f"{fb.PENDING_PREFIX}{sample_id(correction(images[0], int(labels[0])))}.json"
    ]
    [record] = [k for k in bucket_state(emulator) if k.startswith(fb.REVIEWS_PREFIX)]
    assert json.loads(read(emulator, record))["broken"] == [broken]


def test_the_reviewer_comes_from_git_when_not_given_and_is_required(
    emulator: Settings, six, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no repository config
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    before = bucket_state(emulator)

    review = grid()
    missing = decide("--accept", "0", review=review)

    assert missing.exit_code == 2
    assert "who is reviewing? give --reviewer NAME" in text(missing)
    assert bucket_state(emulator) == before

    (tmp_path / "gitconfig").write_text("[user]\n\tname = Katherine Johnson\n")
    named = decide("--accept", "0", review=review)

    assert named.exit_code == 0, named.output
    assert "reviewer: Katherine Johnson (from git config user.name" in text(named)
    assert data.list_versions(emulator)[-1].feedback["reviewer"] == "Katherine Johnson"


def test_review_without_a_choice_writes_the_grid_and_changes_nothing(
    emulator: Settings, six
) -> None:
    before = bucket_state(emulator)

    result = invoke("review")

    assert result.exit_code == 0, result.output
    assert "grid of 6 pending samples" in text(result)
    review = review_of(result)
    assert (
        f"decide with: playground feedback review --review {review} --accept 0,2-5 --reject 1"
        in (text(result))
    )
    assert bucket_state(emulator) == before
    # A decision that does not name the grid it was made on is refused.
    unnamed = invoke("review", "--accept", "0", "--reviewer", "Ada")
    assert unnamed.exit_code == 2
    assert "a decision names the grid it was made on: give --review ID" in text(unnamed)
    unknown = invoke("review", "--review", "0123456789ab", "--accept", "0", "--reviewer", "Ada")
    assert unknown.exit_code == 2
    assert "no review 0123456789ab was shown here" in text(unknown)
    assert bucket_state(emulator) == before


def test_a_shard_that_prepare_would_read_is_standard_idx(
    emulator: Settings, tmp_path: Path
) -> None:
    """The shard's files are what `data seed` itself accepts (the same checks)."""
    seeded(emulator)
    images, labels = real_digits(5)
    put_many(emulator.data_bucket, images, labels)
    assert decide("--accept-all", "--reviewer", "Ada").exit_code == 0
    newest = data.list_versions(emulator)[-1]
    folder = tmp_path / "shard"
    folder.mkdir()
    for item in newest.objects:
        name = item["key"].rsplit("/", 1)[1]
        (folder / name).write_bytes(read(emulator, item["key"]))
    # Read back with the same IDX checks `data seed` applies to MNIST files.
    from pipelines.mnist.code.idx import read_pair

    pair = read_pair(folder / data.FEEDBACK_IMAGES, folder / data.FEEDBACK_LABELS)
    assert pair.images.shape == (5, 28, 28)
    write_idx_gz(pair.images, tmp_path / "again.gz")
    assert (tmp_path / "again.gz").read_bytes() == (folder / data.FEEDBACK_IMAGES).read_bytes()


def test_a_review_starts_exactly_one_execution_through_the_normal_trigger(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from support.live_emulator import echo_pipeline, live_stack, settle

    with live_stack(monkeypatch, tmp_path) as live:
        echo_pipeline(live, {"Epochs": "1"})
        seeded(live)
        settle(live, 1)
        images, labels = real_digits(3)
        put_many(live.data_bucket, images, labels)

        result = decide("--accept", "0,1", "--reject", "2", "--reviewer", "Ada")

        assert result.exit_code == 0, result.output
        newest = data.list_versions(live)[-1]
        found = settle(live, 2)
        assert len(found) == 2  # the seed's and the review's, nothing more
        started = [e for e in found if newest.manifest_key in e["PipelineExecutionDescription"]]
        assert len(started) == 1
        assert "new-dataset-version" in started[0]["PipelineExecutionDescription"]
        # The pending objects and the review record start nothing.
        assert pending_keys(live) == []
        assert len(settle(live, 2)) == 2


def test_in_a_terminal_the_review_asks_what_to_accept_and_reject(
    emulator: Settings, six, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playground.commands import feedback as command

    _, _, bodies = six
    monkeypatch.setattr(command, "interactive", lambda: True)  # as if a person sat there

    result = cli.invoke(
        app,
        ["feedback", "review", "--reviewer", "Ada"],
        input="0,1\nrest\ny\n",
        env={"COLUMNS": "200"},
    )

    assert result.exit_code == 0, result.output
    assert "accept 2, reject 4, keep 0 pending: go ahead?" in text(result)
    assert data.list_versions(emulator)[-1].feedback["accepted"] == [
        sample_id(b) for b in bodies[:2]
    ]
    assert pending_keys(emulator) == []


def test_in_a_terminal_saying_no_changes_nothing(
    emulator: Settings, six, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playground.commands import feedback as command

    monkeypatch.setattr(command, "interactive", lambda: True)
    before = bucket_state(emulator)

    result = cli.invoke(
        app, ["feedback", "review", "--reviewer", "Ada"], input="all\n\nn\n", env={"COLUMNS": "200"}
    )

    assert result.exit_code == 1  # typer's abort
    assert "accept 6, reject 0, keep 0 pending: go ahead?" in text(result)
    assert bucket_state(emulator) == before


def test_new_mnist_files_carry_the_reviewed_shard_forward(
    emulator: Settings, six, tmp_path: Path
) -> None:
    """A `data seed` after a review keeps people's corrections in training."""
    _, _, bodies = six
    assert decide("--accept", "0,1", "--reject-rest", "--reviewer", "Ada").exit_code == 0
    reviewed = data.list_versions(emulator)[-1]
    mnist = read_pair(
        FIXTURES / "train-images-idx3-ubyte.gz", FIXTURES / "train-labels-idx1-ubyte.gz"
    )
    folder = tmp_path / "smaller"
    folder.mkdir()
    write_idx_gz(mnist.images[:900], folder / "train-images-idx3-ubyte.gz")
    write_idx_gz(mnist.labels[:900], folder / "train-labels-idx1-ubyte.gz")

    said = cli.invoke(app, ["data", "seed", "--source", str(folder)], env={"COLUMNS": "200"})

    assert said.exit_code == 0, said.output
    assert "kept people's reviewed corrections" in said.output
    result = data.seed(emulator, str(folder))  # the same files again: the same version
    assert not result.created
    newest = data.list_versions(emulator)[-1]
    assert newest.version == result.version != reviewed.version
    assert newest.feedback == {
        "ids": [sample_id(b) for b in bodies[:2]],
        "accepted": [],
        "carried_from": reviewed.version,
    }

    def shard(version: data.DatasetVersion) -> list[tuple[str, str]]:
        return sorted(
            (o["key"].rsplit("/", 1)[-1], o["sha256"])
            for o in version.objects
            if "/feedback-" in o["key"]
        )

    assert shard(newest) == shard(reviewed) != []
    assert newest.digits == 900 + 2
    assert "2 (+0)" in cli.invoke(app, ["data", "ls"], env={"COLUMNS": "200"}).output
    # The reviewed version's MNIST files seeded again are that same version: nothing starts.
    again = data.seed(emulator, str(FIXTURES))
    assert (again.version, again.created) == (reviewed.version, False)


def newcomer_before(first_id: str) -> dict[str, Any]:
    """A correction posted in the same second as the grid's #0 whose id sorts before it.

    Ordered by (received_at in seconds, id) alone it would take index 0 of the next listing:
    the picture a reviewer already looked at under #0 would be another one.
    """
    images, labels = real_digits(12, skip=320)
    for image, label in zip(images, labels, strict=True):
        for predicted in range(10):
            if predicted == int(label):
                continue
            body = correction(image, int(label), predicted=predicted)
            if sample_id(body) < first_id:
                return body
    raise AssertionError("no candidate sorts before the first sample")  # 108 tries: never


def shard_ids(settings: Settings) -> list[str]:
    """The feedback ids of every dataset version, all together."""
    return [i for v in data.list_versions(settings) for i in (v.feedback or {}).get("ids", [])]


def test_a_sample_posted_after_the_grid_is_never_accepted_by_that_review(
    emulator: Settings, six
) -> None:
    _, _, bodies = six
    ids = [sample_id(b) for b in bodies]
    review = grid()
    late = newcomer_before(ids[0])
    late_id = put_pending(emulator.data_bucket, late, BASE_TIME)
    late_pixels = np.frombuffer(base64.b64decode(late["pixels"]), np.uint8).reshape(28, 28)

    first = decide("--accept", "0", "--reviewer", "Ada", review=review)

    assert first.exit_code == 0, first.output
    assert f"accepted #0 {ids[0][:12]}" in text(first)
    assert data.list_versions(emulator)[-1].feedback["accepted"] == [ids[0]]
    assert (
        "1 sample arrived after this grid was shown and stays pending: this review did not "
        "decide on it"
    ) in text(first)

    rest = decide("--accept-all", "--reviewer", "Ada", review=review)

    assert rest.exit_code == 0, rest.output
    said = text(rest)
    # The same review decided #0 a moment ago: no other review is involved.
    assert "1 sample of this review (#0) had been decided already by an earlier decision" in said
    assert "another review" not in said
    again = decide("--accept", "1", "--reviewer", "Ada", review=review)
    assert again.exit_code == 2
    assert "this review decided on it already" in text(again)
    assert "another review" not in text(again)
    assert "1 sample arrived after this grid was shown and stays pending" in said
    assert data.list_versions(emulator)[-1].feedback["ids"] == ids
    assert late_id not in shard_ids(emulator)
    assert appears_outside_quarantine(emulator, late_pixels) == []
    assert pending_keys(emulator) == [f"{fb.PENDING_PREFIX}{late_id}.json"]
    records = [
        json.loads(read(emulator, k))
        for k in bucket_state(emulator)
        if k.startswith(fb.REVIEWS_PREFIX)
    ]
    assert [r["review"] for r in records] == [review, review]
    assert all(r["arrived_after"] == [late_id] for r in records)
    # The next grid shows it, under its own review id.
    assert "1 sample still pending: review" in said
    assert review_of(invoke("review")) != review


def test_in_a_terminal_a_sample_arriving_while_the_person_decides_stays_pending(
    emulator: Settings, six, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playground.commands import feedback as command

    _, _, bodies = six
    ids = [sample_id(b) for b in bodies]
    late = newcomer_before(ids[0])
    asked = command._prompted

    def meanwhile(shown: fb.ShownReview) -> Any:
        put_pending(emulator.data_bucket, late, BASE_TIME)  # while the person looks
        return asked(shown)

    monkeypatch.setattr(command, "interactive", lambda: True)
    monkeypatch.setattr(command, "_prompted", meanwhile)

    result = cli.invoke(
        app,
        ["feedback", "review", "--reviewer", "Ada"],
        input="all\n\ny\n",
        env={"COLUMNS": "200"},
    )

    assert result.exit_code == 0, result.output
    assert "accept 6, reject 0, keep 0 pending: go ahead?" in text(result)
    assert data.list_versions(emulator)[-1].feedback["ids"] == ids
    assert pending_keys(emulator) == [f"{fb.PENDING_PREFIX}{sample_id(late)}.json"]
    assert "1 sample arrived after this grid was shown and stays pending" in text(result)


def run_cli(folder: Path, name: str, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
    """`playground feedback review ARGS` in its own process, as a second person would run it."""
    out = folder / f"{name}.out"
    command = [str(Path(sys.executable).with_name("playground")), "feedback", "review", *args]
    with out.open("wb") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "200"}
        )
    return process, out


def wait_for(out: Path, line: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while line not in " ".join(out.read_text().split()):
        assert process.poll() is None, out.read_text()
        assert time.monotonic() < deadline, out.read_text()
        time.sleep(0.2)


def two_reviewers_at_once(
    settings: Settings, tmp_path: Path, ada: tuple[str, ...], grace: tuple[str, ...]
) -> dict[str, tuple[int, str]]:
    """Ada and Grace decide on the same grid at the same moment: both wait on a lock this
    test holds, then go when it is released. Each one's exit code and output."""
    review = grid()
    runs = {}
    with fb.review_lock(settings, "000000000000", "Holder", notify=lambda _: None):
        for name, args in (("Ada", ada), ("Grace", grace)):
            runs[name] = run_cli(tmp_path, name, "--review", review, *args, "--reviewer", name)
        for process, out in runs.values():
            wait_for(out, "waiting for the review by Holder", process)
    said = {}
    for name, (process, out) in runs.items():
        process.wait(timeout=300)
        said[name] = (process.returncode, " ".join(out.read_text().split()))
    assert fb.REVIEW_LOCK_KEY not in bucket_state(settings)
    return said


def test_two_reviewers_deciding_at_once_both_count(emulator: Settings, six, tmp_path: Path) -> None:
    _, _, bodies = six
    ids = [sample_id(b) for b in bodies]

    said = two_reviewers_at_once(
        emulator, tmp_path, ("--accept", "0,1"), ("--accept", "3", "--reject", "2")
    )

    assert said["Ada"][0] == 0, said["Ada"][1]
    assert said["Grace"][0] == 0, said["Grace"][1]
    newest = data.list_versions(emulator)[-1]
    # Neither version was built on a latest the other had replaced: no accepted sample lost.
    assert sorted(newest.feedback["ids"]) == sorted([ids[0], ids[1], ids[3]])
    assert pending_keys(emulator) == sorted(f"{fb.PENDING_PREFIX}{i}.json" for i in ids[4:])
    records = [k for k in bucket_state(emulator) if k.startswith(fb.REVIEWS_PREFIX)]
    assert len(records) == 2


def test_two_reviewers_deciding_one_sample_at_once_decide_it_once(
    emulator: Settings, six, tmp_path: Path
) -> None:
    _, _, bodies = six
    first = sample_id(bodies[0])

    said = two_reviewers_at_once(emulator, tmp_path, ("--accept", "0"), ("--reject", "0"))

    codes = sorted(code for code, _ in said.values())
    assert codes == [0, 2], said
    loser = next(out for code, out in said.values() if code == 2)
    # Both decided on the same grid: the one who came second is told who decided it, not
    # that another review did.
    winner = "Ada" if said["Ada"][0] == 0 else "Grace"
    assert f"is no longer pending: this review decided on it already (by {winner} at" in loser
    assert "nothing was changed" in loser
    accepted = said["Ada"][0] == 0
    assert (first in shard_ids(emulator)) is accepted
    assert f"{fb.PENDING_PREFIX}{first}.json" not in pending_keys(emulator)
    records = [k for k in bucket_state(emulator) if k.startswith(fb.REVIEWS_PREFIX)]
    assert len(records) == 1


def test_a_lock_left_by_a_stopped_review_is_taken_over_with_a_warning(
    emulator: Settings, six
) -> None:
    stale = {
        "review": "aaaaaaaaaaaa",
        "reviewer": "Zed",
        "since": "2026-01-01T00:00:00Z",
        "lease_seconds": fb.LOCK_LEASE_S,
    }
    boto3.client("s3").put_object(
        Bucket=emulator.data_bucket, Key=fb.REVIEW_LOCK_KEY, Body=json.dumps(stale).encode()
    )

    result = decide("--accept", "0", "--reviewer", "Ada")

    assert result.exit_code == 0, result.output
    assert "took over the review lock left by Zed (review aaaaaaaaaaaa" in text(result)
    assert fb.REVIEW_LOCK_KEY not in bucket_state(emulator)
    assert len(data.list_versions(emulator)) == 2
