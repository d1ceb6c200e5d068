"""registry_entry.py: what SageMaker accepts in a registry entry, checked before writing.

The oracle is SageMaker's own service model: the pattern of `CustomerMetadataValue` as
botocore ships it, compiled with the `regex` module (Python's `re` has no `\\p{L}`).
"""

from __future__ import annotations

import botocore.session
import pytest
import regex
from hypothesis import given
from hypothesis import strategies as st

from pipelines.mnist.code import registry_entry as entry

SHAPES = botocore.session.get_session().get_service_model("sagemaker")._shape_resolver
# botocore writes it as `([...]*)${1,256}`; the character class is the constraint.
VALUE_PATTERN = SHAPES.get_shape_by_name("CustomerMetadataValue").metadata["pattern"]
CHARACTER_CLASS = regex.compile(VALUE_PATTERN[1 : VALUE_PATTERN.index(")")])
# Characters this Python's Unicode tables know (the regex module may know newer ones).
ASSIGNED = st.characters(exclude_categories=("Cn", "Cs"))


def sagemaker_accepts(value: str, maximum: int = 256) -> bool:
    return 1 <= len(value) <= maximum and CHARACTER_CLASS.fullmatch(value) is not None


def test_the_pattern_is_the_one_sagemaker_documents() -> None:
    assert VALUE_PATTERN.startswith(r"([\p{L}\p{Z}\p{N}_.:\/=+\-@]*)")
    assert SHAPES.get_shape_by_name("CustomerMetadataValue").metadata["max"] == 256
    assert SHAPES.get_shape_by_name("CustomerMetadataKey").metadata["max"] == 128
    assert SHAPES.get_shape_by_name("CustomerMetadataMap").metadata["max"] == 50
    assert SHAPES.get_shape_by_name("ApprovalDescription").metadata["max"] == 1024


@given(st.text(alphabet=ASSIGNED, max_size=300))
def test_a_value_is_accepted_exactly_when_sagemaker_accepts_it(value: str) -> None:
    if sagemaker_accepts(value):
        assert entry.check_metadata_value("v", value) == value
    else:
        with pytest.raises(entry.EntryError):
            entry.check_metadata_value("v", value)


@given(st.text(alphabet="abcN,:;(/) #-_.'\"", min_size=1, max_size=20))
def test_punctuation_sagemaker_refuses_is_refused(value: str) -> None:
    accepted = sagemaker_accepts(value)
    try:
        entry.check_metadata_value("v", value)
    except entry.EntryError:
        assert not accepted
    else:
        assert accepted


@given(
    st.lists(
        st.one_of(
            st.integers(min_value=1, max_value=10**6),
            st.from_regex(r"[A-Za-z_]\w{0,5}", fullmatch=True).filter(str.isascii),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_shapes_round_trip_through_a_value_sagemaker_accepts(dims: list[int | str]) -> None:
    text = entry.encode_shape(dims)
    assert sagemaker_accepts(text)
    assert entry.decode_shape(text) == tuple(dims)


def test_the_model_shapes_are_encoded_without_commas() -> None:
    assert entry.encode_shape(entry.INPUT_SHAPE) == "N:1:28:28"
    assert entry.encode_shape(entry.OUTPUT_SHAPE) == "N:10"


@pytest.mark.parametrize("shape", ["N,1,28,28", "N:0:28", "N::28", "", "N:1.5"])
def test_bad_shapes_are_refused(shape: str) -> None:
    with pytest.raises(entry.EntryError, match="bad dimension"):
        entry.decode_shape(shape)


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"input_shape": "N,1,28,28"}, r"CustomerMetadataProperties\[input_shape\] has ','"),
        ({"note": "see #12 (tried)"}, r"has '#' at position 5"),
        ({"x": "a" * 257}, "has 257 characters; SageMaker allows 1 to 256"),
        ({"x": ""}, "has 0 characters; SageMaker allows 1 to 256"),
        ({"k" * 129: "v"}, "key has 129 characters; SageMaker allows 1 to 128"),
        ({f"k{i}": "v" for i in range(51)}, "has 51 entries; SageMaker allows 1 to 50"),
        ({}, "has 0 entries"),
        ({"accuracy": 0.98}, "must be a string, got float"),
    ],
)
def test_metadata_sagemaker_refuses_is_named_with_its_limit(
    properties: dict[str, object], message: str
) -> None:
    with pytest.raises(entry.EntryError, match=message):
        entry.check_metadata(properties)


def test_metadata_sagemaker_accepts_passes_unchanged() -> None:
    properties = {
        "git_commit": "0123456789abcdef0123456789abcdef01234567-dirty",
        "pipeline_execution_arn": "arn:aws:sagemaker:eu-west-1:123456789012:pipeline/p/execution/a",
        "test_accuracy": "0.9871",
        "dataset": "s3://bucket/raw/mnist/v=2026-11-30T00:00:00Z",
    }
    assert entry.check_metadata(properties) == properties


def test_a_reason_a_person_types_fits_the_approval_description() -> None:
    note = entry.approval_description(
        "rejected", "arn:aws:iam::123456789012:user/ana", "misreads 7s, see #12 (tried)"
    )
    assert note == "rejected by arn:aws:iam::123456789012:user/ana: misreads 7s, see #12 (tried)"
    assert entry.reason_of(note) == "misreads 7s, see #12 (tried)"
    assert entry.reason_of("approved by arn:aws:iam::1:user/x") is None


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("x" * 1020, "ApprovalDescription has 1055 characters; SageMaker allows 0 to 1024"),
        ("a\nb", "one line"),
    ],
)
def test_an_approval_description_sagemaker_refuses_is_refused(reason: str, message: str) -> None:
    with pytest.raises(entry.EntryError, match=message):
        entry.approval_description("rejected", "arn:aws:iam::1:user/x", reason)
