"""The get_models handler over the emulator: every answer is checked against the OpenAPI doc."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import boto3
import pytest
import requests

from functions.get_models import handler as handler_module
from functions.get_models.fixtures import RegisteredModel
from functions.get_models.handler import ModelsApi
from functions.get_models.registry import ModelRegistry
from mlops_settings import Settings

Answer = Any
Call = Callable[..., Answer]
Event = Callable[..., dict[str, Any]]
ApprovalStatus = Literal["Approved", "PendingManualApproval", "Rejected"]
Register = Callable[..., RegisteredModel]


def _update_status(model: RegisteredModel, status: ApprovalStatus) -> None:
    # The emulator clears what an update omits, so the full state goes with it.
    boto3.client("sagemaker").update_model_package(
        ModelPackageArn=model.arn,
        ModelApprovalStatus=status,
        CustomerMetadataProperties=model.metadata,
    )


def _log_lines(capsys: pytest.CaptureFixture[str]) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_empty_registry_lists_no_models(call: Call) -> None:
    answer = call("GET", "/models")
    assert answer.status == 200
    assert answer.body == {"models": [], "next_token": None}


def test_lists_only_approved_versions_newest_first(call: Call, register: Register) -> None:
    register(seed=1, status="Approved")
    register(seed=2, status="PendingManualApproval")
    register(seed=3, status="Approved")
    register(seed=4, status="Rejected")
    answer = call("GET", "/models")
    assert [m["version"] for m in answer.body["models"]] == [3, 1]
    assert answer.body["next_token"] is None


def test_version_fields_come_from_the_registry_entry(
    call: Call, register: Register, emulator: Settings
) -> None:
    model = register(seed=7, accuracy=0.9871, quantized=True)
    before = datetime.now(UTC)
    body = call("GET", f"/models/{model.version}").body
    assert body["version"] == model.version
    assert body["sha256"] == model.sha256
    assert body["size_bytes"] == model.size_bytes
    assert body["metrics"]["test_accuracy"] == 0.9871
    assert [c["recall"] for c in body["metrics"]["per_class"]] == [
        float(model.metadata[f"recall_{digit}"]) for digit in range(10)
    ]
    assert body["quantized"] is True
    assert body["input_spec"] == {
        "version": 2,
        "name": "input",
        "shape": ["N", 1, 28, 28],
        "output": {"name": "logits", "shape": ["N", 10]},
    }
    assert body["provenance"]["pipeline_execution_id"] == "execution-7"
    expires = datetime.fromisoformat(body["download_url_expires_at"])
    expected = before + timedelta(seconds=emulator.download_url_expiry_seconds)
    assert abs((expires - expected).total_seconds()) < 5
    assert "X-Amz-Signature=" in body["download_url"]
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in body["download_url"]
    assert f"X-Amz-Expires={emulator.download_url_expiry_seconds}" in body["download_url"]


BESIDE = {
    "report.html": b"<!doctype html><title>run report</title>",
    "confusion_matrix.png": b"\x89PNG\r\n\x1a\n confusion",
    "training_curves.png": b"\x89PNG\r\n\x1a\n curves",
}


def _links(body: dict[str, Any]) -> dict[str, Any]:
    return {"report": body["report"], **body["pictures"]}


def test_the_report_and_pictures_next_to_the_model_are_linked_and_expire_like_the_download(
    call: Call, register: Register, emulator: Settings
) -> None:
    model = register(seed=3, beside=BESIDE)
    listed = call("GET", "/models").body["models"][0]
    single = call("GET", f"/models/{model.version}").body
    for body in (listed, single):
        links = _links(body)
        names = {"report": "report.html"} | {
            k: f"{k}.png" for k in ("confusion_matrix", "training_curves")
        }
        for field, name in names.items():
            link = links[field]
            assert f"/models/mnist/{model.sha256}/{name}?" in link["url"]
            assert f"X-Amz-Expires={emulator.download_url_expiry_seconds}" in link["url"]
            # Signed together with the model's URL: they stop working at the same moment.
            assert link["expires_at"] == body["download_url_expires_at"]
            fetched = requests.get(link["url"], timeout=10)
            assert fetched.status_code == 200
            assert fetched.content == BESIDE[name]


def test_files_missing_next_to_the_model_get_no_link_and_the_version_still_lists(
    call: Call, register: Register
) -> None:
    bare = register(seed=1)  # model file and evaluation.json only
    curves_only = register(seed=2, beside={"training_curves.png": BESIDE["training_curves.png"]})
    nothing = register(seed=3, upload=False)  # not even the model file in S3
    by_version = {m["version"]: m for m in call("GET", "/models").body["models"]}
    assert set(by_version) == {bare.version, curves_only.version, nothing.version}
    for version in (bare.version, nothing.version):
        assert _links(by_version[version]) == {
            "report": None,
            "confusion_matrix": None,
            "training_curves": None,
        }
    links = _links(by_version[curves_only.version])
    assert (links["report"], links["confusion_matrix"]) == (None, None)
    assert (
        requests.get(links["training_curves"]["url"], timeout=10).content
        == (BESIDE["training_curves.png"])
    )


def test_a_folder_that_cannot_be_listed_leaves_the_version_listed_without_links(
    call: Call, register: Register, capsys: pytest.CaptureFixture[str]
) -> None:
    # Its file points at a bucket that does not exist: S3 refuses the listing.
    elsewhere = register(seed=5, bucket="no-such-model-bucket", upload=False)
    capsys.readouterr()
    [body] = call("GET", "/models").body["models"]
    assert body["version"] == elsewhere.version
    assert _links(body) == {"report": None, "confusion_matrix": None, "training_curves": None}
    log = _log_lines(capsys)[-1]
    assert log["unlisted_folders"] == [f"models/mnist/{elsewhere.sha256}/"]


def test_an_entry_without_per_digit_figures_lists_with_none(call: Call, register: Register) -> None:
    older = register(seed=1, per_class=False)
    body = call("GET", f"/models/{older.version}").body
    assert body["metrics"] == {"test_accuracy": 0.97, "per_class": None}


def test_folders_are_listed_once_per_version_and_then_reused(
    call: Call, register: Register, capsys: pytest.CaptureFixture[str]
) -> None:
    for i in range(4):
        register(seed=i, beside={"report.html": BESIDE["report.html"]})
    capsys.readouterr()
    call("GET", "/models")
    call("GET", "/models")
    first, second = (line["s3_calls"] for line in _log_lines(capsys))
    assert (first, second) == (4, 0)


def test_download_url_returns_the_bytes_the_listing_promised(
    call: Call, register: Register, emulator: Settings
) -> None:
    data = b"\x08\x07" + bytes(range(256)) * 40
    register(seed=1, model_bytes=data)
    listed = call("GET", "/models").body["models"][0]
    assert listed["download_url"].startswith(emulator.endpoint_url or "")
    fetched = requests.get(listed["download_url"], timeout=10)
    assert fetched.status_code == 200
    assert fetched.content == data
    assert hashlib.sha256(fetched.content).hexdigest() == listed["sha256"]
    assert len(fetched.content) == listed["size_bytes"]


def test_paging_over_250_versions_returns_each_approved_one_once(
    call: Call, register: Register, capsys: pytest.CaptureFixture[str]
) -> None:
    statuses = ["Approved", "PendingManualApproval", "Approved", "Rejected", "Approved"]
    approved = set()
    for i in range(250):
        model = register(seed=i, status=statuses[i % 5], upload=False)
        if model.status == "Approved":
            approved.add(model.version)
    assert len(approved) == 150
    capsys.readouterr()
    for limit in (7, 100, None):
        seen: list[int] = []
        query: dict[str, str] = {} if limit is None else {"limit": str(limit)}
        pages = 0
        while True:
            answer = call("GET", "/models", query)
            assert answer.status == 200
            assert len(answer.body["models"]) <= (limit or 20)
            seen += [m["version"] for m in answer.body["models"]]
            pages += 1
            if answer.body["next_token"] is None:
                break
            query = {**query, "next_token": answer.body["next_token"]}
        assert seen == sorted(approved, reverse=True), f"limit={limit}"
        assert pages == -(-150 // (limit or 20))
    calls = [line["registry_calls"] for line in _log_lines(capsys)]
    # Reads by page: at most one listing plus one describe per version on the page.
    assert max(calls) <= 1 + 100


def test_registry_reads_are_per_page_and_cached_descriptions_are_reused(
    call: Call, register: Register, capsys: pytest.CaptureFixture[str]
) -> None:
    for i in range(30):
        register(seed=i, upload=False)
    capsys.readouterr()
    call("GET", "/models", {"limit": "5"})
    call("GET", "/models", {"limit": "5"})
    first, second = (line["registry_calls"] for line in _log_lines(capsys))
    assert first == 1 + 5
    assert second == 1


def test_approving_shows_a_version_and_rejecting_hides_it(call: Call, register: Register) -> None:
    model = register(seed=1, status="PendingManualApproval")
    assert call("GET", "/models").body["models"] == []
    assert call("GET", f"/models/{model.version}").status == 404
    _update_status(model, "Approved")
    assert [m["version"] for m in call("GET", "/models").body["models"]] == [model.version]
    assert call("GET", f"/models/{model.version}").status == 200
    _update_status(model, "Rejected")
    assert call("GET", "/models").body["models"] == []
    assert call("GET", f"/models/{model.version}").status == 404


@pytest.mark.parametrize("status", ["PendingManualApproval", "Rejected"])
def test_version_that_is_not_approved_is_not_found(
    call: Call, register: Register, status: str
) -> None:
    model = register(seed=1, status=status)
    answer = call("GET", f"/models/{model.version}")
    assert answer.status == 404
    assert answer.body["error"]["code"] == "not_found"


def test_missing_version_is_not_found(call: Call, register: Register) -> None:
    register(seed=1)
    answer = call("GET", "/models/2")
    assert answer.status == 404
    assert answer.body["error"]["code"] == "not_found"
    assert "2" in answer.body["error"]["message"]


def test_entry_that_breaks_the_registry_contract_is_skipped_not_served(
    call: Call, register: Register, capsys: pytest.CaptureFixture[str]
) -> None:
    good = register(seed=1)
    bad = register(seed=2)
    broken = {k: v for k, v in bad.metadata.items() if k != "sha256"}
    boto3.client("sagemaker").update_model_package(
        ModelPackageArn=bad.arn, ModelApprovalStatus="Approved", CustomerMetadataProperties=broken
    )
    capsys.readouterr()
    assert [m["version"] for m in call("GET", "/models").body["models"]] == [good.version]
    log = _log_lines(capsys)[-1]
    assert "sha256" in log["skipped_entries"][0]
    assert call("GET", f"/models/{bad.version}").status == 404


@pytest.mark.parametrize("limit", ["1", "100", "050"])
def test_limit_bounds_are_accepted(call: Call, limit: str) -> None:
    assert call("GET", "/models", {"limit": limit}).status == 200


def test_tampered_next_token_is_a_400(call: Call, register: Register) -> None:
    for i in range(3):
        register(seed=i, upload=False)
    token = call("GET", "/models", {"limit": "1"}).body["next_token"]
    assert token
    good = call("GET", "/models", {"limit": "1", "next_token": token})
    assert good.status == 200
    flipped = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
    for bad in (flipped, token + "x", token[:-1], "garbage", "a.b", "....", "x" * 5000):
        answer = call("GET", "/models", {"limit": "1", "next_token": bad})
        assert answer.status == 400, bad
        assert answer.body["error"]["code"] == "invalid_next_token"


def test_next_token_of_another_group_is_rejected(
    call: Call,
    register: Register,
    emulator: Settings,
    call_api: Call,
    boto_session: boto3.session.Session,
) -> None:
    for i in range(3):
        register(seed=i, upload=False)
    token = call("GET", "/models", {"limit": "1"}).body["next_token"]
    boto3.client("sagemaker").create_model_package_group(ModelPackageGroupName="other")
    other = ModelsApi(emulator.model_copy(update={"model_package_group": "other"}), boto_session)
    answer = call_api(other, "GET", "/models", {"next_token": token})
    assert answer.status == 400
    assert answer.body["error"]["code"] == "invalid_next_token"


@pytest.mark.parametrize("path", ["/models", "/models/3"])
def test_registry_down_is_a_quick_503(
    emulator: Settings,
    call_api: Call,
    boto_session: boto3.session.Session,
    path: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from localaws.background import free_port

    closed = emulator.model_copy(update={"endpoint_url": f"http://127.0.0.1:{free_port()}"})
    api = ModelsApi(closed, boto_session)
    started = time.perf_counter()
    answer = call_api(api, "GET", path)
    elapsed = time.perf_counter() - started
    assert answer.status == 503
    assert answer.body["error"]["code"] == "registry_unavailable"
    assert answer.headers["Retry-After"]
    assert elapsed < 5
    log = _log_lines(capsys)[-1]
    assert log["status"] == 503
    assert "EndpointConnectionError" in log["cause"]


@pytest.mark.parametrize("method", ["GET", "OPTIONS"])
def test_the_handler_adds_no_cors_header_the_function_url_owns_them(
    emulator: Settings, call_api: Call, boto_session: boto3.session.Session, method: str
) -> None:
    # The Function URL adds Access-Control-Allow-Origin; a second one from the handler makes
    # the browser refuse the answer.
    site = "https://digits.example.com"
    for origins in (("*",), (site,)):
        api = ModelsApi(emulator.model_copy(update={"cors_allow_origins": origins}), boto_session)
        answer = call_api(
            api, method, "/models", headers={"origin": site, "access-control-request-method": "GET"}
        )
        assert answer.status in (200, 204)
        assert not [name for name in answer.headers if name.lower().startswith("access-control")]


def test_one_structured_log_line_per_request(
    call: Call, register: Register, capsys: pytest.CaptureFixture[str]
) -> None:
    register(seed=1)
    capsys.readouterr()
    call("GET", "/models", {"limit": "3"})
    call("GET", "/models/9")
    call("GET", "/models", {"limit": "nope"})
    lines = _log_lines(capsys)
    assert [(x["method"], x["path"], x["status"]) for x in lines] == [
        ("GET", "/models", 200),
        ("GET", "/models/9", 404),
        ("GET", "/models", 400),
    ]
    assert lines[0]["count"] == 1
    assert lines[2]["error_code"] == "invalid_limit"
    assert all(x["duration_ms"] >= 0 and x["request_id"] for x in lines)


def test_lambda_entry_point_reads_settings_from_the_environment(
    emulator: Settings, register: Register, monkeypatch: pytest.MonkeyPatch, event: Event
) -> None:
    monkeypatch.setattr(handler_module, "_api", None)
    register(seed=1)
    response = handler_module.handler(event("GET", "/models"), None)
    assert response["statusCode"] == 200
    assert len(json.loads(response["body"])["models"]) == 1


def test_lambda_entry_point_with_bad_settings_is_a_json_500(
    emulator: Settings, monkeypatch: pytest.MonkeyPatch, event: Event
) -> None:
    monkeypatch.setattr(handler_module, "_api", None)
    monkeypatch.setenv("PLAYGROUND_DOWNLOAD_URL_EXPIRY_SECONDS", "3600")
    response = handler_module.handler(event("GET", "/models"), None)
    assert response["statusCode"] == 500
    body = json.loads(response["body"])
    assert body["error"]["code"] == "internal_error"
    assert "Traceback" not in response["body"]
    assert handler_module._api is None


def test_answers_are_reused_briefly_then_refreshed(
    emulator: Settings, register: Register, boto_session: boto3.session.Session
) -> None:
    now = [0.0]
    sagemaker = boto_session.client("sagemaker", endpoint_url=emulator.endpoint_url)
    registry = ModelRegistry(
        sagemaker, emulator.model_package_group, answer_cache_seconds=2.0, clock=lambda: now[0]
    )
    first = register(seed=1)
    pending = register(seed=2, status="PendingManualApproval")
    page = registry.page(20, None)
    assert [v.version for v in page.versions] == [first.version]
    assert page.registry_calls == 2
    _update_status(pending, "Approved")
    now[0] = 1.9
    cached = registry.page(20, None)
    assert cached.registry_calls == 0
    assert [v.version for v in cached.versions] == [first.version]
    now[0] = 2.1
    fresh = registry.page(20, None)
    assert [v.version for v in fresh.versions] == [pending.version, first.version]
    assert fresh.registry_calls == 2  # the listing, and the one version not described before


def test_concurrent_requests_share_one_registry_read(
    emulator: Settings, register: Register, boto_session: boto3.session.Session
) -> None:
    for i in range(5):
        register(seed=i, upload=False)
    sagemaker = boto_session.client("sagemaker", endpoint_url=emulator.endpoint_url)
    registry = ModelRegistry(sagemaker, emulator.model_package_group, answer_cache_seconds=60)
    with ThreadPoolExecutor(12) as pool:
        pages = list(pool.map(lambda _: registry.page(20, None), range(12)))
    assert sum(p.registry_calls for p in pages) == 1 + 5
    assert {tuple(v.version for v in p.versions) for p in pages} == {(5, 4, 3, 2, 1)}


def test_any_origin_is_refused_for_the_aws_target(
    emulator: Settings, monkeypatch: pytest.MonkeyPatch, event: Event
) -> None:
    monkeypatch.setattr(handler_module, "_api", None)
    monkeypatch.setenv("PLAYGROUND_TARGET", "aws")
    monkeypatch.setenv("PLAYGROUND_CORS_ALLOW_ORIGINS", '["*"]')
    response = handler_module.handler(event("GET", "/models"), None)
    assert response["statusCode"] == 500
    monkeypatch.delenv("PLAYGROUND_CORS_ALLOW_ORIGINS")
    # What Terraform deploys: the target, no origins (the Function URL holds them).
    response = handler_module.handler(event("GET", "/models"), None)
    assert response["statusCode"] == 200


@pytest.mark.parametrize(
    "bad_event",
    [{}, {"requestContext": "x"}, {"requestContext": {"http": None}, "headers": ["a"]}, None],
)
def test_malformed_event_gets_a_json_answer(api: ModelsApi, bad_event: Any) -> None:
    response = api(bad_event, None)
    assert response["statusCode"] == 404
    assert json.loads(response["body"])["error"]["code"] == "not_found"
