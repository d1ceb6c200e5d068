"""The emulator decides as IAM does: each kind of refusal answered as AWS answers it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from localaws.credentials import assume_role_as_service
from localaws.emulator import DENIALS_PATH, HEALTH_PATH, build_app
from support.in_process_emulator import enforcing_emulator

ACCOUNT = "123456789012"
REGION = "us-east-1"
JOBS_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "ReadRaw",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::data/raw/*",
        },
        {
            "Sid": "WriteArtifacts",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::data/pipelines/*",
        },
        {
            "Sid": "NeverTheLabels",
            "Effect": "Deny",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::data/raw/labels/*",
        },
    ],
}


def _trust(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
                }
            ],
        }
    )


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An emulator with IAM enforcement on, served from this process on a free port."""
    with enforcing_emulator(tmp_path_factory.mktemp("emulator")) as url:
        yield url


def _client(
    endpoint: str,
    service: str,
    key: str = "testing",
    secret: str = "testing",  # noqa: S107 - the emulator's dummy
    token: str | None = None,
):  # type: ignore[no-untyped-def]
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
    )


def _assume(
    endpoint: str, role: str, service: str, source_account: str | None = None
) -> dict[str, str]:
    session = assume_role_as_service(
        endpoint,
        REGION,
        f"arn:aws:iam::{ACCOUNT}:role/{role}",
        service,
        "test",
        source_account=source_account,
    )
    return {
        "key": session.access_key_id,
        "secret": session.secret_access_key,
        "token": session.session_token,
    }


@pytest.fixture(scope="module")
def account(endpoint: str) -> str:
    """A data bucket and a job role that may read raw/ (not raw/labels/) and write pipelines/."""
    s3 = _client(endpoint, "s3")
    s3.create_bucket(Bucket="data")
    for key in ("raw/a.gz", "raw/labels/b.gz", "models/c.onnx"):
        s3.put_object(Bucket="data", Key=key, Body=b"x")
    iam = _client(endpoint, "iam")
    iam.create_role(RoleName="jobs", AssumeRolePolicyDocument=_trust("sagemaker.amazonaws.com"))
    iam.put_role_policy(RoleName="jobs", PolicyName="jobs", PolicyDocument=json.dumps(JOBS_POLICY))
    return endpoint


def _jobs_s3(endpoint: str):  # type: ignore[no-untyped-def]
    session = _assume(endpoint, "jobs", "sagemaker.amazonaws.com")
    return _client(endpoint, "s3", session["key"], session["secret"], session["token"])


def _denial(error: ClientError) -> tuple[int, str, str]:
    response = error.response
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Code"],
        response["Error"].get("Message", ""),
    )


def test_a_step_role_does_what_its_policy_allows(account: str) -> None:
    s3 = _jobs_s3(account)
    assert s3.get_object(Bucket="data", Key="raw/a.gz")["Body"].read() == b"x"
    s3.put_object(Bucket="data", Key="pipelines/out.json", Body=b"{}")


def test_a_step_role_missing_an_action_is_refused_as_s3_refuses(account: str) -> None:
    s3 = _jobs_s3(account)
    journal = requests.get(f"{account}{HEALTH_PATH}", timeout=5).json()["journal_entries"]
    with pytest.raises(ClientError) as refused:
        s3.delete_object(Bucket="data", Key="raw/a.gz")
    status, code, message = _denial(refused.value)
    assert (status, code) == (403, "AccessDenied")
    assert message == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/jobs/test is not authorized to perform: "
        "s3:DeleteObject on resource: arn:aws:s3:::data/raw/a.gz because no identity-based "
        "policy allows the s3:DeleteObject action"
    )
    # Nothing changed and nothing was journalled.
    assert _client(account, "s3").get_object(Bucket="data", Key="raw/a.gz")["Body"].read() == b"x"
    health = requests.get(f"{account}{HEALTH_PATH}", timeout=5).json()
    assert health["journal_entries"] == journal
    assert health["iam"] is True
    assert health["denials"] >= 1


def test_a_resource_outside_the_policy_is_refused(account: str) -> None:
    with pytest.raises(ClientError) as refused:
        _jobs_s3(account).get_object(Bucket="data", Key="models/c.onnx")
    assert _denial(refused.value)[:2] == (403, "AccessDenied")
    assert "arn:aws:s3:::data/models/c.onnx" in _denial(refused.value)[2]


