"""POST /feedback fuzzed through the local gateway: no server error, nothing stored.

Two fuzzers over an emulator with one approved version: schemathesis from the OpenAPI
document (valid and schema-violating bodies), and hypothesis mutations of a correction that
would be accepted, so each request differs from an accepted one in exactly one way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from functions.get_models.fixtures import register_model
from mlops_settings import Settings
from playground.api import start_models_api
from playground.throwaway import ThrowawayStack
from support.feedback import correction

CONTRACT = Path(__file__).resolve().parents[4] / "contracts" / "openapi.yaml"


class Target:
    """The gateway's URL, the accepted correction, and a look into the data bucket."""

    def __init__(self, url: str, accepted: dict[str, Any], settings: Settings) -> None:
        self.url = url
        self.accepted = accepted
        self._s3 = boto3.client("s3")
        self._bucket = settings.data_bucket

    def stored(self) -> list[str]:
        listed = self._s3.list_objects_v2(Bucket=self._bucket).get("Contents", [])
        return [item["Key"] for item in listed]


@pytest.fixture(scope="module")
def target(throwaway: ThrowawayStack) -> Iterator[Target]:
    throwaway.reset()
    with pytest.MonkeyPatch.context() as patch:
        for key, value in throwaway.environment.items():
            patch.setenv(key, value)  # the emulator's endpoint and dummy credentials
        settings_ = Settings(
            feedback_rate_limit_per_minute=0,  # one fuzzer sends far more than a person would
        )
        s3 = boto3.client("s3")
        sagemaker = boto3.client("sagemaker")
        model = register_model(
            sagemaker,
            s3,
            group=settings_.model_package_group,
            bucket=settings_.model_bucket,
            region=settings_.region,
            upload=False,
        )
        accepted = correction(
            version=model.version,
            sha256=model.sha256,
            spec=int(model.metadata["input_spec_version"]),
        )
        running = start_models_api(settings_, port=0)
        yield Target(running.url, accepted, settings_)
        running.stop()


schema = schemathesis.openapi.from_path(CONTRACT).include(path="/feedback")
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=150
)
_rejection = schema.config.checks.negative_data_rejection
_rejection.expected_statuses = [*_rejection.expected_statuses, "413"]


@schema.parametrize()
@settings(suppress_health_check=list(HealthCheck), deadline=None)
def test_schemathesis_finds_no_server_error_and_nothing_is_stored(
    case: schemathesis.Case, target: Target
) -> None:
    # Valid-looking corrections name random versions and hashes: refused, not stored.
    response = case.call_and_validate(
        base_url=target.url, excluded_checks=[positive_data_acceptance]
    )
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text
    assert target.stored() == []


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=5,
)


@st.composite
def one_change(draw: st.DrawFn, accepted: dict[str, Any]) -> tuple[str, bytes]:
    """A body that differs from an accepted correction in one way, and that way's name."""
    kind = draw(st.sampled_from(["replace", "drop", "add", "truncate", "pixels", "type"]))
    body = dict(accepted)
    member = draw(st.sampled_from(sorted(body)))
    if kind == "replace":
        body[member] = draw(JSON_VALUES.filter(lambda v: v != accepted[member]))
    elif kind == "drop":
        del body[member]
    elif kind == "add":
        body[draw(st.text(min_size=1, max_size=10).filter(lambda k: k not in accepted))] = 1
    elif kind == "pixels":
        size = draw(st.integers(0, 1600).filter(lambda n: n != 784))
        body["pixels"] = (
            __import__("base64").b64encode(draw(st.binary(min_size=size, max_size=size))).decode()
        )
    elif kind == "truncate":
        raw = json.dumps(body).encode()
        return kind, raw[: draw(st.integers(0, len(raw) - 1))]
    else:
        return kind, draw(st.sampled_from([b"[]", b"null", b'"x"', b"1", b"NaN", b"{}"]))
    return f"{kind} {member}", json.dumps(body).encode()


@given(data=st.data())
@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
def test_one_change_to_an_accepted_correction_is_refused_and_stores_nothing(
    target: Target, data: st.DataObject
) -> None:
    change, body = data.draw(one_change(target.accepted))
    answer = requests.post(
        f"{target.url}/feedback",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert answer.status_code in (400, 413), (change, answer.text)
    assert answer.json()["error"]["code"] in (
        "invalid_feedback",
        "unknown_model_version",
        "payload_too_large",
    )
    assert target.stored() == []


def test_the_accepted_correction_itself_is_stored(target: Target) -> None:
    # The control: the fuzzers' base body is one the endpoint accepts (run last, by order).
    answer = requests.post(f"{target.url}/feedback", json=target.accepted, timeout=10)
    assert answer.status_code == 202, answer.text
    assert len(target.stored()) == 1
