"""A role's credentials, obtained as an AWS service obtains them: AssumeRole, trust policy.

A local actor that stands in for an AWS service (EventBridge delivering to a target, Lambda
running a function, SageMaker running a job) calls ``sts:AssumeRole`` signed with the service
principal's name as its access key (`localaws.permission` reads it so) and passes the context
keys the service sends, ``aws:SourceAccount`` and ``aws:SourceArn``, as headers. The emulator
checks the role's trust policy like AWS; the session's keys then act as the role.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from localaws.permission import SOURCE_ACCOUNT_HEADER, SOURCE_ARN_HEADER


@dataclass(frozen=True)
class RoleSession:
    """Temporary keys of one role session."""

    access_key_id: str
    secret_access_key: str
    session_token: str

    @property
    def environment(self) -> dict[str, str]:
        """The variables boto3 reads (``AWS_ACCESS_KEY_ID`` and friends) for a subprocess."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }

    def client(self, service: str, region: str, endpoint_url: str) -> Any:
        """A boto3 client signing as this session."""
        import boto3

        return boto3.client(
            service,  # type: ignore[call-overload]
            region_name=region,
            endpoint_url=endpoint_url,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            aws_session_token=self.session_token,
        )


def assume_role_as_service(
    endpoint_url: str,
    region: str,
    role_arn: str,
    service: str,
    session_name: str,
    source_arn: str | None = None,
    source_account: str | None = None,
) -> RoleSession:
    """Assume a role as an AWS service principal (``events.amazonaws.com``) would.

    Raises:
        botocore.exceptions.ClientError: ``AccessDenied`` when the role's trust policy does not
            let this service (with this source) assume it, as AWS answers.
    """
    import boto3

    sts = boto3.client(
        "sts",
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id=service,
        aws_secret_access_key=service,
    )
    headers = {}
    if source_arn:
        headers[SOURCE_ARN_HEADER] = source_arn
    if source_account:
        headers[SOURCE_ACCOUNT_HEADER] = source_account

    def add_headers(request: Any, **_: Any) -> None:
        for name, value in headers.items():
            request.headers[name] = value

    if headers:
        sts.meta.events.register("before-sign.sts.AssumeRole", add_headers)
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name[:64])[
        "Credentials"
    ]
    return RoleSession(
        credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]
    )


def job_credentials(endpoint_url: str, region: str) -> Any:
    """For the local runner: each job's role, assumed as SageMaker assumes it for that job.

    Returns a function (role ARN, job ARN) -> the session's ``AWS_*`` variables.
    """

    def credentials(role_arn: str, job_arn: str) -> dict[str, str]:
        name = job_arn.rsplit("/", 1)[-1][:64]
        return assume_role_as_service(
            endpoint_url, region, role_arn, "sagemaker.amazonaws.com", name, source_arn=job_arn
        ).environment

    return credentials
