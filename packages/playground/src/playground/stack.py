"""The local AWS stack: start, stop and inspect the emulator, and create what the system needs.

The emulator runs as a background process (``python -m playground.emulator``) with a pid file,
a log file and its journal under ``<state_dir>/emulator/``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
import requests
from botocore.exceptions import ClientError

from mlops_settings import Settings
from playground.emulator import HEALTH_PATH, JOURNAL_NAME

START_TIMEOUT_S = 180.0


class StackError(RuntimeError):
    """The local stack cannot do what was asked; the message says why and what to do."""


@dataclass(frozen=True)
class StackPaths:
    """Where the emulator keeps its pid, log and journal."""

    root: Path

    @classmethod
    def of(cls, settings: Settings) -> StackPaths:
        """The emulator folder under the settings' state directory."""
        return cls(settings.state_dir.resolve() / "emulator")

    @property
    def pid(self) -> Path:
        """The pid file."""
        return self.root / "emulator.pid"

    @property
    def log(self) -> Path:
        """The server's log."""
        return self.root / "emulator.log"

    @property
    def journal(self) -> Path:
        """The write-ahead journal of state changes."""
        return self.root / JOURNAL_NAME


@dataclass(frozen=True)
class StackStatus:
    """What `playground local status` reports."""

    running: bool
    ready: bool
    url: str
    pid: int | None
    journal_entries: int
    state_dir: Path


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path(f"/proc/{pid}")
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = (proc / "cmdline").read_bytes()
    except (FileNotFoundError, IndexError):
        return True  # no /proc (not Linux): trust the signal check
    if state in ("Z", "X"):
        return False  # exited, waiting to be reaped: its port is closed
    # An empty command line means the process is exiting (its port may still be open); any
    # other command line belongs to a recycled pid, so our server is gone.
    return not cmdline or b"playground.emulator" in cmdline


def _read_pid(paths: StackPaths) -> int | None:
    try:
        return int(paths.pid.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _health(url: str, timeout: float = 2.0) -> dict[str, object] | None:
    try:
        response = requests.get(f"{url}{HEALTH_PATH}", timeout=timeout)
    except requests.RequestException:
        return None
    if response.status_code != 200:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def status(settings: Settings) -> StackStatus:
    """Whether the emulator runs, answers, and how much state it holds."""
    paths = StackPaths.of(settings)
    pid = _read_pid(paths)
    running = pid is not None and _pid_alive(pid)
    health = _health(settings.emulator_url) if running else None
    entries = health.get("journal_entries", 0) if health else 0
    return StackStatus(
        running=running,
        ready=bool(health and health.get("ready")),
        url=settings.emulator_url,
        pid=pid if running else None,
        journal_entries=int(entries) if isinstance(entries, int) else 0,
        state_dir=paths.root,
    )


def _log_tail(paths: StackPaths, lines: int = 15) -> str:
    try:
        return "\n".join(paths.log.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def start(settings: Settings, timeout: float = START_TIMEOUT_S) -> StackStatus:
    """Start the emulator in the background (or find it running) and create the resources."""
    paths = StackPaths.of(settings)
    current = status(settings)
    if current.running:
        if not current.ready:
            _wait_ready(settings, paths, current.pid, timeout)
        bootstrap(settings)
        return status(settings)
    stale = paths.pid.exists()
    paths.pid.unlink(missing_ok=True)
    # A server killed a moment ago may still hold its port while its threads exit.
    grace = time.monotonic() + (5.0 if stale else 0.0)
    while _port_in_use(settings.emulator_host, settings.emulator_port):
        if time.monotonic() < grace:
            time.sleep(0.1)
            continue
        raise StackError(
            f"port {settings.emulator_port} on {settings.emulator_host} is already in use by "
            "another program; stop it, or choose another port with PLAYGROUND_EMULATOR_PORT"
        )
    paths.root.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "playground.emulator",
        "--host",
        settings.emulator_host,
        "--port",
        str(settings.emulator_port),
        "--state-dir",
        str(paths.root),
    ]
    with paths.log.open("ab") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # keeps running after the CLI exits
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    paths.pid.write_text(f"{process.pid}\n")
    _wait_ready(settings, paths, process.pid, timeout, process)
    bootstrap(settings)
    return status(settings)


def _wait_ready(
    settings: Settings,
    paths: StackPaths,
    pid: int | None,
    timeout: float,
    process: subprocess.Popen[bytes] | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            paths.pid.unlink(missing_ok=True)
            raise StackError(
                f"the emulator exited with code {process.returncode}; its log "
                f"({paths.log}) ends with:\n{_log_tail(paths)}"
            )
        health = _health(settings.emulator_url, timeout=1.0)
        if health and health.get("ready"):
            return
        time.sleep(0.1)
    raise StackError(
        f"the emulator (pid {pid}) did not become ready within {timeout:.0f} s; "
        f"see {paths.log}:\n{_log_tail(paths)}"
    )


def stop(settings: Settings, timeout: float = 10.0) -> bool:
    """Stop the emulator; returns whether one was running. State stays on disk."""
    paths = StackPaths.of(settings)
    pid = _read_pid(paths)
    if pid is None or not _pid_alive(pid):
        paths.pid.unlink(missing_ok=True)
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _pid_alive(pid):
        time.sleep(0.05)
    if _pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    while time.monotonic() < deadline + 5 and _port_in_use(
        settings.emulator_host, settings.emulator_port
    ):
        time.sleep(0.05)  # its last threads are still closing the socket
    paths.pid.unlink(missing_ok=True)
    return True


def reset(settings: Settings) -> None:
    """Stop the emulator and delete all of its state."""
    stop(settings)
    shutil.rmtree(StackPaths.of(settings).root, ignore_errors=True)


def bootstrap(settings: Settings) -> list[str]:
    """Create, when missing, the buckets, the model package group and the pipeline role.

    Only missing things are created, so a restart adds nothing to the journal.
    """
    # Always the emulator: in AWS, Terraform owns these resources.
    session = boto3.session.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - the emulator's documented dummy
        region_name=settings.region,
    )
    endpoint = settings.emulator_url
    s3 = session.client("s3", endpoint_url=endpoint)
    sagemaker = session.client("sagemaker", endpoint_url=endpoint)
    iam = session.client("iam", endpoint_url=endpoint)
    created: list[str] = []
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    for bucket in (settings.data_bucket, settings.model_bucket, settings.site_bucket):
        if bucket not in existing:
            s3.create_bucket(Bucket=bucket)
            created.append(f"s3://{bucket}")
    try:
        sagemaker.describe_model_package_group(ModelPackageGroupName=settings.model_package_group)
    except ClientError:
        sagemaker.create_model_package_group(
            ModelPackageGroupName=settings.model_package_group,
            ModelPackageGroupDescription="MNIST digit classifiers (ONNX) for the browser",
        )
        created.append(f"model package group {settings.model_package_group}")
    try:
        iam.get_role(RoleName=settings.sagemaker_role_name)
    except ClientError:
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "sagemaker.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        iam.create_role(
            RoleName=settings.sagemaker_role_name, AssumeRolePolicyDocument=json.dumps(trust)
        )
        created.append(f"IAM role {settings.sagemaker_role_name}")
    return created
