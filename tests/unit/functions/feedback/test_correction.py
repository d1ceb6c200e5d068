"""A correction's checks: every shape other than the contract's is refused, naming why."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.feedback.correction import (
    MAX_BODY_BYTES,
    PIXEL_BYTES,
    Correction,
    CorrectionError,
    check_content_type,
    check_size,
    parse_correction,
    parse_stored,
)
from functions.function_url import ApiError
from support.feedback import PIXELS, correction, sample_id


def _refusal(body: Any) -> ApiError:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    with pytest.raises(ApiError) as caught:
        parse_correction(raw)
    assert caught.value.status == 400
    assert caught.value.code == "invalid_feedback"
    return caught.value


def test_a_valid_correction_is_read_with_its_pixel_bytes() -> None:
    body = correction(version=3, label=7, predicted=1, spec=2)
    parsed = parse_correction(json.dumps(body).encode())
    assert parsed == Correction(PIXELS, 1, 7, 3, "a" * 64, 2)
    assert parsed.sample_id == sample_id(body)
    assert parsed.key == f"feedback/pending/{sample_id(body)}.json"


def test_the_id_does_not_depend_on_member_order_or_spacing() -> None:
    body = correction()
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=2).encode()
    assert (
        parse_correction(reordered).sample_id
        == parse_correction(json.dumps(body).encode()).sample_id
    )


@given(
    pixels=st.binary(min_size=PIXEL_BYTES, max_size=PIXEL_BYTES),
    label=st.integers(0, 9),
    predicted=st.integers(0, 9),
    version=st.integers(1, 999_999_999),
)
def test_any_valid_correction_round_trips(
    pixels: bytes, label: int, predicted: int, version: int
) -> None:
    body = correction(pixels=pixels, label=label, predicted=predicted, version=version)
    parsed = parse_correction(json.dumps(body).encode())
    assert parsed.members() == body
    stored = json.loads(parsed.stored_object(__import__("datetime").datetime(2026, 1, 2, 3, 4, 5)))
    assert stored == {**body, "received_at": "2026-01-02T03:04:05Z"}


@pytest.mark.parametrize("size", [0, 1, 783, 785, 1568])
def test_pixels_of_another_size_are_refused(size: int) -> None:
    error = _refusal(correction(pixels=bytes(size)))
    assert "784" in error.message


@pytest.mark.parametrize(
    "pixels",
    [
        "not base64!",
        base64.b64encode(PIXELS).decode().rstrip("="),  # padding missing
        base64.urlsafe_b64encode(bytes([251] * 784)).decode(),  # - and _ are not standard
        base64.b64encode(PIXELS).decode()[:-3] + "B==",  # unused bits set: a second spelling
        " " + base64.b64encode(PIXELS).decode(),
        base64.b64encode(PIXELS).decode() + "\n",
    ],
)
def test_pixels_that_are_not_canonical_standard_base64_are_refused(pixels: str) -> None:
    error = _refusal({**correction(), "pixels": pixels})
    assert "pixels" in error.message


@pytest.mark.parametrize("member", ["label", "predicted"])
@pytest.mark.parametrize("value", [-1, 10, 100, True, False, 10.0, 7.5, "7", None, [7]])
def test_labels_outside_0_to_9_or_not_integers_are_refused(member: str, value: Any) -> None:
    error = _refusal({**correction(), member: value})
    assert member in error.message


@pytest.mark.parametrize("member", ["model_version", "input_spec_version"])
@pytest.mark.parametrize("value", [0, -3, 10**9, 10**30, 1e300, True, 1.5, "1", None])
def test_versions_that_are_not_positive_whole_numbers_are_refused(member: str, value: Any) -> None:
    error = _refusal({**correction(), member: value})
    assert member in error.message


@pytest.mark.parametrize("sha", ["A" * 64, "a" * 63, "a" * 65, "g" * 64, "", 5, None])
def test_a_malformed_sha256_is_refused(sha: Any) -> None:
    assert "model_sha256" in _refusal({**correction(), "model_sha256": sha}).message


def test_a_whole_number_written_with_a_fraction_is_that_number() -> None:
    # JSON Schema's integer, which the OpenAPI document uses, includes 7.0.
    written = json.dumps(correction(label=7)).replace('"label": 7', '"label": 7.0')
    parsed = parse_correction(written.encode())
    assert parsed.label == 7
    assert parsed.sample_id == sample_id(correction(label=7))


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(constant: str) -> None:
    raw = json.dumps(correction()).replace('"label": 7', f'"label": {constant}').encode()
    assert "finite" in _refusal(raw).message


def test_an_unknown_member_is_refused_by_name() -> None:
    error = _refusal({**correction(), "user_agent": "x"})
    assert "user_agent" in error.message


@pytest.mark.parametrize("member", ["pixels", "label", "model_sha256"])
def test_a_missing_member_is_refused_by_name(member: str) -> None:
    body = correction()
    del body[member]
    assert member in _refusal(body).message


def test_a_member_given_twice_is_refused() -> None:
    raw = json.dumps(correction())[:-1] + ', "label": 3}'
    assert "twice" in _refusal(raw.encode()).message


@pytest.mark.parametrize(
    "raw", [b"", b"{", b"[]", b'"text"', b"null", b"7", b"\xff\xfe", b"[" * 100_000]
)
def test_bodies_that_are_not_a_json_object_are_refused(raw: bytes) -> None:
    _refusal(raw)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_are_refused_with_a_400_never_another_error(raw: bytes) -> None:
    _refusal(raw)


@pytest.mark.parametrize(
    "value", [None, "", "text/plain", "application/x-www-form-urlencoded", "application/jsonx"]
)
def test_a_body_that_is_not_json_by_content_type_is_a_415(value: str | None) -> None:
    with pytest.raises(ApiError) as caught:
        check_content_type(value)
    assert (caught.value.status, caught.value.code) == (415, "unsupported_media_type")


@pytest.mark.parametrize("value", ["application/json", "Application/JSON; charset=utf-8"])
def test_json_content_types_are_accepted(value: str) -> None:
    check_content_type(value)


def test_a_body_over_the_limit_is_a_413() -> None:
    check_size(MAX_BODY_BYTES)
    with pytest.raises(ApiError) as caught:
        check_size(MAX_BODY_BYTES + 1)
    assert (caught.value.status, caught.value.code) == (413, "payload_too_large")


def test_a_real_correction_fits_the_limit_with_room() -> None:
    assert len(json.dumps(correction(version=999_999_999, spec=999_999_999))) < MAX_BODY_BYTES / 3


def test_a_stored_correction_reads_back_with_the_same_checks() -> None:
    parsed = parse_correction(json.dumps(correction(label=3)).encode())
    when = __import__("datetime").datetime(2026, 1, 2, 3, 4, 5)
    assert parse_stored(parsed.stored_object(when)) == (parsed, "2026-01-02T03:04:05Z")
    # A request body is not a stored object: received_at is the Lambda's, not the sender's.
    with pytest.raises(CorrectionError, match=r"missing member\(s\) received_at"):
        parse_stored(json.dumps(correction()).encode())
    with pytest.raises(CorrectionError, match="received_at"):
        parse_stored(json.dumps({**correction(), "received_at": 5}).encode())
