"""Strict mode: the journalled emulator refuses over HTTP what AWS refuses, and stores nothing.

Every request here goes through boto3 to a real emulator process (`playground local start`'s
own), so the refusals are the ones a user's code would meet.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from localaws import strict
from localaws.background import free_port
from localaws.emulator import VIOLATIONS_PATH
from mlops_settings import Settings
from playground import lambda_functions, roles, stack
from playground.cli import app

METADATA_PATTERN = r"([\p{L}\p{Z}\p{N}_.:\/=+\-@]*)${1,256}"


def _settings(monkeypatch: pytest.MonkeyPatch, state: Path, strict_mode: bool) -> Settings:
    monkeypatch.setenv("PLAYGROUND_EMULATOR_PORT", str(free_port()))
    monkeypatch.setenv("PLAYGROUND_STATE_DIR", str(state))
    monkeypatch.setenv("PLAYGROUND_EMULATOR_STRICT", "true" if strict_mode else "false")
    settings = Settings()
    for key, value in settings.aws_environment().items():
        monkeypatch.setenv(key, value)
    return settings


@pytest.fixture
def local(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Settings]:
    """A private strict emulator (the default) on a free port, state in a temp folder."""
    monkeypatch.delenv("PLAYGROUND_EMULATOR_STRICT", raising=False)
    settings = _settings(monkeypatch, tmp_path / "state", strict_mode=True)
    stack.start(settings)
    yield settings
    stack.stop(settings)


@pytest.fixture
def lenient(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Settings]:
    """The same emulator with PLAYGROUND_EMULATOR_STRICT=false."""
    settings = _settings(monkeypatch, tmp_path / "state", strict_mode=False)
    stack.start(settings)
    yield settings
    stack.stop(settings)


def client(settings: Settings, service: str) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=settings.emulator_url,
        config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=30),
    )


def source(settings: Settings) -> dict[str, Any]:
    """An uncompressed model file, as contracts/registry-entry.md hands it over."""
    uri = f"s3://{settings.model_bucket}/models/m/model.onnx"
    return {"S3DataSource": {"S3Uri": uri, "S3DataType": "S3Object", "CompressionType": "None"}}


def package(settings: Settings, metadata: dict[str, str]) -> dict[str, Any]:
    return {
        "ModelPackageGroupName": settings.model_package_group,
        "ModelApprovalStatus": "PendingManualApproval",
        "CustomerMetadataProperties": metadata,
        "InferenceSpecification": {
            "Containers": [{"Image": "img", "ModelDataSource": source(settings)}],
            "SupportedContentTypes": ["application/octet-stream"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    }


def refusal(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response: dict[str, Any] = caught.value.response
    return response


def violations(settings: Settings) -> dict[str, Any]:
    answer = requests.get(f"{settings.emulator_url}{VIOLATIONS_PATH}", timeout=5)
    answer.raise_for_status()
    report: dict[str, Any] = answer.json()
    return report


# --------------------------------------------------------------------------- patterns


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        (METADATA_PATTERN, "N,1,28,28", False),
        (METADATA_PATTERN, "N 1 28 28", True),
        (METADATA_PATTERN, "Zürich:7", True),  # \p{L} is Unicode, as in Java
        (r"[\w+=,.@-]+", "my-role", True),
        (r"[\w+=,.@-]+", "my role", False),
        (r"[\w+=,.@-]+", "rôle", False),  # Java's \w is ASCII-only
        (r"[\p{Punct}]+", "+$~", True),  # Java's \p{Punct} is ASCII punctuation, symbols too
        (r"[\w-\/.@+=,]{1,8}", "a-b/c", True),  # '-' after \w is a literal in Java
        (r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*", "emoji \U0001f600", True),
        (r"[a-z\x{0022}]+", 'a"b', True),
        (r"[^*]+", "abc", True),
        (r"[^*]+", "a*c", False),
    ],
)
def test_java_patterns_match_as_aws_matches_them(pattern: str, value: str, matches: bool) -> None:
    compiled = strict.compiled_pattern(pattern)
    assert compiled is not None
    assert (compiled.fullmatch(value) is not None) is matches


def test_every_pattern_of_the_services_we_use_compiles() -> None:
    import botocore.session

    loader = botocore.session.get_session().get_component("data_loader")
    failed = []
    for service in ("s3", "sagemaker", "iam", "lambda", "sts", "events", "cloudfront", "logs"):
        shapes = loader.load_service_model(service, "service-2")["shapes"]
        for name, shape in shapes.items():
            if "pattern" in shape and strict.compiled_pattern(shape["pattern"]) is None:
                failed.append(f"{service}.{name}: {shape['pattern']}")
    assert failed == []


def test_message_reads_like_aws() -> None:
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    shape = model.operation_model("CreateModelPackage").input_shape
    problems = strict.validate(
        shape,
        {"CustomerMetadataProperties": {"input_shape": "N,1,28,28", "ok": "fine"}},
    )
    assert strict.message(problems) == (
        "1 validation error detected: Value 'N,1,28,28' at "
        "'customerMetadataProperties.input_shape' failed to satisfy constraint: Member must "
        f"satisfy regular expression pattern: {METADATA_PATTERN}"
    )


def test_sensitive_values_are_not_echoed() -> None:
    import botocore.session

    model = botocore.session.get_session().get_service_model("iam")
    shape = model.operation_model("CreateLoginProfile").input_shape
    problems = strict.validate(shape, {"UserName": "alice", "Password": "secret\u0100"})
    assert strict.message(problems) == (
        "1 validation error detected: Value at 'password' failed to satisfy constraint: "
        r"Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u00FF]+"
    )


# --------------------------------------------------------------------------- over HTTP


def test_model_package_with_commas_in_metadata_is_refused_and_not_stored(local: Settings) -> None:
    sagemaker = client(local, "sagemaker")
    before = stack.status(local).journal_entries
    response = refusal(
        sagemaker.create_model_package,
        **package(local, {"input_shape": "N,1,28,28", "output_shape": "N,10"}),
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"]["Code"] == "ValidationException"
    message = response["Error"]["Message"]
    assert message.startswith("2 validation errors detected: ")
    assert (
        "Value 'N,1,28,28' at 'customerMetadataProperties.input_shape' failed to satisfy "
        f"constraint: Member must satisfy regular expression pattern: {METADATA_PATTERN}"
    ) in message
    assert "Value 'N,10' at 'customerMetadataProperties.output_shape'" in message
    listed = sagemaker.list_model_packages(ModelPackageGroupName=local.model_package_group)
    assert listed["ModelPackageSummaryList"] == []
    assert stack.status(local).journal_entries == before
    report = violations(local)
    assert report["strict"] is True
    assert report["violations"] == 1
    assert report["recent"][0]["operation"] == "CreateModelPackage"
    log = (stack.StackPaths.of(local).root / "violations.jsonl").read_text().splitlines()
    assert json.loads(log[0])["message"] == message


def test_update_that_breaks_the_pattern_is_refused_and_changes_nothing(local: Settings) -> None:
    sagemaker = client(local, "sagemaker")
    arn = sagemaker.create_model_package(**package(local, {"input_shape": "N 1 28 28"}))[
        "ModelPackageArn"
    ]
    response = refusal(
        sagemaker.update_model_package,
        ModelPackageArn=arn,
        ModelApprovalStatus="Rejected",
        ApprovalDescription="misreads 7s, see #12 (tried)",  # free text is allowed here
        CustomerMetadataProperties={"input_shape": "N,1,28,28"},
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "'customerMetadataProperties.input_shape'" in response["Error"]["Message"]
    described = sagemaker.describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "PendingManualApproval"
    assert described["CustomerMetadataProperties"] == {"input_shape": "N 1 28 28"}
    # The same update with metadata AWS accepts goes through, free-text reason and all.
    sagemaker.update_model_package(
        ModelPackageArn=arn,
        ModelApprovalStatus="Rejected",
        ApprovalDescription="misreads 7s, see #12 (tried)",
        CustomerMetadataProperties={"input_shape": "N 1 28 28"},
    )
    described = sagemaker.describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "Rejected"


def test_a_bare_model_file_in_model_data_url_is_refused_and_model_data_source_kept(
    local: Settings,
) -> None:
    sagemaker = client(local, "sagemaker")
    bare = package(local, {"sha256": "abc"})
    container = bare["InferenceSpecification"]["Containers"][0]
    uri = container.pop("ModelDataSource")["S3DataSource"]["S3Uri"]
    container["ModelDataUrl"] = uri

    response = refusal(sagemaker.create_model_package, **bare)

    assert response["Error"]["Code"] == "ValidationException"
    assert response["Error"]["Message"] == (
        f"1 validation error detected: Value '{uri}' at "
        "'InferenceSpecification.Containers.1.ModelDataUrl' must point to a single gzip "
        "compressed tar archive (.tar.gz suffix); for an uncompressed model use "
        "ModelDataSource with S3DataType S3Object and CompressionType None"
    )
    listed = sagemaker.list_model_packages(ModelPackageGroupName=local.model_package_group)
    assert listed["ModelPackageSummaryList"] == []
    # The documented way for an uncompressed file is stored and read back whole.
    arn = sagemaker.create_model_package(**package(local, {"sha256": "abc"}))["ModelPackageArn"]
    described = sagemaker.describe_model_package(ModelPackageName=arn)
    assert described["InferenceSpecification"]["Containers"][0]["ModelDataSource"] == source(local)


@pytest.mark.parametrize("name", ["Bad_Bucket", "UPPERCASE-bucket", "ab", "a..b"])
def test_bucket_name_aws_refuses_is_refused(local: Settings, name: str) -> None:
    s3 = client(local, "s3")
    response = refusal(s3.create_bucket, Bucket=name)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"]["Code"] == "InvalidBucketName"
    assert name in response["Error"]["Message"]
    assert name not in {b["Name"] for b in s3.list_buckets()["Buckets"]}


def test_iam_role_names_aws_refuses_are_refused(local: Settings) -> None:
    iam = client(local, "iam")
    policy = json.dumps({"Version": "2012-10-17", "Statement": []})
    spaced = refusal(iam.create_role, RoleName="my role", AssumeRolePolicyDocument=policy)
    assert spaced["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert spaced["Error"]["Code"] == "ValidationError"
    assert spaced["Error"]["Message"] == (
        "1 validation error detected: Value 'my role' at 'roleName' failed to satisfy "
        r"constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+"
    )
    long = refusal(iam.create_role, RoleName="r" * 65, AssumeRolePolicyDocument=policy)
    assert "Member must have length less than or equal to 64" in long["Error"]["Message"]
    bootstrapped = {r["RoleName"] for r in iam.list_roles()["Roles"]}  # `make up`'s roles
    assert bootstrapped == {r.name for r in roles.all_roles(local)}
    # A name AWS accepts still works, tags (a query-protocol list of structures) included.
    iam.create_role(
        RoleName="good-role", AssumeRolePolicyDocument=policy, Tags=[{"Key": "k", "Value": "v"}]
    )
    assert {r["RoleName"] for r in iam.list_roles()["Roles"]} == bootstrapped | {"good-role"}


def test_valid_requests_of_every_protocol_still_work(local: Settings) -> None:
    s3 = client(local, "s3")
    s3.put_object(Bucket=local.data_bucket, Key="dir/a key+with/odd=chars.txt", Body=b"x")
    listed = s3.list_objects_v2(Bucket=local.data_bucket, Prefix="dir/")
    assert [o["Key"] for o in listed["Contents"]] == ["dir/a key+with/odd=chars.txt"]
    s3.delete_objects(
        Bucket=local.data_bucket, Delete={"Objects": [{"Key": "dir/a key+with/odd=chars.txt"}]}
    )
    # Same URI as the deprecated PutBucketLifecycle, whose rules need a Prefix: not this one.
    s3.put_bucket_lifecycle_configuration(
        Bucket=local.data_bucket,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "expire-tmp",
                    "Status": "Enabled",
                    "Filter": {"Prefix": "tmp/"},
                    "Expiration": {"Days": 7},
                }
            ]
        },
    )
    assert client(local, "sts").get_caller_identity()["Account"]
    functions = {f["FunctionName"] for f in client(local, "lambda").list_functions()["Functions"]}
    assert functions == {f.name for f in lambda_functions.functions(local)}  # `make up`'s
    groups = client(local, "sagemaker").list_model_package_groups()
    assert len(groups["ModelPackageGroupSummaryList"]) == 1
    assert violations(local)["violations"] == 0


def test_refusals_leave_nothing_to_find_after_a_restart(local: Settings) -> None:
    sagemaker = client(local, "sagemaker")
    refusal(sagemaker.create_model_package, **package(local, {"shape": "N,10"}))
    refusal(client(local, "s3").create_bucket, Bucket="Bad_Bucket")
    journal = stack.StackPaths.of(local).journal.read_text()
    assert "N,10" not in journal
    assert "Bad_Bucket" not in journal
    stack.stop(local)
    stack.start(local)
    listed = sagemaker.list_model_packages(ModelPackageGroupName=local.model_package_group)
    assert listed["ModelPackageSummaryList"] == []
    assert "Bad_Bucket" not in {b["Name"] for b in client(local, "s3").list_buckets()["Buckets"]}


def test_lambda_rest_json_name_is_checked(local: Settings) -> None:
    response = refusal(client(local, "lambda").get_function, FunctionName="bad name!")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"]["Code"] == "ValidationException"
    assert "at 'functionName' failed to satisfy constraint" in response["Error"]["Message"]


def test_moto_endpoints_and_unsigned_requests_pass_through(local: Settings) -> None:
    # The dashboard, not data.json: moto cannot serialise the Lambda functions `make up` makes.
    assert requests.get(f"{local.emulator_url}/moto-api/", timeout=10).ok
    unsigned = requests.get(f"{local.emulator_url}/{local.data_bucket}", timeout=10)
    assert unsigned.status_code != 400 or "validation error" not in unsigned.text
    assert violations(local)["violations"] == 0


def test_strict_off_lets_it_through_and_status_says_so(lenient: Settings) -> None:
    sagemaker = client(lenient, "sagemaker")
    sagemaker.create_model_package(**package(lenient, {"input_shape": "N,1,28,28"}))
    listed = sagemaker.list_model_packages(ModelPackageGroupName=lenient.model_package_group)
    assert len(listed["ModelPackageSummaryList"]) == 1
    assert stack.status(lenient).strict is False
    result = CliRunner().invoke(app, ["local", "status"])
    assert result.exit_code == 0, result.output
    assert "strict mode: off" in result.output


def test_status_shows_strict_mode_and_refusals(local: Settings) -> None:
    refusal(client(local, "s3").create_bucket, Bucket="Bad_Bucket")
    result = CliRunner().invoke(app, ["local", "status"])
    assert result.exit_code == 0, result.output
    assert "strict mode: on, 1 requests refused since start" in " ".join(result.output.split())
