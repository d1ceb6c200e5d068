"""Grant lambda:InvokeFunction through the function's URL only, as AWS asks since October 2025.

A Function URL created since October 2025 answers 403 to every request unless the function's
resource policy grants both ``lambda:InvokeFunctionUrl`` and ``lambda:InvokeFunction`` with
the condition ``lambda:InvokedViaFunctionUrl = true`` (Lambda Developer Guide, "Control access
to Lambda function URLs"). Provider 5.100's ``aws_lambda_permission`` cannot set that
condition, so Terraform runs this script (``terraform_data.function_url_invoke`` in
terraform/feedback.tf) at apply time: it adds the statement through the Lambda API, whose
``AddPermission`` takes ``InvokedViaFunctionUrl``, unless the function already has it.
Destroying the function removes its resource policy with it.

Run: ``python terraform/scripts/function_url_invoke_permission.py --function NAME --region R
[--endpoint-url URL] [--statement-id ID]``; credentials as for Terraform (the environment).
"""

from __future__ import annotations

import argparse
import json
import sys

import boto3
from botocore.exceptions import ClientError

STATEMENT_ID = "public-function-url-invoke"


def statement_present(policy: str, statement_id: str) -> bool:
    """Whether the function's policy (GetPolicy's JSON) holds a statement of this id."""
    return any(s.get("Sid") == statement_id for s in json.loads(policy).get("Statement", []))


def grant(client: object, function: str, statement_id: str = STATEMENT_ID) -> bool:
    """Add the statement unless present; returns whether it added it.

    Raises:
        botocore.exceptions.ClientError: the function does not exist or the caller may not
            read or change its policy.
    """
    try:
        policy = client.get_policy(FunctionName=function)["Policy"]  # type: ignore[attr-defined]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        policy = "{}"
    if statement_present(policy, statement_id):
        return False
    client.add_permission(  # type: ignore[attr-defined]
        FunctionName=function,
        StatementId=statement_id,
        Action="lambda:InvokeFunction",
        Principal="*",
        InvokedViaFunctionUrl=True,
    )
    return True


def main(argv: list[str] | None = None) -> int:
    """Grant the permission to one function; 1 with AWS's message when it cannot."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--function", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--endpoint-url", default=None)
    parser.add_argument("--statement-id", default=STATEMENT_ID)
    args = parser.parse_args(argv)
    client = boto3.client("lambda", region_name=args.region, endpoint_url=args.endpoint_url or None)
    try:
        added = grant(client, args.function, args.statement_id)
    except ClientError as exc:
        print(f"{args.function}: {exc}", file=sys.stderr)
        return 1
    state = "granted" if added else "already granted"
    print(f"{args.function}: lambda:InvokeFunction through its URL {state}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
