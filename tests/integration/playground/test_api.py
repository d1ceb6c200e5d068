"""The project's API (models and feedback) as `make up` serves it through the Function URL
stand-in: its OpenAPI contract fuzzed, its CORS from the Terraform configuration, and the
Function URL permissions `make up` installs."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
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
from localaws.gateway import FunctionUrl, RunningGateway, UrlPermission, start_gateway
from mlops_settings import Settings
from playground import roles
from playground.api import API_CORS_FILE, FEEDBACK_PATH, start_models_api
from playground.lambda_functions import INVOKE_STATEMENT, functions, install

CONTRACT = Path(__file__).resolve().parents[3] / "contracts" / "openapi.yaml"
ERROR_CODES = set(
    __import__("yaml").safe_load(CONTRACT.read_text())["components"]["schemas"]["Error"][
        "properties"
    ]["error"]["properties"]["code"]["enum"]
)


def _acao(answer: requests.Response) -> list[str]:
    """Every Access-Control-Allow-Origin header of the answer, as sent (duplicates kept)."""
    raw = answer.raw._original_response.msg  # the http.client message keeps repeated headers
    return list(raw.get_all("Access-Control-Allow-Origin") or [])


def _ok(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 207, "headers": {}, "body": ""}


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


def test_a_function_url_without_invoke_function_answers_403_as_aws(emulator: Settings) -> None:
    """Since October 2025 a URL needs InvokeFunctionUrl and InvokeFunction via the URL."""
    client = boto3.client("lambda")
    # As `make up` creates them with IAM enforcement on: both statements.
    roles.install(emulator, boto3.client("iam"))
    install(emulator, client)
    name = functions(emulator)[0].name
    running = start_gateway(_ok, permission=UrlPermission(client, name, ttl_seconds=0))
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
