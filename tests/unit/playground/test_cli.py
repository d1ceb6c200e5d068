"""The console script: a request IAM refused ends a command with AWS's words, not a traceback."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from playground import cli

REFUSAL = (
    "User: arn:aws:sts::123456789012:assumed-role/mnist-playground-model-approver/approver-ada "
    "is not authorized to perform: s3:ListBucket on resource: arn:aws:s3:::mnist-playground-data "
    "because no identity-based policy allows the s3:ListBucket action"
)


def refused(code: str) -> None:
    raise ClientError({"Error": {"Code": code, "Message": REFUSAL}}, "ListObjectsV2")


@pytest.mark.parametrize("code", ["AccessDenied", "AccessDeniedException"])
def test_a_refused_request_is_one_message_naming_who_and_what(
    code: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "app", lambda: refused(code))
    with pytest.raises(SystemExit) as ended:
        cli.main()
    assert ended.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: AWS refused ListObjectsV2: {code}: User: arn:aws:sts::")
    assert "s3:ListBucket" in err
    assert "PLAYGROUND_PERSON" in err
    assert "Traceback" not in err


def test_other_aws_errors_keep_their_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "app", lambda: refused("NoSuchBucket"))
    with pytest.raises(ClientError):
        cli.main()
