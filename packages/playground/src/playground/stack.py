"""The local AWS stack: start, stop and inspect the emulator, and create what the system needs.

The emulator runs as a background process (``python -m localaws.emulator``) with a pid file,
a log file and its journal under ``<state_dir>/emulator/``.
"""

from __future__ import annotations

import functools
import json
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from functions.get_models.cors import model_bucket_cors_rules
from localaws.background import BackgroundService, ServiceError
from localaws.emulator import HEALTH_PATH, JOURNAL_NAME
from mlops_settings import Settings
from playground import lambda_functions, roles

START_TIMEOUT_S = 180.0
REPLAY_FAILURE = "cannot start: journal"  # how localaws.replay.ReplayError's message begins

if TYPE_CHECKING:
    from localaws.repair import RepairReport


class StackError(ServiceError):
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
    strict: bool | None = None  # None: not known (the emulator does not answer)
    violations: int = 0
    iam: bool | None = None  # IAM enforcement; None: not known
    denials: int = 0


# The project's listener for executions the emulator ran (`localaws.pipeline_worker`): their
# MLflow run ends as the execution did, and their run report gets the AWS projection.
EMULATOR_HOOKS = {"LOCALAWS_EXECUTION_END_HOOK": "playground.run_end:ended"}


def emulator_service(settings: Settings) -> BackgroundService:
    """The emulator as a background service of this checkout's state directory."""
    paths = StackPaths.of(settings)
    return BackgroundService(
        name="emulator",
        folder=paths.root,
        command=[
            sys.executable,
            "-m",
            "localaws.emulator",
            "--host",
            settings.emulator_host,
            "--port",
            str(settings.emulator_port),
            "--state-dir",
            str(paths.root),
            "--strict" if settings.emulator_strict else "--no-strict",
            "--iam" if settings.emulator_iam else "--no-iam",
        ],
        host=settings.emulator_host,
        port=settings.emulator_port,
        health_path=HEALTH_PATH,
        marker=b"localaws.emulator",
        port_variable="PLAYGROUND_EMULATOR_PORT",
    )


def status(settings: Settings) -> StackStatus:
    """Whether the emulator runs, answers, and how much state it holds."""
    state = emulator_service(settings).state()
    health = state.health or {}
    entries = health.get("journal_entries", 0)
    strict = health.get("strict")
    violations = health.get("violations", 0)
    iam = health.get("iam")
    denials = health.get("denials", 0)
    return StackStatus(
        running=state.running,
        ready=state.ready,
        url=settings.emulator_url,
        pid=state.pid,
        journal_entries=entries if isinstance(entries, int) else 0,
        state_dir=StackPaths.of(settings).root,
        strict=strict if isinstance(strict, bool) else None,
        violations=violations if isinstance(violations, int) else 0,
        iam=iam if isinstance(iam, bool) else None,
        denials=denials if isinstance(denials, int) else 0,
    )


def start(settings: Settings, timeout: float = START_TIMEOUT_S) -> StackStatus:
    """Start the emulator in the background (or find it running) and create the resources."""
    try:
        emulator_service(settings).start(timeout, env=EMULATOR_HOOKS)
    except ServiceError as exc:
        message = str(exc)
        # A journal entry that cannot be replayed: the emulator's own message says it all.
        named = message.find(REPLAY_FAILURE)
        raise StackError(message[named:] if named >= 0 else message) from None
    bootstrap(settings)
    return status(settings)


def repair(settings: Settings) -> RepairReport:
    """Rewrite the emulator's journal with every entry that still replays (it must be stopped).

    Raises:
        StackError: the emulator is running (stop it first).
    """
    if emulator_service(settings).state().running:
        raise StackError(
            "the emulator is running; stop it first (`playground local stop`), then repair"
        )
    from localaws.repair import repair_journal  # imports moto: only when repairing

    return repair_journal(StackPaths.of(settings).root)


def stop(settings: Settings, timeout: float = 10.0) -> bool:
    """Stop the emulator; returns whether one was running. State stays on disk."""
    return emulator_service(settings).stop(timeout)


def reset(settings: Settings) -> None:
    """Stop the emulator and delete all of its state."""
    stop(settings)
    shutil.rmtree(StackPaths.of(settings).root, ignore_errors=True)


def _comparable(rule: Mapping[str, Any]) -> dict[str, object]:
    return {k: sorted(v) if isinstance(v, list) else v for k, v in rule.items() if k != "ID"}


