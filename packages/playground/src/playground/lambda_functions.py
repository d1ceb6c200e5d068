"""The two Lambda functions in the emulator, with the roles and URL permissions of Terraform.

Locally the gateway runs the handlers in its own process (`playground.api`), so the emulator's
functions are records, not running code: what they carry is what authorization reads, namely
each function's execution role (``aws_iam_role.api``/``feedback``) and its resource policy,
the two statements terraform/feedback.tf grants a public Function URL: anyone may call it
through the URL (``lambda:InvokeFunctionUrl``, auth type NONE) and may invoke it when the call
came through the URL (``lambda:InvokeFunction`` with ``lambda:InvokedViaFunctionUrl``), and the
one the provider adds by itself when it creates the URL. The code uploaded is the handlers'
package source, the code the gateway runs; runtime and URL CORS are Terraform's (the
account comparison in tests/e2e/terraform/test_terraform.py holds them so).
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
CONTRACTS = Path(__file__).resolve().parents[4] / "contracts"
# Each Function URL's CORS, the files terraform/lambda.tf and feedback.tf read too.
API_CORS_FILE = CONTRACTS / "api-cors.json"
FEEDBACK_CORS_FILE = CONTRACTS / "feedback-cors.json"
# terraform/lambda.tf and feedback.tf: the runtime both functions run on.
RUNTIME = "python3.13"
# The statement ids of terraform/feedback.tf (aws_lambda_permission.public_url) and of
# terraform/scripts/function_url_invoke_permission.py.
URL_STATEMENT = "public-function-url"
INVOKE_STATEMENT = "public-function-url-invoke"
# The statement provider 5.100's aws_lambda_function_url adds by itself to a function whose URL
# it creates with authorization NONE (lambda:InvokeFunctionUrl for "*", as the console does):
# in AWS the function's policy has it beside terraform/feedback.tf's two, so locally too.
PROVIDER_URL_STATEMENT = "FunctionURLAllowPublicAccess"


@dataclass(frozen=True)
class Function:
    """One function: its name, its role's name and its handler."""

    name: str
    role: str
    handler: str
    cors_file: Path


def functions(settings: Settings) -> list[Function]:
    """get_models and feedback, named as terraform/main.tf names them."""
    prefix = settings.name_prefix
    return [
        Function(
            f"{prefix}-get-models",
            f"{prefix}-get-models",
            "functions.get_models.handler.handler",
            API_CORS_FILE,
        ),
        Function(
            f"{prefix}-feedback",
            f"{prefix}-feedback",
            "functions.feedback.handler.handler",
            FEEDBACK_CORS_FILE,
        ),
    ]


def url_cors(function: Function, origins: tuple[str, ...]) -> dict[str, Any]:
    """The Function URL's CORS as Terraform configures it: the contract, the site's origins."""
    import json

    contract = json.loads(function.cors_file.read_text())
    cors = {
        "AllowOrigins": list(origins),
        "AllowMethods": contract["allow_methods"],
        "AllowHeaders": contract["allow_headers"],
        "ExposeHeaders": contract["expose_headers"],
        "MaxAge": contract["max_age"],
        "AllowCredentials": contract["allow_credentials"],
    }
    # The provider sends no empty list (an empty expose_headers is no ExposeHeaders at all).
    return {key: value for key, value in cors.items() if value != []}


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

    The runtime and each URL's CORS (the contract's, for the settings' origins) are Terraform's;
    a record made before with others is brought up to date. ``client`` is a boto3 Lambda client
    of the emulator; ``empty``: the emulator was just reset, so nothing is looked up first. Only
    what is missing or differs is written, so a restart adds nothing to the journal. Returns
    what it created or changed.
    """
    import json

    created: list[str] = []
    missing = client.exceptions.ResourceNotFoundException
    for function in functions(settings):
        try:
            if empty:
                raise missing({}, "GetFunction")
            found = client.get_function(FunctionName=function.name)["Configuration"]
        except missing:
            client.create_function(
                FunctionName=function.name,
                Runtime=RUNTIME,
                Role=f"arn:aws:iam::{account}:role/{function.role}",
                Handler=function.handler,
                Code={"ZipFile": _code()},
            )
            created.append(f"function {function.name}")
        else:
            if found.get("Runtime") != RUNTIME:  # a record made before, on another runtime
                client.update_function_configuration(FunctionName=function.name, Runtime=RUNTIME)
                created.append(f"runtime of {function.name}")
        cors = url_cors(function, settings.cors_allow_origins)
        try:
            if empty:
                raise missing({}, "GetFunctionUrlConfig")
            url = client.get_function_url_config(FunctionName=function.name)
        except missing:
            client.create_function_url_config(
                FunctionName=function.name, AuthType="NONE", Cors=cors
            )
            created.append(f"Function URL of {function.name}")
        else:
            if url.get("Cors") != cors:
                client.update_function_url_config(FunctionName=function.name, Cors=cors)
                created.append(f"CORS of the Function URL of {function.name}")
        try:
            if empty:
                raise missing({}, "GetPolicy")
            policy = json.loads(client.get_policy(FunctionName=function.name)["Policy"])
        except missing:
            policy = {}
        present = {s.get("Sid") for s in policy.get("Statement", [])}
        for statement in (PROVIDER_URL_STATEMENT, URL_STATEMENT):
            if statement in present:
                continue
            client.add_permission(
                FunctionName=function.name,
                StatementId=statement,
                Action="lambda:InvokeFunctionUrl",
                Principal="*",
                FunctionUrlAuthType="NONE",
            )
            created.append(f"{statement} permission of {function.name}")
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
