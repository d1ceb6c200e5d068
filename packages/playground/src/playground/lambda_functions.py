"""The two Lambda functions in the emulator, with the roles and URL permissions of Terraform.

Locally the gateway runs the handlers in its own process (`playground.api`), so the emulator's
functions are records, not running code: what they carry is what authorization reads, namely
each function's execution role (``aws_iam_role.api``/``feedback``) and its resource policy,
the two statements terraform/feedback.tf grants a public Function URL: anyone may call it
through the URL (``lambda:InvokeFunctionUrl``, auth type NONE) and may invoke it when the call
came through the URL (``lambda:InvokeFunction`` with ``lambda:InvokedViaFunctionUrl``). The
code uploaded is the handlers' package source, the code the gateway runs.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from mlops_settings import Settings
from playground import roles

FUNCTIONS_SOURCE = Path(__file__).resolve().parents[3] / "functions" / "src" / "functions"
# The statement ids of terraform/feedback.tf (aws_lambda_permission.public_url) and of
# terraform/scripts/function_url_invoke_permission.py.
URL_STATEMENT = "public-function-url"
INVOKE_STATEMENT = "public-function-url-invoke"


@dataclass(frozen=True)
class Function:
    """One function: its name, its role's name and its handler."""

    name: str
    role: str
    handler: str


def functions(settings: Settings) -> list[Function]:
    """get_models and feedback, named as terraform/main.tf names them."""
    prefix = settings.name_prefix
    return [
        Function(
            f"{prefix}-get-models", f"{prefix}-get-models", "functions.get_models.handler.handler"
        ),
        Function(f"{prefix}-feedback", f"{prefix}-feedback", "functions.feedback.handler.handler"),
    ]


@cache
def _code() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(FUNCTIONS_SOURCE.rglob("*.py")):
            info = zipfile.ZipInfo(str(Path("functions") / path.relative_to(FUNCTIONS_SOURCE)))
            info.date_time = (2020, 1, 1, 0, 0, 0)  # the same bytes every time: no spurious update
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def install(
    settings: Settings, client: Any, account: str = roles.LOCAL_ACCOUNT, empty: bool = False
) -> list[str]:
    """Create the functions, their URLs and their URL permissions when missing.

    ``client`` is a boto3 Lambda client of the emulator; ``empty``: the emulator was just
    reset, so nothing is looked up first. Only what is missing is created, so a restart adds
    nothing to the journal. Returns what it created.
    """
    import json

    created: list[str] = []
    missing = client.exceptions.ResourceNotFoundException
    for function in functions(settings):
        try:
            if empty:
                raise missing({}, "GetFunction")
            client.get_function(FunctionName=function.name)
        except missing:
            client.create_function(
                FunctionName=function.name,
                Runtime="python3.11",
                Role=f"arn:aws:iam::{account}:role/{function.role}",
                Handler=function.handler,
                Code={"ZipFile": _code()},
            )
            created.append(f"function {function.name}")
        try:
            if empty:
                raise missing({}, "GetFunctionUrlConfig")
            client.get_function_url_config(FunctionName=function.name)
        except missing:
            client.create_function_url_config(FunctionName=function.name, AuthType="NONE")
            created.append(f"Function URL of {function.name}")
        try:
            if empty:
                raise missing({}, "GetPolicy")
            policy = json.loads(client.get_policy(FunctionName=function.name)["Policy"])
        except missing:
            policy = {}
        present = {s.get("Sid") for s in policy.get("Statement", [])}
        if URL_STATEMENT not in present:
            client.add_permission(
                FunctionName=function.name,
                StatementId=URL_STATEMENT,
                Action="lambda:InvokeFunctionUrl",
                Principal="*",
                FunctionUrlAuthType="NONE",
            )
            created.append(f"{URL_STATEMENT} permission of {function.name}")
        if INVOKE_STATEMENT not in present:
            client.add_permission(
                FunctionName=function.name,
                StatementId=INVOKE_STATEMENT,
                Action="lambda:InvokeFunction",
                Principal="*",
                InvokedViaFunctionUrl=True,
            )
            created.append(f"{INVOKE_STATEMENT} permission of {function.name}")
    return created