# terraform/s3.tf's settings of every bucket: encrypted with SSE-S3, no public access. Not
# versioning: moto keeps every version and, running no lifecycle rule, never expires one, so a
# versioned local bucket would only grow, and its journal could no longer be compacted
# (`localaws.snapshot` drops overwritten entries of unversioned buckets only).
ENCRYPTION = [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


def _bucket_settings(s3: Any, bucket: str, empty: bool = False) -> list[str]:
    """Default encryption and the public access block of terraform/s3.tf.

    Read first and written only when they differ, so a restart journals nothing; ``empty``: the
    bucket was just made, so nothing is read first.
    """
    changed = []
    try:
        found = {} if empty else s3.get_bucket_encryption(Bucket=bucket)
        rules = found.get("ServerSideEncryptionConfiguration", {})
    except ClientError:
        rules = {}
    if [
        {k: v for k, v in r.items() if k != "BucketKeyEnabled"} for r in rules.get("Rules", [])
    ] != ENCRYPTION:
        s3.put_bucket_encryption(
            Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": ENCRYPTION}
        )
        changed.append(f"encryption of s3://{bucket}")
    try:
        found = {} if empty else s3.get_public_access_block(Bucket=bucket)
        block = found.get("PublicAccessBlockConfiguration", {})
    except ClientError:
        block = {}
    if block != PUBLIC_ACCESS_BLOCK:
        s3.put_public_access_block(
            Bucket=bucket, PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCK
        )
        changed.append(f"public access block of s3://{bucket}")
    return changed


@functools.cache
def _admin_client(service: str, region: str, endpoint: str) -> Any:
    """A client of the emulator signed as the account's root: what Terraform's apply is.

    Kept per (service, region, endpoint): making a client reads its service model (about
    0.2 s), which a test's reset would otherwise pay for each of the four clients.
    """
    session = boto3.session.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - the emulator's documented dummy
        region_name=region,
    )
    return session.client(service, endpoint_url=endpoint)  # type: ignore[call-overload]


def bootstrap(settings: Settings, empty: bool = False) -> list[str]:
    """Create, when missing, what the system needs in the emulator, as Terraform does in AWS.

    The buckets (encrypted, no public access, as terraform/s3.tf makes them, but not versioned:
    see `ENCRYPTION`; the model bucket with CORS), the model package group, the roles with their
    policies (`playground.roles`: the services' and the people's) and the two Lambda functions
    with their URL permissions (`playground.lambda_functions`). With IAM enforcement off the
    roles and functions are still made: turning it on then needs only a restart.

    Only missing things are created, so a restart adds nothing to the journal. ``empty``: the
    emulator was just reset, so nothing is looked up first (a test's reset, about half the
    calls).
    """
    # Always the emulator: in AWS, Terraform owns these resources.
    endpoint = settings.emulator_url

    def client(service: str) -> Any:
        return _admin_client(service, settings.region, endpoint)

    s3 = client("s3")
    sagemaker = client("sagemaker")
    created: list[str] = []
    existing = set() if empty else {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    for bucket in (settings.data_bucket, settings.model_bucket, settings.site_bucket):
        if bucket not in existing:
            # Outside us-east-1, S3 wants the region named (CreateBucket's LocationConstraint).
            where = (
                {}
                if settings.region == "us-east-1"
                else {"CreateBucketConfiguration": {"LocationConstraint": settings.region}}
            )
            s3.create_bucket(Bucket=bucket, **where)
            created.append(f"s3://{bucket}")
        created += _bucket_settings(s3, bucket, empty=bucket not in existing)
    # The browser downloads model files straight from S3 with presigned URLs.
    rules = model_bucket_cors_rules(settings.cors_allow_origins)
    try:
        current = (
            [] if empty else s3.get_bucket_cors(Bucket=settings.model_bucket).get("CORSRules", [])
        )
    except ClientError:
        current = []
    if [_comparable(r) for r in current] != [_comparable(r) for r in rules]:
        s3.put_bucket_cors(
            Bucket=settings.model_bucket,
            CORSConfiguration={"CORSRules": rules},
        )
        created.append(f"CORS for s3://{settings.model_bucket}")
    group_exists = False
    if not empty:
        try:
            sagemaker.describe_model_package_group(
                ModelPackageGroupName=settings.model_package_group
            )
            group_exists = True
        except ClientError:
            pass
    if not group_exists:
        sagemaker.create_model_package_group(
            ModelPackageGroupName=settings.model_package_group,
            ModelPackageGroupDescription="MNIST digit classifiers (ONNX) for the browser",
        )
        created.append(f"model package group {settings.model_package_group}")
    # What IAM decides on: the roles and the functions' resource policies.
    created += roles.install(settings, client("iam"), empty=empty)
    created += lambda_functions.install(settings, client("lambda"), empty=empty)
    return created


def ensure_execution_role(settings: Settings) -> str:
    """The SageMaker execution role's ARN, creating the role when missing on the local target.

    Raises:
        RuntimeError: on the aws target the role belongs to Terraform; a missing role there
            is an error, not something the CLI papers over.
    """
    iam = boto3.client("iam", region_name=settings.region)
    try:
        return str(iam.get_role(RoleName=settings.sagemaker_role_name)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        if settings.target == "aws":
            raise RuntimeError(
                f"IAM role {settings.sagemaker_role_name!r} does not exist; "
                "apply the Terraform in terraform/ first"
            ) from None
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
    created = iam.create_role(
        RoleName=settings.sagemaker_role_name, AssumeRolePolicyDocument=json.dumps(trust)
    )
    return str(created["Role"]["Arn"])
