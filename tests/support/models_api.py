"""Fixtures for the get_models tests: the API over the emulator, checked against its contract."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
import jsonschema
import pytest
import yaml
from openapi_spec_validator import validate as validate_spec
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from functions.get_models.fixtures import RegisteredModel, register_model
from functions.get_models.handler import ModelsApi
from mlops_settings import Settings

CONTRACT = Path(__file__).resolve().parents[2] / "contracts" / "openapi.yaml"


@dataclass(frozen=True)
class Answer:
    """A handler response, decoded."""

    status: int
    headers: dict[str, str]
    body: Any
    raw_body: str


class Contract:
    """Validates responses against contracts/openapi.yaml."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self._registry: Registry = Registry().with_resource("urn:openapi", resource)

    def documents(self, method: str, path: str, status: int) -> str | None:
        """The path template whose operation lists this answer, if any."""
        parts = path.split("/")
        if parts[:2] != ["", "models"] or len(parts) > 3 or (len(parts) == 3 and not parts[2]):
            return None
        template = "/models" if len(parts) == 2 else "/models/{version}"
        operation = self.document["paths"][template].get(method.lower())
        if operation is None or str(status) not in operation["responses"]:
            return None
        return template

    def schema_for(self, method: str, template: str, status: int) -> dict[str, Any] | None:
        operation = self.document["paths"][template][method.lower()]
        response = operation["responses"].get(str(status))
        assert response is not None, f"{method} {template} may not answer {status}"
        if "$ref" in response:
            name = response["$ref"].rsplit("/", 1)[1]
            response = self.document["components"]["responses"][name]
        content = response.get("content")
        if content is None:
            return None
        return {"$ref": "urn:openapi#" + content["application/json"]["schema"]["$ref"][1:]}

    def validate(self, method: str, template: str, answer: Answer) -> None:
        schema = self.schema_for(method, template, answer.status)
        if schema is None:
            assert answer.raw_body == ""
            return
        assert answer.headers.get("Content-Type") == "application/json"
        validator = jsonschema.Draft202012Validator(
            schema, registry=self._registry, format_checker=jsonschema.FormatChecker()
        )
        validator.validate(answer.body)

    def validate_error(self, answer: Answer) -> None:
        """For answers no operation lists (404 route, 405): the Error schema."""
        schema = {"$ref": "urn:openapi#/components/schemas/Error"}
        jsonschema.Draft202012Validator(schema, registry=self._registry).validate(answer.body)


@pytest.fixture(scope="session")
def contract() -> Contract:
    document = yaml.safe_load(CONTRACT.read_text())
    validate_spec(document)
    return Contract(document)


def function_url_event(
    method: str,
    path: str,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A Lambda Function URL event (payload format 2.0) as AWS sends it."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": {"host": "example.lambda-url.us-east-1.on.aws", **(headers or {})},
        **({"queryStringParameters": query} if query else {}),
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "example",
            "domainName": "example.lambda-url.us-east-1.on.aws",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "pytest",
            },
            "requestId": "test-request",
            "routeKey": "$default",
            "stage": "$default",
            "timeEpoch": 0,
        },
        "isBase64Encoded": False,
    }


def invoke(
    api: Callable[..., dict],
    contract: Contract,
    method: str,
    path: str,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """Call the handler with a Function URL event and check the answer against the contract."""
    response = api(function_url_event(method, path, query, headers), None)
    assert set(response) == {"statusCode", "headers", "body", "isBase64Encoded"}
    assert response["isBase64Encoded"] is False
    raw = response["body"]
    body = json.loads(raw) if raw else None
    answer = Answer(response["statusCode"], response["headers"], body, raw)
    assert "Traceback" not in raw
    template = contract.documents(method, path, answer.status)
    if template is not None:
        contract.validate(method, template, answer)
    else:
        assert answer.status in (404, 405), f"{method} {path} answered {answer.status}"
        contract.validate_error(answer)
    return answer


@pytest.fixture(scope="session")
def boto_session() -> boto3.session.Session:
    """One boto3 session for all tests: loading the SageMaker service model is slow."""
    return boto3.session.Session(
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # the emulator's dummy credentials
    )


@pytest.fixture
def api(emulator: Settings, boto_session: boto3.session.Session) -> ModelsApi:
    """The API without its answer cache, so a test sees registry changes at once."""
    return ModelsApi(emulator, boto_session, cache_seconds=0)


@pytest.fixture(scope="module")
def offline_call(contract: Contract, boto_session: boto3.session.Session) -> Callable[..., Answer]:
    """The API with no registry behind it: for answers that must not need the registry."""
    from localaws.background import free_port

    settings = Settings(endpoint_url=f"http://127.0.0.1:{free_port()}")
    return partial(invoke, ModelsApi(settings, boto_session), contract)


@pytest.fixture
def call(api: ModelsApi, contract: Contract) -> Callable[..., Answer]:
    """Call the test's API: `call(method, path, query=None, headers=None)`."""
    return partial(invoke, api, contract)


@pytest.fixture
def call_api(contract: Contract) -> Callable[..., Answer]:
    """Call a given API: `call_api(api, method, path, query=None, headers=None)`."""
    return lambda api, *args, **kwargs: invoke(api, contract, *args, **kwargs)


@pytest.fixture
def event() -> Callable[..., dict[str, Any]]:
    """Build a Function URL event: `event(method, path, query=None, headers=None)`."""
    return function_url_event


@pytest.fixture
def register(emulator: Settings) -> Callable[..., RegisteredModel]:
    sagemaker = boto3.client("sagemaker")
    s3 = boto3.client("s3")
    return partial(
        register_model,
        sagemaker,
        s3,
        group=emulator.model_package_group,
        bucket=emulator.model_bucket,
        region=emulator.region,
    )
