"""The answer aliases and seeded entropy that let any journal replay to the same answers."""

from __future__ import annotations

import os
import uuid

from localaws import replay

UPLOAD = (
    '<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult>'
    "<Bucket>data</Bucket><Key>raw/images.gz</Key><UploadId>{}</UploadId>"
    "</InitiateMultipartUploadResult>"
)


def answer(body: str, **headers: str) -> dict[str, object]:
    recorded = replay.record_answer(
        [("Content-Type", "application/xml"), *headers.items()], body.encode()
    )
    assert recorded is not None
    return recorded


def test_an_upload_id_that_comes_out_different_becomes_an_alias() -> None:
    found = replay.differences(
        answer(UPLOAD.format("OriginalId123")), answer(UPLOAD.format("ReplayedId456"))
    )
    assert found == {"OriginalId123": "ReplayedId456"}


def test_equal_answers_dates_and_request_ids_make_no_alias() -> None:
    same = answer(UPLOAD.format("SameId123456"))
    assert replay.differences(same, same) == {}
    first = {"body": '{"CreationTime": "2026-01-01T00:00:00Z", "RequestId": "aaaaaaaa-1"}'}
    second = {"body": '{"CreationTime": "2026-01-01T00:00:01Z", "RequestId": "bbbbbbbb-2"}'}
    assert replay.differences(first, second) == {}


def test_an_arn_maps_whole_and_by_its_differing_part() -> None:
    old = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/abcdefgh1234"
    new = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/zyxwvuts9876"
    found = replay.differences(
        {"body": f'{{"PipelineExecutionArn": "{old}"}}'},
        {"body": f'{{"PipelineExecutionArn": "{new}"}}'},
    )
    assert found == {old: new, "abcdefgh1234": "zyxwvuts9876"}


def test_version_id_headers_are_compared_too() -> None:
    old = replay.record_answer([("x-amz-version-id", "version-old-1")], b"")
    new = replay.record_answer([("x-amz-version-id", "version-new-2")], b"")
    assert old is not None
    assert new is not None
    assert replay.differences(old, new) == {"version-old-1": "version-new-2"}


def test_aliases_translate_requests_in_and_answers_back_also_url_encoded() -> None:
    aliases = replay.Aliases({"told+id/1==": "held+id/2=="})
    assert aliases.inbound("uploadId=told%2Bid%2F1%3D%3D&partNumber=1") == (
        "uploadId=held%2Bid%2F2%3D%3D&partNumber=1"
    )
    told = aliases.outbound("<UploadId>held+id/2==</UploadId>")
    assert told == "<UploadId>told+id/1==</UploadId>"
    # Object bytes are never rewritten, whatever they contain.
    assert aliases.outbound_bytes(b"held+id/2==", "application/octet-stream") == b"held+id/2=="


def test_seeded_entropy_repeats_on_this_thread_only_while_seeded() -> None:
    replay.install_seeded_entropy()
    with replay.seeded(7):
        first = (os.urandom(16), uuid.uuid4())
    with replay.seeded(7):
        second = (os.urandom(16), uuid.uuid4())
    assert first == second
    assert os.urandom(16) != os.urandom(16)


def test_describe_names_the_service_action_and_target() -> None:
    entry = {
        "method": "POST",
        "path": "/",
        "query": "",
        "headers": {
            "X-Amz-Target": "SageMaker.CreateModelPackage",
            "Authorization": (
                "AWS4-HMAC-SHA256 Credential=t/20260101/us-east-1/sagemaker/aws4_request"
            ),
        },
    }
    assert replay.describe(entry) == "sagemaker CreateModelPackage POST /"
