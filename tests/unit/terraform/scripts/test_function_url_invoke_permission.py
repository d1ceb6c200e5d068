"""The apply-time grant of lambda:InvokeFunction through a Function URL (provider 5.100 cannot)."""

from __future__ import annotations

import importlib.util
import io
import json
import zipfile
from pathlib import Path
from types import ModuleType

import boto3
import pytest
from moto import mock_aws

SCRIPT = Path(__file__).parents[4] / "terraform" / "scripts" / "function_url_invoke_permission.py"


@pytest.fixture(autouse=True)
def _in_process_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's in-process AWS, not an endpoint another test left in the environment."""
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("function_url_invoke_permission", SCRIPT)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _function(client: object) -> None:
    iam = boto3.client("iam", region_name="us-east-1")
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return 1\n")
    client.create_function(  # type: ignore[attr-defined]
        FunctionName="api",
        Runtime="python3.11",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": code.getvalue()},
    )


def test_the_statement_is_added_once_with_the_url_condition(script: ModuleType) -> None:
    with mock_aws():
        client = boto3.client("lambda", region_name="us-east-1")
        _function(client)
        assert script.grant(client, "api") is True
        assert script.grant(client, "api") is False  # a second apply adds nothing
        statements = json.loads(client.get_policy(FunctionName="api")["Policy"])["Statement"]
    [statement] = statements
    assert statement["Sid"] == script.STATEMENT_ID
    assert statement["Action"] == "lambda:InvokeFunction"
    assert statement["Principal"] == "*"
    # moto keeps the flag as sent (AWS shows it as Bool lambda:InvokedViaFunctionUrl = true).
    assert statement["InvokedViaFunctionUrl"] is True


def test_a_missing_function_fails_with_aws_message(script: ModuleType, capsys) -> None:  # type: ignore[no-untyped-def]
    with mock_aws():
        code = script.main(["--function", "nope", "--region", "us-east-1"])
    assert code == 1
    assert "nope" in capsys.readouterr().err
