"""What SageMaker does as the job's role outside the script: pull the image, write the logs.

SageMaker runs a processing or training job with the job's execution role: besides the
inputs and outputs (`jobs`, with the role's S3 client), it pulls the job's image from Amazon
ECR and sends the container's output to CloudWatch Logs, both as that role (SageMaker API
Reference, CreateTrainingJob's ``RoleArn``; SageMaker Developer Guide, "SageMaker roles", the
execution role permissions of the CreateProcessingJob and CreateTrainingJob APIs:
``ecr:GetAuthorizationToken``, ``ecr:BatchCheckLayerAvailability``,
``ecr:GetDownloadUrlForLayer``, ``ecr:BatchGetImage``, ``logs:CreateLogGroup``,
``logs:CreateLogStream``, ``logs:DescribeLogStreams`` and ``logs:PutLogEvents``). Locally:

- **the image**: the Deep Learning Container lives in AWS's own registry (another account),
  which the emulator cannot hold, so the runner asks the emulator whether IAM lets the role
  session pull it (`localaws.permission.PermissionLayer.authorize`, signed with the session's
  keys). A refusal fails the job before its inputs are downloaded, with SageMaker's failure
  reason for an image it cannot pull ("ClientError: Cannot pull algorithm container. Either
  the image does not exist or its permissions are incorrect.", the FailureReason people report
  in aws/sagemaker-python-sdk#57 and #1968) and the emulator's denial after it;
- **the log**: the runner creates the job's stream in ``/aws/sagemaker/ProcessingJobs`` or
  ``/aws/sagemaker/TrainingJobs`` (stream ``<job name>/algo-1-<epoch seconds>``, as SageMaker
  names it) and sends the script's lines there with the role's keys, so ``aws logs
  get-log-events`` shows them as in AWS. A refused write stops the job: SageMaker documents no
  FailureReason for it, so the reason is ``ClientError:`` and AWS's denial.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from localaws.control_paths import AUTHORIZE_PATH
from localaws.local_runner.jobs import JobError

PULL_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
)
CANNOT_PULL = (
    "ClientError: Cannot pull algorithm container. Either the image does not exist or its "
    "permissions are incorrect."
)
LOG_GROUPS = {
    "Processing": "/aws/sagemaker/ProcessingJobs",
    "Training": "/aws/sagemaker/TrainingJobs",
}
# PutLogEvents takes at most 10,000 events and 1,048,576 bytes, each event counted with 26
# bytes more than its message (CloudWatch Logs API Reference, "PutLogEvents").
MAX_EVENTS = 10_000
MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD = 26
MAX_MESSAGE_BYTES = 256 * 1024 - EVENT_OVERHEAD
FLUSH_EVERY_S = 2.0

_IMAGE = re.compile(
    r"^(?P<registry>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?"
    r"/(?P<repository>[a-z0-9._/-]+?)(?::(?P<tag>[\w.-]+))?(?:@(?P<digest>\S+))?$"
)


def repository_arn(image_uri: str) -> str:
    """The ECR repository ARN of an image URI (``<registry>.dkr.ecr.<region>...``).

    Raises:
        JobError: not an Amazon ECR image URI (SageMaker pulls only those).
    """
    found = _IMAGE.match(image_uri or "")
    if found is None:
        raise JobError(f"{CANNOT_PULL} ({image_uri!r} is not an Amazon ECR image URI)")
    partition = "aws-cn" if ".amazonaws.com.cn/" in image_uri else "aws"
    return (
        f"arn:{partition}:ecr:{found['region']}:{found['registry']}:"
        f"repository/{found['repository']}"
    )


def job_image(kind: str, arguments: Mapping[str, Any]) -> str:
    """The image a Processing or Training job's request names."""
    if kind == "Processing":
        return str(arguments.get("AppSpecification", {}).get("ImageUri", ""))
    return str(arguments.get("AlgorithmSpecification", {}).get("TrainingImage", ""))


