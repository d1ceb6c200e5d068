"""The project's local API: its Lambda functions behind one local Function URL gateway.

get_models answers every path but `/feedback`, with contracts/api-cors.json (the file Terraform
gives the Function URL's `cors {}` block) and the settings' origins; `/feedback` goes to the
feedback function with contracts/feedback-cors.json and a token bucket per client (the settings'
`feedback_rate_limit_*`). The gateway itself is `localaws.gateway`.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from localaws.gateway import (
    FunctionUrl,
    FunctionUrlCors,
    FunctionUrlGateway,
    RunningGateway,
    TokenBuckets,
    UrlPermission,
)
from playground import lambda_functions

CONTRACTS = Path(__file__).resolve().parents[4] / "contracts"
API_CORS_FILE = CONTRACTS / "api-cors.json"
FEEDBACK_CORS_FILE = CONTRACTS / "feedback-cors.json"
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
    api, feedback_function = (f.name for f in lambda_functions.functions(settings))
    feedback = FunctionUrl(
        FeedbackApi(settings),
        FunctionUrlCors.from_contract(origins, FEEDBACK_CORS_FILE),
        TokenBuckets(per_minute, settings.feedback_rate_limit_burst) if per_minute else None,
        name="feedback",
        permission=_permission(settings, feedback_function),
    )
    return FunctionUrlGateway(
        ModelsApi(settings),
        host,
        settings.api_port if port is None else port,
        FunctionUrlCors.from_contract(origins, API_CORS_FILE),
        {FEEDBACK_PATH: feedback},
        permission=_permission(settings, api),
    )


def _permission(settings: Any, function: str) -> UrlPermission | None:
    """With IAM enforcement on, the function's resource policy decides each URL request."""
    if not getattr(settings, "emulator_iam", False) or settings.target != "local":
        return None
    import boto3

    client = boto3.client(
        "lambda",
        region_name=settings.region,
        endpoint_url=settings.endpoint_url or settings.emulator_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - the emulator's dummy
    )
    return UrlPermission(client, function)


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
