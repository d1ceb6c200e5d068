"""The emulator's history stays cheap: snapshots, blobs and compaction keep every write.

Each test drives a real emulator process through boto3 and stops it the way a user's machine
would: a clean stop, or kill -9 (also in the middle of a compaction).
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
from typing import Any

import pytest

from localaws import snapshot
from mlops_settings import Settings
from playground import lambda_functions, roles, stack
from support.emulator_process import client, kill_9

BIG = 100 * 1024  # above the blob threshold, like model files and step outputs


def body(tag: str, size: int = BIG) -> bytes:
    seed = hashlib.sha256(tag.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


def write_history(settings: Settings) -> dict[str, Any]:
    """Objects overwritten and deleted, a model package, an IAM role; what a reader sees."""
    s3 = client(settings, "s3")
    bucket = settings.data_bucket
    for version in range(3):
        s3.put_object(Bucket=bucket, Key="model/latest.onnx", Body=body(f"latest-{version}"))
    s3.put_object(Bucket=bucket, Key="tmp/scratch.bin", Body=body("scratch"))
    s3.delete_object(Bucket=bucket, Key="tmp/scratch.bin")
    s3.put_object(Bucket=bucket, Key="small.txt", Body=b"small")
    s3.put_object(Bucket=bucket, Key="copy-source.bin", Body=body("source"))
    s3.copy_object(Bucket=bucket, Key="copied.bin", CopySource=f"{bucket}/copy-source.bin")
    s3.put_object(Bucket=bucket, Key="copy-source.bin", Body=body("source-2"))
    sagemaker = client(settings, "sagemaker")
    arn = sagemaker.create_model_package(
        ModelPackageGroupName=settings.model_package_group,
        ModelApprovalStatus="Approved",
        CustomerMetadataProperties={"sha256": "ab" * 32},
        InferenceSpecification={
            "Containers": [{"Image": "img", "ModelDataUrl": f"s3://{bucket}/model/model.tar.gz"}],
            "SupportedContentTypes": ["application/octet-stream"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )["ModelPackageArn"]
    client(settings, "iam").create_role(
        RoleName="history-role", AssumeRolePolicyDocument='{"Version": "2012-10-17"}'
    )
    return seen(settings) | {"arn": arn}


def seen(settings: Settings) -> dict[str, Any]:
    """Everything a reader can observe: bytes, ETags, times, ARNs, ids."""
    s3 = client(settings, "s3")
    bucket = settings.data_bucket
    objects = {
        o["Key"]: (
            o["ETag"],
            o["LastModified"],
            s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read(),
        )
        for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    }
    sagemaker = client(settings, "sagemaker")
    packages = [
        sagemaker.describe_model_package(ModelPackageName=p["ModelPackageArn"])
        for p in sagemaker.list_model_packages(ModelPackageGroupName=settings.model_package_group)[
            "ModelPackageSummaryList"
        ]
    ]
    roles = [
        (r["RoleName"], r["RoleId"], r["CreateDate"])
        for r in client(settings, "iam").list_roles()["Roles"]
    ]
    return {
        "objects": objects,
        "packages": [
            (p["ModelPackageArn"], p["CreationTime"], p["CustomerMetadataProperties"])
            for p in packages
        ],
        "roles": roles,
    }


def journal_lines(settings: Settings) -> list[str]:
    return stack.StackPaths.of(settings).journal.read_text().splitlines()


def replayed(settings: Settings) -> list[int]:
    log = (stack.StackPaths.of(settings).root / "emulator.log").read_text()
    return [int(n) for n in re.findall(r"replayed (\d+) journal entries", log)]


def test_superseded_writes_are_found_and_nothing_else() -> None:
    def entry(method: str, path: str, query: str = "", **headers: str) -> dict[str, Any]:
        auth = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request"
        return {
            "method": method,
            "path": path,
            "query": query,
            "headers": {"Authorization": auth, **headers},
        }

    entries = [
        entry("PUT", "/b/a"),  # 0 overwritten by 1
        entry("PUT", "/b/a"),  # 1 live
        entry("PUT", "/b/gone"),  # 2 deleted by 3, which then has nothing to delete
        entry("DELETE", "/b/gone"),  # 3
        entry("PUT", "/b/src"),  # 4 read by the copy 5: kept
        entry("PUT", "/b/dst", **{"X-Amz-Copy-Source": "b/src"}),  # 5
        entry("PUT", "/b/src"),  # 6 live
        entry("PUT", "/v", "versioning"),  # 7 bucket v keeps every version
        entry("PUT", "/v/k"),  # 8
        entry("PUT", "/v/k"),  # 9
        entry("PUT", "/b/t"),  # 10 tagged by 11: kept
        entry("PUT", "/b/t", "tagging"),  # 11
        entry("PUT", "/b/t"),  # 12 live
        {"method": "POST", "path": "/", "query": "", "headers": {"X-Amz-Target": "SageMaker.X"}},
    ]
    for seq, item in enumerate(entries, start=1):
        item["seq"] = seq
    assert snapshot.superseded(entries) == {0, 2, 3}
    # A snapshot taken between the PUT (seq 3) and its DELETE (seq 4) holds the object: the
    # PUT may go, the DELETE must stay.
    assert snapshot.superseded(entries, snapshot_seq=3) == {0, 2}


def test_delete_after_a_snapshot_of_the_object_survives_compaction(local: Settings) -> None:
    stack.start(local)
    s3 = client(local, "s3")
    s3.put_object(Bucket=local.data_bucket, Key="doomed.bin", Body=body("doomed"))
    stack.stop(local)  # the snapshot holds doomed.bin
    stack.start(local)
    s3.delete_object(Bucket=local.data_bucket, Key="doomed.bin")
    kill_9(local)  # the delete is only in the journal; the next start compacts
    stack.start(local)
    assert s3.list_objects_v2(Bucket=local.data_bucket).get("KeyCount") == 0


def test_restart_after_a_clean_stop_restores_the_snapshot_exactly(local: Settings) -> None:
    stack.start(local)
    # The roles and functions `make up` creates with IAM enforcement on are in the snapshot.
    roles.install(local, client(local, "iam"))
    lambda_functions.install(local, client(local, "lambda"))
    before = write_history(local)
    stack.stop(local)  # SIGTERM: the emulator writes a snapshot before it exits
    assert stack.StackPaths.of(local).root.joinpath(snapshot.SNAPSHOT_NAME).exists()
    stack.start(local)
    assert replayed(local)[-1] == 0
    assert seen(local) | {"arn": before["arn"]} == before
    # Lambda functions (moto indexes them in weak and lambda-made dictionaries) come back too.
    policy = client(local, "lambda").get_policy(FunctionName=f"{local.name_prefix}-feedback")
    assert '"public-function-url-invoke"' in policy["Policy"]
    # Objects whose bodies the snapshot left in blobs can be copied, overwritten, deleted.
    s3, bucket = client(local, "s3"), local.data_bucket
    s3.copy_object(Bucket=bucket, Key="model/copy.onnx", CopySource=f"{bucket}/model/latest.onnx")
    assert s3.get_object(Bucket=bucket, Key="model/copy.onnx")["Body"].read() == body("latest-2")
    s3.put_object(Bucket=bucket, Key="copied.bin", Body=b"overwritten")
    assert s3.get_object(Bucket=bucket, Key="copied.bin")["Body"].read() == b"overwritten"
    s3.delete_object(Bucket=bucket, Key="model/copy.onnx")
    s3.put_object(Bucket=bucket, Key="copied.bin", Body=body("source"))  # back as it was
    before = seen(local) | {"arn": before["arn"]}
    # Without the snapshot the whole journal gives back the very same state.
    stack.stop(local)
    stack.StackPaths.of(local).root.joinpath(snapshot.SNAPSHOT_NAME).unlink()
    stack.start(local)
    assert replayed(local)[-1] > 0
    assert seen(local) | {"arn": before["arn"]} == before


def test_large_bodies_live_in_blobs_not_in_the_journal(local: Settings) -> None:
    stack.start(local)
    journal = stack.StackPaths.of(local).journal
    bootstrapped = journal.stat().st_size  # what `make up` creates: buckets, roles, functions
    client(local, "s3").put_object(Bucket=local.data_bucket, Key="big", Body=body("big"))
    assert journal.stat().st_size - bootstrapped < 20_000
    digest = hashlib.sha256(body("big")).hexdigest()
    assert (journal.parent / "blobs" / digest[:2] / digest).read_bytes() == body("big")


def test_compaction_shrinks_the_journal_and_keeps_state(local: Settings) -> None:
    stack.start(local)
    before = write_history(local)
    lines_before = len(journal_lines(local))
    blobs_before = len(list((stack.StackPaths.of(local).root / "blobs").glob("*/*")))
    kill_9(local)  # no snapshot: the next start compacts and replays
    stack.start(local)
    assert seen(local) | {"arn": before["arn"]} == before
    # Two overwritten PUTs, a PUT and its DELETE: four entries and three blobs fewer.
    assert len(journal_lines(local)) == lines_before - 4
    assert len(list((stack.StackPaths.of(local).root / "blobs").glob("*/*"))) == blobs_before - 3
    # New writes after a compaction append and survive as before.
    client(local, "s3").put_object(Bucket=local.data_bucket, Key="after", Body=b"after")
    kill_9(local)
    stack.start(local)
    got = client(local, "s3").get_object(Bucket=local.data_bucket, Key="after")["Body"].read()
    assert got == b"after"


@pytest.mark.parametrize("stage", ["blobs", "renamed"])
def test_kill_9_during_compaction_loses_nothing(local: Settings, stage: str) -> None:
    stack.start(local)
    before = write_history(local)
    kill_9(local)
    paths = stack.StackPaths.of(local)
    # Start the emulator by hand with the pause hook, and kill it where compaction stops.
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "localaws.emulator",
            "--port",
            str(local.emulator_port),
            "--state-dir",
            str(paths.root),
        ],
        env={**os.environ, snapshot.PAUSE_VARIABLE: stage},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    marker = paths.root / f"compaction-paused-{stage}"
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline:
        assert process.poll() is None
        time.sleep(0.05)
    assert marker.exists()
    process.kill()
    process.wait(timeout=10)
    stack.start(local)
    assert seen(local) | {"arn": before["arn"]} == before


def test_kill_9_between_snapshots_replays_only_the_tail(local: Settings) -> None:
    stack.start(local)
    s3 = client(local, "s3")
    for i in range(70):  # more than one snapshot interval
        s3.put_object(Bucket=local.data_bucket, Key=f"obj-{i:03d}", Body=body(str(i), 9000))
    deadline = time.monotonic() + 20
    snapshot_file = stack.StackPaths.of(local).root / snapshot.SNAPSHOT_NAME
    while not snapshot_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert snapshot_file.exists()
    kill_9(local)
    stack.start(local)
    assert replayed(local)[-1] < 64
    listed = s3.list_objects_v2(Bucket=local.data_bucket)["Contents"]
    assert len(listed) == 70
    assert s3.get_object(Bucket=local.data_bucket, Key="obj-042")["Body"].read() == body("42", 9000)


def test_restart_time_does_not_grow_with_history(local: Settings) -> None:
    stack.start(local)
    s3 = client(local, "s3")

    def history(runs: int, first: int) -> None:
        for run in range(first, first + runs):
            for step in range(10):
                key = f"runs/{run}/step-{step}.bin"
                s3.put_object(Bucket=local.data_bucket, Key=key, Body=body(key, 50_000))

    def restart() -> float:
        stack.stop(local)
        started = time.monotonic()
        stack.start(local)
        return time.monotonic() - started

    history(2, 0)
    short = restart()
    history(30, 2)
    long = restart()
    assert replayed(local)[-1] == 0
    # Thirty runs of history may not cost 2 s more than two (measured: about 0.1 s more).
    assert long < short + 2.0, (short, long)