@dataclass(frozen=True)
class RoleKeys:
    """A role session's keys (``AWS_ACCESS_KEY_ID`` and friends) and where the emulator is."""

    environment: Mapping[str, str]
    endpoint_url: str
    region: str

    def client(self, service: str) -> Any:
        """A boto3 client of the emulator signing as the session."""
        import boto3

        return boto3.client(  # type: ignore[call-overload]
            service,
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.environment["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.environment["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=self.environment.get("AWS_SESSION_TOKEN"),
        )

    def authorize(self, actions: list[str], resource: str) -> list[dict[str, str]]:
        """The emulator's denials of ``actions`` on ``resource`` for this session ([] = allowed)."""
        body = json.dumps({"actions": actions, "resource": resource})
        url = self.endpoint_url.rstrip("/") + AUTHORIZE_PATH
        request = AWSRequest("POST", url, data=body, headers={"Content-Type": "application/json"})
        credentials = Credentials(
            self.environment["AWS_ACCESS_KEY_ID"],
            self.environment["AWS_SECRET_ACCESS_KEY"],
            self.environment.get("AWS_SESSION_TOKEN"),
        )
        SigV4Auth(credentials, actions[0].split(":", 1)[0], self.region).add_auth(request)
        answer = requests.post(url, data=body, headers=dict(request.headers), timeout=30)
        answer.raise_for_status()
        return list(answer.json().get("denied", []))


def pull_image(keys: RoleKeys, image_uri: str) -> None:
    """Pull the job's image as the role: authenticate to ECR, then read the repository.

    Raises:
        JobError: IAM would not let the role pull it (SageMaker's reason, then the denial).
    """
    repository = repository_arn(image_uri)
    denied = keys.authorize(["ecr:GetAuthorizationToken"], "*")
    denied += keys.authorize(list(PULL_ACTIONS), repository)
    if denied:
        raise JobError(f"{CANNOT_PULL} {denied[0]['message']}")


def _denial(error: ClientError) -> str:
    detail = error.response.get("Error", {})
    return f"ClientError: {detail.get('Code', 'Error')}: {detail.get('Message', error)}"


@dataclass
class JobLog:
    """The job's CloudWatch Logs stream, written as the job's role as lines arrive.

    `open` creates the group (when missing) and the stream before the script runs; `line`
    buffers a line and sends the buffer every `FLUSH_EVERY_S` seconds; `close` sends the rest.
    A refused call raises JobError with the denial; later lines are not sent.
    """

    keys: RoleKeys
    kind: str  # "Processing" or "Training"
    job_name: str
    clock: Any = time.time
    stream: str = ""
    _client: Any = None
    _pending: list[dict[str, Any]] = field(default_factory=list)
    _sent_at: float = 0.0

    @property
    def group(self) -> str:
        """``/aws/sagemaker/ProcessingJobs`` or ``/aws/sagemaker/TrainingJobs``."""
        return LOG_GROUPS[self.kind]

    def open(self) -> None:
        """Create the log group when missing and the job's stream, as the role."""
        self._client = self.keys.client("logs")
        self.stream = f"{self.job_name}/algo-1-{int(self.clock())}"
        try:
            self._client.create_log_group(logGroupName=self.group)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceAlreadyExistsException":
                raise JobError(_denial(error)) from None
        try:
            self._client.create_log_stream(logGroupName=self.group, logStreamName=self.stream)
        except ClientError as error:
            raise JobError(_denial(error)) from None

    def line(self, text: str) -> None:
        """Keep one line of the script's output; send what is kept every few seconds."""
        message = text.encode()[:MAX_MESSAGE_BYTES].decode(errors="ignore") or " "
        self._pending.append({"timestamp": int(self.clock() * 1000), "message": message})
        if len(self._pending) == 1 and not self._sent_at:
            self.flush()  # the first line at once: a role that cannot write fails early
        elif self.clock() - self._sent_at >= FLUSH_EVERY_S or len(self._pending) >= MAX_EVENTS:
            self.flush()

    def flush(self) -> None:
        """Send the kept lines in batches PutLogEvents accepts."""
        self._sent_at = self.clock() or 1e-9
        while self._pending:
            batch: list[dict[str, Any]] = []
            size = 0
            for event in self._pending:
                cost = len(event["message"].encode()) + EVENT_OVERHEAD
                if len(batch) == MAX_EVENTS or size + cost > MAX_BATCH_BYTES:
                    break
                batch.append(event)
                size += cost
            try:
                self._client.put_log_events(
                    logGroupName=self.group, logStreamName=self.stream, logEvents=batch
                )
            except ClientError as error:
                self._pending.clear()
                raise JobError(_denial(error)) from None
            del self._pending[: len(batch)]

    def close(self) -> None:
        """Send what is left."""
        if self._client is not None:
            self.flush()
