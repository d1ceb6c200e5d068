"""The local Function URL gateway: event translation, and the API fuzzed through it."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from functions.feedback.handler import FeedbackApi
from functions.get_models.fixtures import register_model
from functions.get_models.handler import ModelsApi
from localaws.gateway import (
    FunctionUrl,
    FunctionUrlCors,
    RunningGateway,
    start_gateway,
)
from mlops_settings import Settings
from playground.api import API_CORS_FILE, FEEDBACK_PATH, start_models_api

CONTRACT = Path(__file__).resolve().parents[3] / "contracts" / "openapi.yaml"
ERROR_CODES = set(
    __import__("yaml").safe_load(CONTRACT.read_text())["components"]["schemas"]["Error"][
        "properties"
    ]["error"]["properties"]["code"]["enum"]
)


def _echo(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    if event["rawPath"] == "/boom":
        raise RuntimeError("secret internals")
    if event["rawPath"] == "/binary":
        body = base64.b64encode(b"\x00\x01").decode()
        return {"statusCode": 200, "body": body, "isBase64Encoded": True}
    return {
        "statusCode": 207,
        "headers": {"Content-Type": "application/json", "X-Request": context.aws_request_id},
        "body": json.dumps({"method": event["requestContext"]["http"]["method"], "event": event}),
        "isBase64Encoded": False,
    }


@pytest.fixture
def echo() -> Iterator[RunningGateway]:
    running = start_gateway(_echo)
    yield running
    running.stop()


def test_gateway_passes_requests_and_responses_through(echo: RunningGateway) -> None:
    answer = requests.get(f"{echo.url}/a/b?x=1", headers={"Origin": "http://o"}, timeout=5)
    assert answer.status_code == 207
    assert answer.headers["X-Request"]
    seen = answer.json()["event"]
    assert seen["rawPath"] == "/a/b"
    assert seen["queryStringParameters"] == {"x": "1"}
    assert seen["headers"]["origin"] == "http://o"
    assert seen["requestContext"]["http"]["sourceIp"] == "127.0.0.1"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"])
def test_every_method_reaches_the_handler(echo: RunningGateway, method: str) -> None:
    answer = requests.request(method, f"{echo.url}/x", data=b"{}", timeout=5)
    assert answer.json()["method"] == method


def test_head_gets_headers_without_a_body(echo: RunningGateway) -> None:
    answer = requests.head(f"{echo.url}/x", timeout=5)
    assert answer.status_code == 207
    assert answer.content == b""


def test_base64_response_is_decoded(echo: RunningGateway) -> None:
    assert requests.get(f"{echo.url}/binary", timeout=5).content == b"\x00\x01"


def test_failing_handler_is_a_502_without_internals(echo: RunningGateway) -> None:
    answer = requests.get(f"{echo.url}/boom", timeout=5)
    assert answer.status_code == 502
    assert answer.json()["error"]["code"] == "internal_error"
    assert "secret internals" not in answer.text
    assert "Traceback" not in answer.text


def test_requests_are_served_concurrently(echo: RunningGateway) -> None:
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda i: requests.get(f"{echo.url}/{i}", timeout=10), range(64)))
    codes = [a.status_code for a in answers]
    assert codes == [207] * 64


# --- the real API behind the gateway, fuzzed -------------------------------------------------


@pytest.fixture(scope="module")
def api_gateway(emulator_url: str) -> Iterator[str]:
    """The API over the emulator with a few versions of each status, served by the gateway."""
    requests.post(f"{emulator_url}/moto-api/reset", timeout=10).raise_for_status()
    session = boto3.session.Session(
        region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    settings_ = Settings(endpoint_url=emulator_url)
    s3 = session.client("s3", endpoint_url=emulator_url)
    sagemaker = session.client("sagemaker", endpoint_url=emulator_url)
    s3.create_bucket(Bucket=settings_.model_bucket)
    s3.create_bucket(Bucket=settings_.data_bucket)
    sagemaker.create_model_package_group(ModelPackageGroupName=settings_.model_package_group)
    statuses = ["Approved", "PendingManualApproval", "Approved", "Rejected"] * 2
    for seed, status in enumerate(statuses):
        register_model(
            sagemaker,
            s3,
            group=settings_.model_package_group,
            bucket=settings_.model_bucket,
            region=settings_.region,
            status=status,
            seed=seed,
            upload=False,
        )
    # No rate limit here: the fuzzer is one client sending far more than a person would.
    feedback = FunctionUrl(FeedbackApi(settings_, session), name="feedback")
    running = start_gateway(ModelsApi(settings_, session), routes={FEEDBACK_PATH: feedback})
    yield running.url
    running.stop()


schema = schemathesis.openapi.from_path(CONTRACT)
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=40
)
# A body over the limit is refused before it is read as JSON: 413 is a rejection too.
_rejection = schema.config.checks.negative_data_rejection
_rejection.expected_statuses = [*_rejection.expected_statuses, "413"]


@schema.parametrize()
@settings(suppress_health_check=list(HealthCheck), deadline=None)
def test_api_conforms_to_its_contract(case: schemathesis.Case, api_gateway: str) -> None:
    # A schema-valid next_token is still refused unless this API issued it (it is opaque),
    # so "valid data is accepted" is checked here only for requests without one.
    response = case.call_and_validate(
        base_url=api_gateway, excluded_checks=[positive_data_acceptance]
    )
    assert response.status_code < 500
    assert "Traceback" not in response.text
    positive = case.meta is not None and not case.meta.generation.mode.is_negative
    if positive and case.path == "/feedback" and case.method == "POST":
        # A well-formed correction still names a version; random ones are not approved.
        assert response.status_code in (202, 400), response.text
        if response.status_code == 400:
            assert response.json()["error"]["code"] == "unknown_model_version"
    elif positive and "next_token" not in (case.query or {}):
        assert response.status_code in (200, 204, 404), response.text


SEGMENT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=0, max_size=12)


@given(
    segments=st.lists(SEGMENT, max_size=4),
    query=st.lists(
        st.tuples(st.sampled_from(["limit", "next_token", "x", ""]), SEGMENT), max_size=3
    ),
    method=st.sampled_from(["GET", "GET", "OPTIONS", "POST", "DELETE", "HEAD"]),
)
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
def test_malformed_requests_get_a_json_4xx_never_a_5xx(
    api_gateway: str, segments: list[str], query: list[tuple[str, str]], method: str
) -> None:
    path = "/" + "/".join(quote(s, safe="") for s in ["models", *segments])
    target = path + ("?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in query) if query else "")
    answer = requests.request(method, api_gateway + target, timeout=10)
    assert answer.status_code in (200, 204, 400, 404, 405), (target, answer.text)
    assert "Traceback" not in answer.text
    if answer.status_code >= 400 and method != "HEAD":
        assert answer.json()["error"]["code"] in ERROR_CODES


def test_models_api_runs_in_the_background(emulator: Settings) -> None:
    running = start_models_api(emulator, port=0)
    try:
        answer = requests.get(f"{running.url}/models", timeout=10)
        assert answer.status_code == 200
        assert answer.json() == {"models": [], "next_token": None}
    finally:
        running.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{running.url}/models", timeout=2)


SITE = "https://digits.example.com"
API_CORS = json.loads(API_CORS_FILE.read_text())


def _acao(answer: requests.Response) -> list[str]:
    """Every Access-Control-Allow-Origin header of the answer, as sent (duplicates kept)."""
    raw = answer.raw._original_response.msg  # the http.client message keeps repeated headers
    return list(raw.get_all("Access-Control-Allow-Origin") or [])


@pytest.fixture
def site_api(emulator: Settings) -> Iterator[RunningGateway]:
    """The models API as `make up` serves it, for a site on one origin."""
    running = start_models_api(emulator.model_copy(update={"cors_allow_origins": (SITE,)}), port=0)
    yield running
    running.stop()


def test_an_allowed_origin_gets_exactly_one_allow_origin_header(
    site_api: RunningGateway,
) -> None:
    answer = requests.get(f"{site_api.url}/models", headers={"Origin": SITE}, timeout=10)
    assert answer.status_code == 200
    assert _acao(answer) == [SITE]
    assert answer.headers["Vary"] == "Origin"


def test_another_origin_gets_no_allow_origin_header(site_api: RunningGateway) -> None:
    answer = requests.get(
        f"{site_api.url}/models", headers={"Origin": "https://evil.example"}, timeout=10
    )
    assert answer.status_code == 200  # served; the browser withholds it from the page
    assert _acao(answer) == []


def test_the_url_layer_answers_preflights_from_the_terraform_configuration(
    site_api: RunningGateway,
) -> None:
    answer = requests.options(
        f"{site_api.url}/models/3",
        headers={"Origin": SITE, "Access-Control-Request-Method": "GET"},
        timeout=10,
    )
    assert answer.status_code == 200
    assert _acao(answer) == [SITE]
    assert answer.headers["Access-Control-Allow-Methods"] == ",".join(API_CORS["allow_methods"])
    assert answer.headers["Access-Control-Allow-Headers"] == ",".join(API_CORS["allow_headers"])
    assert answer.headers["Access-Control-Max-Age"] == str(API_CORS["max_age"])
    refused = requests.options(
        f"{site_api.url}/models",
        headers={"Origin": SITE, "Access-Control-Request-Method": "DELETE"},
        timeout=10,
    )
    assert _acao(refused) == []


def test_preflights_never_reach_the_function_and_other_requests_do() -> None:
    calls: list[str] = []

    def handler(event: Mapping[str, Any], context: Any) -> Mapping[str, Any]:
        calls.append(event["requestContext"]["http"]["method"])
        return {"statusCode": 204, "headers": {}, "body": ""}

    running = start_gateway(handler, cors=FunctionUrlCors.from_contract(("*",), API_CORS_FILE))
    try:
        preflight = requests.options(
            f"{running.url}/models",
            headers={"Origin": SITE, "Access-Control-Request-Method": "GET"},
            timeout=5,
        )
        plain = requests.options(f"{running.url}/models", timeout=5)
    finally:
        running.stop()
    assert _acao(preflight) == ["*"]
    assert plain.status_code == 204
    assert calls == ["OPTIONS"]  # only the request without preflight headers


def test_a_function_that_adds_cors_itself_shows_the_duplicate_a_browser_refuses() -> None:
    # What happened in AWS while the handler and the Function URL both set the header.
    def handler(event: Mapping[str, Any], context: Any) -> Mapping[str, Any]:
        return {"statusCode": 200, "headers": {"Access-Control-Allow-Origin": "*"}, "body": ""}

    running = start_gateway(handler, cors=FunctionUrlCors.from_contract((SITE,), API_CORS_FILE))
    try:
        answer = requests.get(f"{running.url}/models", headers={"Origin": SITE}, timeout=5)
    finally:
        running.stop()
    assert _acao(answer) == ["*", SITE]


def test_a_client_that_never_sends_its_body_is_let_go(
    echo: RunningGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A declared body that never arrives frees its connection after the gateway's timeout."""
    import socket

    from localaws import gateway

    assert 0 < gateway._RequestHandler.timeout <= 60  # seconds; shortened for the test
    monkeypatch.setattr(gateway._RequestHandler, "timeout", 0.5)
    host, port = echo.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as stalled:
        stalled.sendall(
            b"POST /feedback HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
        # Other clients are answered meanwhile, and the stalled one is closed, not kept.
        assert requests.get(f"{echo.url}/models", timeout=5).status_code == 207
        assert stalled.recv(65536) == b""


def test_a_function_url_without_invoke_function_answers_403_as_aws(emulator: Settings) -> None:
    """Since October 2025 a URL needs InvokeFunctionUrl and InvokeFunction via the URL."""
    from localaws.gateway import UrlPermission
    from playground import roles
    from playground.lambda_functions import INVOKE_STATEMENT, functions, install

    client = boto3.client("lambda")
    # As `make up` creates them with IAM enforcement on: both statements.
    roles.install(emulator, boto3.client("iam"))
    install(emulator, client)
    name = functions(emulator)[0].name
    running = start_gateway(_echo, permission=UrlPermission(client, name, ttl_seconds=0))
    try:
        assert requests.get(f"{running.url}/models", timeout=10).status_code == 207
        client.remove_permission(FunctionName=name, StatementId=INVOKE_STATEMENT)
        refused = requests.get(f"{running.url}/models", timeout=10)
        assert refused.status_code == 403
        assert refused.json() == {"Message": "Forbidden"}
        assert refused.headers["x-amzn-ErrorType"] == "AccessDeniedException"
        assert running.gateway.denials == 1
        client.add_permission(
            FunctionName=name,
            StatementId=INVOKE_STATEMENT,
            Action="lambda:InvokeFunction",
            Principal="*",
            InvokedViaFunctionUrl=True,
        )
        assert requests.get(f"{running.url}/models", timeout=10).status_code == 207
    finally:
        running.stop()
