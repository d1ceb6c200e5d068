"""POST /feedback through the real local gateway to the emulator: what a browser would see.

Every refused request is checked for its status, its clear `Error` and for the data bucket
staying empty; accepted ones for the stored object and for being stored once.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests

from functions.get_models.fixtures import RegisteredModel
from localaws.gateway import RunningGateway
from mlops_settings import Settings
from playground.api import start_models_api
from support.feedback import correction, sample_id

SITE = "http://site.example"
Register = Callable[..., RegisteredModel]


@pytest.fixture
def gateway(emulator: Settings) -> Iterator[RunningGateway]:
    """The local API with the site's origin only and a limit of 5 at once, then 1 a minute."""
    settings = emulator.model_copy(
        update={
            "cors_allow_origins": (SITE,),
            "feedback_rate_limit_per_minute": 1.0,
            "feedback_rate_limit_burst": 5,
        }
    )
    running = start_models_api(settings, port=0)
    yield running
    running.stop()


@pytest.fixture
def model(register: Register) -> RegisteredModel:
    return register(seed=1, status="Approved")


def _stored(settings: Settings) -> dict[str, bytes]:
    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(Bucket=settings.data_bucket).get("Contents", [])
    return {
        item["Key"]: s3.get_object(Bucket=settings.data_bucket, Key=item["Key"])["Body"].read()
        for item in listed
    }


def _post(url: str, body: Any, content_type: str = "application/json") -> requests.Response:
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return requests.post(
        f"{url}/feedback", data=data, headers={"Content-Type": content_type}, timeout=10
    )


def _body_for(model: RegisteredModel, **changes: Any) -> dict[str, Any]:
    spec = int(model.metadata["input_spec_version"])
    return {**correction(version=model.version, sha256=model.sha256, spec=spec), **changes}


def test_a_correction_is_stored_once_under_its_content_address(
    gateway: RunningGateway, model: RegisteredModel, emulator: Settings
) -> None:
    body = _body_for(model)
    first = _post(gateway.url, body)
    assert first.status_code == 202, first.text
    assert first.json() == {"id": sample_id(body), "duplicate": False}
    assert first.headers["Cache-Control"] == "no-store"
    again = _post(gateway.url, json.dumps(body, indent=1))  # same members, other spelling
    assert again.status_code == 202
    assert again.json() == {"id": sample_id(body), "duplicate": True}
    stored = _stored(emulator)
    assert list(stored) == [f"feedback/pending/{sample_id(body)}.json"]
    record = json.loads(stored[f"feedback/pending/{sample_id(body)}.json"])
    # The six members and the time, nothing about the sender.
    received_at = datetime.strptime(record.pop("received_at"), "%Y-%m-%dT%H:%M:%SZ")
    assert record == body
    assert abs(datetime.now(UTC).replace(tzinfo=None) - received_at) < timedelta(minutes=5)


def test_concurrent_identical_corrections_store_one_object(
    gateway: RunningGateway, model: RegisteredModel, emulator: Settings
) -> None:
    body = _body_for(model, label=3)
    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(lambda _: _post(gateway.url, body), range(5)))
    assert [a.status_code for a in answers] == [202] * 5
    assert sum(not a.json()["duplicate"] for a in answers) == 1
    assert list(_stored(emulator)) == [f"feedback/pending/{sample_id(body)}.json"]


BAD_BODIES: dict[str, tuple[Callable[[RegisteredModel], Any], int, str, str]] = {
    "pixels of 783 bytes": (
        lambda m: {**_body_for(m), "pixels": base64.b64encode(bytes(783)).decode()},
        400, "invalid_feedback", "784",
    ),
    "pixels of 28x28x2 bytes": (
        lambda m: {**_body_for(m), "pixels": base64.b64encode(bytes(1568)).decode()},
        400, "invalid_feedback", "784",
    ),
    "NaN label": (
        lambda m: json.dumps(_body_for(m)).replace('"label": 7', '"label": NaN'),
        400, "invalid_feedback", "finite",
    ),
    "label 10": (lambda m: _body_for(m, label=10), 400, "invalid_feedback", "label"),
    "label true": (lambda m: _body_for(m, label=True), 400, "invalid_feedback", "label"),
    "an extra member": (
        lambda m: _body_for(m, client_ip="1.2.3.4"), 400, "invalid_feedback", "client_ip",
    ),
    "not JSON": (lambda m: "pixels=AAAA", 400, "invalid_feedback", "JSON"),
    "a huge body": (
        lambda m: _body_for(m, pixels="A" * 10_000), 413, "payload_too_large", "4,096",
    ),
    "a body over the gateway's limit": (
        lambda m: b"{" + b" " * (2 << 20) + b"}", 413, "payload_too_large", "bytes",
    ),
    "an unknown version": (
        lambda m: _body_for(m, model_version=m.version + 40),
        400, "unknown_model_version", "not an approved version",
    ),
    "another model's sha256": (
        lambda m: _body_for(m, model_sha256="0" * 64), 400, "unknown_model_version", "sha256",
    ),
    "another input spec version": (
        lambda m: _body_for(m, input_spec_version=99),
        400, "unknown_model_version", "input_spec_version",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_a_bad_correction_is_refused_clearly_and_nothing_is_stored(
    gateway: RunningGateway, model: RegisteredModel, emulator: Settings, case: str
) -> None:
    make, status, code, words = BAD_BODIES[case]
    answer = _post(gateway.url, make(model))
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code
    assert words in error["message"]
    assert "Traceback" not in answer.text
    assert _stored(emulator) == {}


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_a_body_of_another_content_type_is_a_415_and_stores_nothing(
    gateway: RunningGateway, model: RegisteredModel, emulator: Settings, content_type: str
) -> None:
    answer = _post(gateway.url, _body_for(model), content_type)
    assert answer.status_code == 415
    assert answer.json()["error"]["code"] == "unsupported_media_type"
    assert _stored(emulator) == {}


@pytest.mark.parametrize("status", ["PendingManualApproval", "Rejected"])
def test_a_version_that_is_not_approved_is_refused(
    gateway: RunningGateway, register: Register, emulator: Settings, status: str
) -> None:
    unapproved = register(seed=2, status=status)
    answer = _post(gateway.url, _body_for(unapproved))
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "unknown_model_version"
    assert _stored(emulator) == {}


def test_a_client_over_its_rate_is_told_when_to_retry(
    gateway: RunningGateway, model: RegisteredModel, emulator: Settings
) -> None:
    answers = [_post(gateway.url, _body_for(model, label=n)) for n in range(7)]
    assert [a.status_code for a in answers] == [202] * 5 + [429] * 2
    refused = answers[-1]
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert len(_stored(emulator)) == 5
    # The model listing on the same port has no such limit.
    assert requests.get(f"{gateway.url}/models", timeout=10).status_code == 200


def test_only_the_site_origin_may_post_from_a_browser(gateway: RunningGateway) -> None:
    def preflight(origin: str) -> requests.Response:
        return requests.options(
            f"{gateway.url}/feedback",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
            timeout=10,
        )

    allowed = preflight(SITE)
    assert allowed.headers["Access-Control-Allow-Origin"] == SITE
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
    assert "content-type" in allowed.headers["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Origin" not in preflight("http://elsewhere.example").headers
    # The model listing keeps its own CORS: GET only.
    listing = requests.options(
        f"{gateway.url}/models",
        headers={"Origin": SITE, "Access-Control-Request-Method": "GET"},
        timeout=10,
    )
    assert listing.headers["Access-Control-Allow-Methods"] == "GET"
