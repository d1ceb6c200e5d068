"""Pure parts of the permission layer: who signs, AWS's words, the Function URL rule."""

from __future__ import annotations

from localaws.permission import (
    Denial,
    access_key,
    function_url_decision,
    lambda_policy,
)
from localaws.strict import Request

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:api"
URL_ONLY = {
    "Sid": "public-function-url",
    "Effect": "Allow",
    "Principal": "*",
    "Action": "lambda:InvokeFunctionUrl",
    "Resource": FUNCTION + ":$LATEST",
    "FunctionUrlAuthType": "NONE",
}
INVOKE_VIA_URL = {
    "Sid": "public-function-url-invoke",
    "Effect": "Allow",
    "Principal": "*",
    "Action": "lambda:InvokeFunction",
    "Resource": FUNCTION,
    "InvokedViaFunctionUrl": True,
}


def test_a_function_url_needs_both_statements_since_october_2025() -> None:
    both = lambda_policy("api", {"Statement": [URL_ONLY, INVOKE_VIA_URL]})
    assert function_url_decision(both, FUNCTION).allowed
    only_url = function_url_decision(lambda_policy("api", {"Statement": [URL_ONLY]}), FUNCTION)
    assert not only_url.allowed
    only_invoke = lambda_policy("api", {"Statement": [INVOKE_VIA_URL]})
    assert not function_url_decision(only_invoke, FUNCTION).allowed
    assert not function_url_decision(lambda_policy("api", {}), FUNCTION).allowed


def test_the_url_statement_holds_for_its_auth_type_only() -> None:
    both = lambda_policy("api", {"Statement": [URL_ONLY, INVOKE_VIA_URL]})
    assert not function_url_decision(both, FUNCTION, auth_type="AWS_IAM").allowed


def test_an_unconditional_invoke_permission_also_lets_the_url_through() -> None:
    anyone = {**INVOKE_VIA_URL}
    anyone.pop("InvokedViaFunctionUrl")
    policy = lambda_policy("api", {"Statement": [URL_ONLY, anyone]})
    assert function_url_decision(policy, FUNCTION).allowed


def test_the_access_key_comes_from_the_header_or_the_presigned_query() -> None:
    signed = Request(
        "GET",
        "/",
        [],
        {
            "authorization": "AWS4-HMAC-SHA256 "
            "Credential=ASIAX/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=x"
        },
        b"",
    )
    presigned = Request(
        "GET", "/b/k", [("X-Amz-Credential", "ASIAY/20260101/us-east-1/s3/aws4_request")], {}, b""
    )
    assert access_key(signed) == "ASIAX"
    assert access_key(presigned) == "ASIAY"
    assert access_key(Request("GET", "/", [], {}, b"")) is None


def test_denials_read_like_aws() -> None:
    implicit = Denial(
        "arn:aws:sts::1:assumed-role/r/s",
        "r",
        "s3:GetObject",
        "arn:aws:s3:::b/k",
        "implicit",
        "identity-based policy",
    )
    assert implicit.message() == (
        "User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: s3:GetObject on "
        "resource: arn:aws:s3:::b/k because no identity-based policy allows the s3:GetObject action"
    )
    explicit = Denial(
        "p", "r", "s3:GetObject", "arn:aws:s3:::b/k", "explicit", "resource-based policy"
    )
    assert explicit.message().endswith("with an explicit deny in a resource-based policy")
