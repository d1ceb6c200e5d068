"""A restart gives back every object, also after a multipart upload, a kill -9 or an upgrade.

boto3's default transfer switches to a multipart upload at 8 MB (the full MNIST image file is
9.9 MB); moto makes UploadIds from `os.urandom`, so before this the journal could not be
replayed after such an upload. Each test drives a real emulator process and stops it the way
a user's machine does.
"""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import boto3

from localaws import snapshot
from mlops_settings import Settings
from playground import stack
from support.emulator_process import client, kill_9

SIZE = 9 * 1024 * 1024  # above boto3's 8 MB multipart threshold


def s3_client(settings: Settings) -> Any:
    return client(settings, "s3")


def payload(size: int = SIZE) -> bytes:
    block = hashlib.sha256(b"mnist-images").digest() * 4096
    return (block * (size // len(block) + 1))[:size]


def upload(settings: Settings, key: str = "raw/train-images.gz") -> bytes:
    """9 MB through boto3's default managed transfer, which makes it a multipart upload."""
    data = payload()
    s3_client(settings).upload_fileobj(io.BytesIO(data), settings.data_bucket, key)
    journal = stack.StackPaths.of(settings).journal.read_text()
    assert "uploadId=" in journal  # it really was multipart
    return data


def read(settings: Settings, key: str = "raw/train-images.gz") -> bytes:
    answer = s3_client(settings).get_object(Bucket=settings.data_bucket, Key=key)
    body: bytes = answer["Body"].read()
    return body


def set_snapshot_aside(settings: Settings) -> None:
    """What an upgrade of moto, botocore or Python does: the snapshot is not used."""
    path = stack.StackPaths.of(settings).root / snapshot.SNAPSHOT_NAME
    if path.exists():
        path.rename(path.with_suffix(".set-aside"))


def history(settings: Settings, runs: int) -> None:
    """`runs` pipeline runs' worth of writes: step outputs, a model package, a group."""
    s3 = s3_client(settings)
    sagemaker = boto3.client("sagemaker", endpoint_url=settings.emulator_url)
    sagemaker.create_model_package_group(ModelPackageGroupName="history")
    for run in range(runs):
        for step in ("prepare", "train", "evaluate"):
            key = f"runs/{run}/{step}/output.json"
            s3.put_object(Bucket=settings.data_bucket, Key=key, Body=json.dumps({"run": run}))
        sagemaker.create_model_package(
            ModelPackageGroupName="history",
            ModelPackageDescription=f"run {run}",
            InferenceSpecification={
                "Containers": [
                    {"Image": "image:latest", "ModelDataUrl": f"s3://b/runs/{run}/model.tar.gz"}
                ],
                "SupportedContentTypes": ["application/json"],
                "SupportedResponseMIMETypes": ["application/json"],
            },
        )


def test_a_multipart_upload_survives_kill_9(local: Settings) -> None:
    stack.start(local)
    data = upload(local)
    kill_9(local)
    stack.start(local)
    assert read(local) == data


def test_a_multipart_upload_survives_an_upgrade(local: Settings) -> None:
    stack.start(local)
    data = upload(local)
    stack.stop(local)  # a clean stop writes a snapshot; an upgrade cannot use it
    set_snapshot_aside(local)
    stack.start(local)
    assert read(local) == data


def test_ids_another_moto_would_make_are_mapped_to_what_clients_were_told(
    local: Settings,
) -> None:
    """A journal written by a moto whose UploadIds differ from this one's still replays."""
    stack.start(local)
    s3 = s3_client(local)
    started = s3.create_multipart_upload(Bucket=local.data_bucket, Key="parts.bin")
    upload_id = started["UploadId"]
    part = s3.upload_part(
        Bucket=local.data_bucket, Key="parts.bin", UploadId=upload_id, PartNumber=1, Body=b"x" * 10
    )
    kill_9(local)
    journal = stack.StackPaths.of(local).journal
    # As another version would have answered: every mention of the id, answer included.
    foreign = "Z" * len(upload_id)
    journal.write_text(journal.read_text().replace(upload_id, foreign))
    set_snapshot_aside(local)
    stack.start(local)
    s3 = s3_client(local)
    # The client still holds the id it was given and finishes its upload with it.
    s3.complete_multipart_upload(
        Bucket=local.data_bucket,
        Key="parts.bin",
        UploadId=foreign,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert read(local, "parts.bin") == b"x" * 10
    head = s3.head_object(Bucket=local.data_bucket, Key="parts.bin")
    assert head["ContentLength"] == 10
    kill_9(local)
    set_snapshot_aside(local)
    stack.start(local)
    assert read(local, "parts.bin") == b"x" * 10


def test_a_multipart_upload_after_100_runs_of_history_survives_kill_9_and_an_upgrade(
    local: Settings,
) -> None:
    stack.start(local)
    history(local, 100)
    data = upload(local)
    kill_9(local)
    stack.start(local)
    assert read(local) == data
    kill_9(local)
    set_snapshot_aside(local)
    stack.start(local)
    assert read(local) == data
    assert read(local, "runs/99/evaluate/output.json") == b'{"run": 99}'
    sagemaker = boto3.client("sagemaker", endpoint_url=local.emulator_url)
    listed = sagemaker.list_model_packages(ModelPackageGroupName="history", MaxResults=100)
    assert len(listed["ModelPackageSummaryList"]) == 100
