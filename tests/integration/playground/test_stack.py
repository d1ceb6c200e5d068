"""The local stack: lifecycle, a busy port, and durability across stop/start and kill -9."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from localaws.background import free_port
from mlops_settings import Settings
from playground import stack


@pytest.fixture
def local(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Settings]:
    """Settings for a private emulator on a free port with state in a temp folder."""
    monkeypatch.setenv("PLAYGROUND_EMULATOR_PORT", str(free_port()))
    monkeypatch.setenv("PLAYGROUND_STATE_DIR", str(tmp_path / "state"))
    settings = Settings()
    for key, value in settings.aws_environment().items():
        monkeypatch.setenv(key, value)
    yield settings
    stack.stop(settings)


def s3(settings: Settings):  # type: ignore[no-untyped-def]
    return boto3.client(
        "s3",
        endpoint_url=settings.emulator_url,
        config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10),
    )


def test_start_creates_resources_and_status_reports(local: Settings) -> None:
    assert not stack.status(local).running
    state = stack.start(local)
    assert state.running
    assert state.ready
    assert state.pid
    buckets = {b["Name"] for b in s3(local).list_buckets()["Buckets"]}
    assert {local.data_bucket, local.model_bucket, local.site_bucket} <= buckets
    sm = boto3.client("sagemaker", endpoint_url=local.emulator_url)
    sm.describe_model_package_group(ModelPackageGroupName=local.model_package_group)
    # A second start finds it running and creates nothing new.
    journal_before = state.journal_entries
    again = stack.start(local)
    assert again.pid == state.pid
    assert again.journal_entries == journal_before
    assert stack.stop(local) is True
    assert not stack.status(local).running
    assert stack.stop(local) is False


def test_busy_port_is_a_clear_error_not_a_hang(local: Settings) -> None:
    with socket.socket() as squatter:
        squatter.bind((local.emulator_host, local.emulator_port))
        squatter.listen()
        started = time.monotonic()
        with pytest.raises(stack.StackError, match=f"port {local.emulator_port} .* already in use"):
            stack.start(local)
        assert time.monotonic() - started < 10
    assert not stack.StackPaths.of(local).pid.exists()


def test_state_survives_stop_and_start(local: Settings) -> None:
    stack.start(local)
    client = s3(local)
    client.put_object(Bucket=local.data_bucket, Key="raw/mnist/note.txt", Body=b"kept")
    sm = boto3.client("sagemaker", endpoint_url=local.emulator_url)
    arn = sm.create_model_package(
        ModelPackageGroupName=local.model_package_group,
        ModelApprovalStatus="Approved",
        CustomerMetadataProperties={"sha256": "ab" * 32},
        InferenceSpecification={
            "Containers": [{"Image": "img", "ModelDataUrl": f"s3://{local.model_bucket}/m.tar.gz"}],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )["ModelPackageArn"]
    created = sm.describe_model_package(ModelPackageName=arn)["CreationTime"]
    stack.stop(local)
    stack.start(local)
    body = s3(local).get_object(Bucket=local.data_bucket, Key="raw/mnist/note.txt")["Body"].read()
    assert body == b"kept"
    package = sm.describe_model_package(ModelPackageName=arn)
    assert package["ModelApprovalStatus"] == "Approved"
    assert package["CustomerMetadataProperties"] == {"sha256": "ab" * 32}
    assert package["CreationTime"] == created


def test_every_acknowledged_write_survives_kill_9_mid_use(local: Settings) -> None:
    stack.start(local)
    client = s3(local)
    acknowledged: dict[str, bytes] = {}
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            key, body = f"raw/mnist/obj-{i:05d}", os.urandom(2048)
            try:
                client.put_object(Bucket=local.data_bucket, Key=key, Body=body)
            except Exception:
                return
            acknowledged[key] = body
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    while len(acknowledged) < 40:
        time.sleep(0.02)
    pid = stack.status(local).pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    stop.set()
    thread.join(timeout=30)
    stack.start(local)
    fresh = s3(local)
    for key, body in acknowledged.items():
        assert fresh.get_object(Bucket=local.data_bucket, Key=key)["Body"].read() == body
    # A torn last line from the kill is dropped, and new writes still append cleanly.
    fresh.put_object(Bucket=local.data_bucket, Key="after", Body=b"x")
    stack.stop(local)
    stack.start(local)
    assert s3(local).get_object(Bucket=local.data_bucket, Key="after")["Body"].read() == b"x"


def test_reset_forgets_everything(local: Settings) -> None:
    stack.start(local)
    s3(local).put_object(Bucket=local.data_bucket, Key="k", Body=b"v")
    stack.reset(local)
    assert not stack.StackPaths.of(local).root.exists()
    stack.start(local)
    assert s3(local).list_objects_v2(Bucket=local.data_bucket).get("KeyCount") == 0


def test_emulator_that_cannot_start_reports_its_log(local: Settings) -> None:
    paths = stack.StackPaths.of(local)
    paths.root.mkdir(parents=True)
    paths.journal.write_text('{"broken": \nnot json\n{"also": "bad"}\n')
    with pytest.raises(stack.StackError, match="corrupt"):
        stack.start(local, timeout=60)