def test_an_explicit_deny_wins_and_says_so(account: str) -> None:
    with pytest.raises(ClientError) as refused:
        _jobs_s3(account).get_object(Bucket="data", Key="raw/labels/b.gz")
    status, code, message = _denial(refused.value)
    assert (status, code) == (403, "AccessDenied")
    assert message.endswith(
        "s3:GetObject on resource: arn:aws:s3:::data/raw/labels/b.gz "
        "with an explicit deny in an identity-based policy"
    )


def test_a_trust_policy_whose_condition_does_not_hold_refuses_the_role(account: str) -> None:
    with pytest.raises(ClientError) as refused:
        _assume(account, "jobs", "sagemaker.amazonaws.com", source_account="999999999999")
    status, code, message = _denial(refused.value)
    assert (status, code) == (403, "AccessDenied")
    assert "sts:AssumeRole" in message
    assert "resource-based policy" in message
    with pytest.raises(ClientError):
        _assume(account, "jobs", "events.amazonaws.com")  # a service the role does not trust


def test_json_services_answer_access_denied_exception(account: str) -> None:
    session = _assume(account, "jobs", "sagemaker.amazonaws.com")
    sagemaker = _client(account, "sagemaker", session["key"], session["secret"], session["token"])
    with pytest.raises(ClientError) as refused:
        sagemaker.list_model_packages()
    assert _denial(refused.value)[1] == "AccessDeniedException"
    report = requests.get(f"{account}{DENIALS_PATH}", timeout=5).json()
    assert report["recent"][-1]["action"] == "sagemaker:ListModelPackages"
    assert report["recent"][-1]["role"] == "jobs"
    used = report["used"]["jobs"]
    assert used["role/jobs:jobs#ReadRaw"] == {
        "s3:GetObject": "s3 GetObject arn:aws:s3:::data/raw/a.gz"
    }


def test_the_dummy_key_is_the_root_user(account: str) -> None:
    assert _client(account, "s3").list_buckets()["Buckets"]


def test_denials_are_logged_beside_the_journal(tmp_path: Path) -> None:
    app = build_app(tmp_path, strict=True, iam=True)
    assert app.permission.enabled
    assert app.permission.denials_log == tmp_path / "denials.jsonl"


def test_a_function_without_a_policy_is_read_like_aws(account: str) -> None:
    """moto raises for an empty function policy; the layer reads it as no statements."""
    import io
    import zipfile

    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("a.py", "def h(event, context):\n    return 1\n")
    role = f"arn:aws:iam::{ACCOUNT}:role/jobs"
    lam = _client(account, "lambda")
    lam.create_function(
        FunctionName="bare",
        Runtime="python3.11",
        Role=role,
        Handler="a.h",
        Code={"ZipFile": code.getvalue()},
    )
    with pytest.raises(ClientError) as missing:
        lam.get_function_url_config(FunctionName="bare")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_new_model_version_is_checked_against_the_arn_sagemaker_gives_it(account: str) -> None:
    """CreateModelPackage into a group: the version's ARN, model-package/<group>/<n>."""
    sagemaker = _client(account, "sagemaker")
    sagemaker.create_model_package_group(ModelPackageGroupName="Digits")
    iam = _client(account, "iam")
    iam.create_role(RoleName="register", AssumeRolePolicyDocument=_trust("sagemaker.amazonaws.com"))
    group_only = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sagemaker:CreateModelPackage",
                "Resource": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/digits/*",
            }
        ],
    }
    iam.put_role_policy(
        RoleName="register", PolicyName="register", PolicyDocument=json.dumps(group_only)
    )
    session = _assume(account, "register", "sagemaker.amazonaws.com")
    client = _client(account, "sagemaker", session["key"], session["secret"], session["token"])
    request = {
        "ModelPackageGroupName": "Digits",
        "InferenceSpecification": {
            "Containers": [{"Image": "img", "ModelDataUrl": "s3://data/raw/model.tar.gz"}],
            "SupportedContentTypes": ["application/octet-stream"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    }
    arn = client.create_model_package(**request)["ModelPackageArn"]
    assert arn.endswith(":model-package/digits/1")
    with pytest.raises(ClientError) as refused:
        client.create_model_package(**{**request, "ModelPackageGroupName": "Other"})
    assert "model-package/other/1" in _denial(refused.value)[2]
