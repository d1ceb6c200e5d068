"""The project's local API: its Lambda functions behind one local Function URL gateway.

get_models answers every path but `/feedback`, with contracts/api-cors.json (the file Terraform
gives the Function URL's `cors {}` block) and the settings' origins; `/feedback` goes to the
feedback function with contracts/feedback-cors.json and a token bucket per client (the settings'
`feedback_rate_limit_*`). The gateway itself is `localaws.gateway`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from localaws.credentials import assume_role_as_service
from localaws.gateway import (
    FunctionUrl,
    FunctionUrlCors,
    FunctionUrlGateway,
    RunningGateway,
    TokenBuckets,
    UrlPermission,
)
from playground import lambda_functions

API_CORS_FILE = lambda_functions.API_CORS_FILE
FEEDBACK_CORS_FILE = lambda_functions.FEEDBACK_CORS_FILE
FEEDBACK_PATH = "/feedback"


def api_gateway(
    settings: Any, host: str = "127.0.0.1", port: int | None = None
) -> FunctionUrlGateway:
    """The local API: get_models on every path, the feedback function on `/feedback`.

    Args:
        settings: the playground settings; `endpoint_url` must already name the emulator
            locally (see `playground.commands.serve.api_settings`).
        host: address to bind (loopback by default).
        port: port to listen on; `settings.api_port` by default, 0 for any free port.

    Returns:
        The gateway (not serving yet), each function with its Function URL's CORS
        configuration for the settings' origins, and the feedback function with the
        settings' rate limit per client (none when `feedback_rate_limit_per_minute` is 0).

    Raises:
        OSError: the port cannot be bound.
    """
    # Imported here so that other playground commands do not pay for the handlers' imports.
    from functions.feedback.handler import FeedbackApi
    from functions.get_models.handler import ModelsApi

    origins = settings.cors_allow_origins
    per_minute = settings.feedback_rate_limit_per_minute
    api, feedback_function = lambda_functions.functions(settings)
    feedback = FunctionUrl(
        FeedbackApi(settings, session=_execution_session(settings, feedback_function)),
        FunctionUrlCors.from_contract(origins, FEEDBACK_CORS_FILE),
        TokenBuckets(per_minute, settings.feedback_rate_limit_burst) if per_minute else None,
        name="feedback",
        permission=_permission(settings, feedback_function.name),
    )
    return FunctionUrlGateway(
        ModelsApi(settings, session=_execution_session(settings, api)),
        host,
        settings.api_port if port is None else port,
        FunctionUrlCors.from_contract(origins, API_CORS_FILE),
        {FEEDBACK_PATH: feedback},
        permission=_permission(settings, api.name),
    )


def _local(settings: Any) -> bool:
    return bool(settings.target == "local")


def emulator_enforces(settings: Any) -> Callable[[], bool]:
    """Whether the emulator decides permissions now (its health answer's ``iam``), asked live.

    The gateway follows the emulator rather than its own start's setting, so turning IAM
    enforcement on or off with a restart of the emulator alone reaches the API too. An
    emulator that does not answer counts as enforcing (the URL then fails closed, as it must
    when the function's policy cannot be read).
    """
    import requests

    from localaws.control_paths import HEALTH_PATH

    url = (settings.endpoint_url or settings.emulator_url) + HEALTH_PATH

    def enforces() -> bool:
        try:
            return bool(requests.get(url, timeout=5).json().get("iam", True))
        except (requests.RequestException, ValueError):
            return True

    return enforces


def _execution_session(settings: Any, function: lambda_functions.Function) -> Any:
    """Locally the function runs as its execution role, as Lambda runs it.

    Lambda assumes the role as ``lambda.amazonaws.com`` (under the role's trust policy) and
    gives the function that session's keys, whether or not the emulator enforces IAM now (so
    a restart of the emulator with the other setting needs no restart here); None (the
    default credentials) in AWS.
    """
    if not _local(settings):
        return None
    import boto3

    endpoint = settings.endpoint_url or settings.emulator_url
    account = lambda_functions.roles.LOCAL_ACCOUNT
    role = assume_role_as_service(
        endpoint,
        settings.region,
        f"arn:aws:iam::{account}:role/{function.role}",
        "lambda.amazonaws.com",
        function.name,
        source_arn=f"arn:aws:lambda:{settings.region}:{account}:function:{function.name}",
    )
    return boto3.session.Session(
        aws_access_key_id=role.access_key_id,
        aws_secret_access_key=role.secret_access_key,
        aws_session_token=role.session_token,
        region_name=settings.region,
    )


def _permission(settings: Any, function: str) -> UrlPermission | None:
    """Locally, the function's resource policy decides each URL request (while enforced)."""
    if not _local(settings):
        return None
    import boto3

    client = boto3.client(
        "lambda",
        region_name=settings.region,
        endpoint_url=settings.endpoint_url or settings.emulator_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - the emulator's dummy
    )
    return UrlPermission(client, function, enforced=emulator_enforces(settings))


def start_models_api(
    settings: Any, host: str = "127.0.0.1", port: int | None = None
) -> RunningGateway:
    """Serve the local API (`api_gateway`) on a background thread.

    Args:
        settings: the playground settings, as for `api_gateway`.
        host: address to bind (loopback by default).
        port: port to listen on; `settings.api_port` by default, 0 for any free port.

    Returns:
        The running gateway; call `.stop()` to end it.
    """
    gateway = api_gateway(settings, host, port)
    thread = threading.Thread(target=gateway.serve_forever, name="gateway", daemon=True)
    thread.start()
    return RunningGateway(gateway, thread)
