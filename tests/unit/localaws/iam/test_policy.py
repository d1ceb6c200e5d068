"""IAM's evaluation logic: identity, resource and trust policies, deny over allow, conditions."""

from __future__ import annotations

import pytest

from localaws.iam.policy import Policy, PolicyError, Principal, Request, evaluate

ACCOUNT = "123456789012"
ROLE = Principal(
    arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/step/session",
    account=ACCOUNT,
    role_arn=f"arn:aws:iam::{ACCOUNT}:role/step",
)
EVENTS = Principal(arn="events.amazonaws.com", account=ACCOUNT, service="events.amazonaws.com")


def policy(*statements: dict, name: str = "role/step:jobs") -> Policy:
    return Policy.parse(name, {"Version": "2012-10-17", "Statement": list(statements)})


def ask(action: str, resource: str, principal: Principal = ROLE, **context: object) -> Request:
    return Request(principal, action, resource, context)  # type: ignore[arg-type]


READ_RAW = {
    "Sid": "ReadRaw",
    "Effect": "Allow",
    "Action": "s3:GetObject",
    "Resource": "arn:aws:s3:::data/raw/*",
}


def test_an_allowed_action_on_a_matching_arn_is_allowed() -> None:
    decision = evaluate(ask("s3:GetObject", "arn:aws:s3:::data/raw/a/b.idx"), [policy(READ_RAW)])
    assert decision.allowed
    assert [s.sid for s in decision.statements] == ["ReadRaw"]


def test_a_missing_action_is_an_implicit_deny_by_the_identity_policy() -> None:
    decision = evaluate(ask("s3:PutObject", "arn:aws:s3:::data/raw/a"), [policy(READ_RAW)])
    assert (decision.allowed, decision.reason, decision.denied_by) == (
        False,
        "implicit",
        "identity-based policy",
    )


def test_a_resource_outside_the_policy_is_denied() -> None:
    assert not evaluate(ask("s3:GetObject", "arn:aws:s3:::data/rawx/a"), [policy(READ_RAW)]).allowed
    assert not evaluate(ask("s3:GetObject", "arn:aws:s3:::other/raw/a"), [policy(READ_RAW)]).allowed


def test_an_explicit_deny_wins_over_any_allow() -> None:
    deny = {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::data/raw/secret*"}
    decision = evaluate(
        ask("s3:GetObject", "arn:aws:s3:::data/raw/secret.txt"), [policy(READ_RAW, deny)]
    )
    assert (decision.allowed, decision.reason) == (False, "explicit")


def test_a_deny_in_the_bucket_policy_is_named_as_such() -> None:
    bucket = policy(
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": "arn:aws:s3:::data/*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        name="bucket policy of data",
    )
    plain = ask("s3:GetObject", "arn:aws:s3:::data/raw/a", **{"aws:SecureTransport": False})
    decision = evaluate(plain, [policy(READ_RAW)], bucket)
    assert (decision.reason, decision.denied_by) == ("explicit", "resource-based policy")
    tls = ask("s3:GetObject", "arn:aws:s3:::data/raw/a", **{"aws:SecureTransport": True})
    assert evaluate(tls, [policy(READ_RAW)], bucket).allowed


def test_actions_match_case_insensitively_with_wildcards_resources_case_sensitively() -> None:
    wild = policy({"Effect": "Allow", "Action": "S3:get*", "Resource": "arn:aws:s3:::data/?/*"})
    assert evaluate(ask("s3:GetObject", "arn:aws:s3:::data/a/b"), [wild]).allowed
    assert not evaluate(ask("s3:GetObject", "arn:aws:s3:::data/ab/b"), [wild]).allowed
    assert not evaluate(ask("s3:GetObject", "arn:aws:s3:::DATA/a/b"), [wild]).allowed
    assert not evaluate(ask("s3:PutObject", "arn:aws:s3:::data/a/b"), [wild]).allowed


def test_not_action_and_not_resource_allow_everything_else() -> None:
    most = policy({"Effect": "Allow", "NotAction": "iam:*", "NotResource": "arn:aws:s3:::logs/*"})
    assert evaluate(ask("s3:GetObject", "arn:aws:s3:::data/x"), [most]).allowed
    assert not evaluate(ask("iam:PassRole", "arn:aws:iam::1:role/x"), [most]).allowed
    assert not evaluate(ask("s3:GetObject", "arn:aws:s3:::logs/x"), [most]).allowed


def test_a_resource_policy_allows_a_principal_it_names_without_an_identity_policy() -> None:
    bucket = policy(
        {
            "Effect": "Allow",
            "Principal": {"AWS": ROLE.role_arn},
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::data/*",
        },
        name="bucket policy of data",
    )
    assert evaluate(ask("s3:GetObject", "arn:aws:s3:::data/x"), [], bucket).allowed
    other = Principal(arn="arn:aws:sts::1:assumed-role/other/s", account=ACCOUNT)
    assert not evaluate(ask("s3:GetObject", "arn:aws:s3:::data/x", other), [], bucket).allowed


TRUST = {
    "Effect": "Allow",
    "Principal": {"Service": "events.amazonaws.com"},
    "Action": "sts:AssumeRole",
    "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
}


def test_a_trust_policy_lets_its_service_assume_the_role_from_this_account_only() -> None:
    trust = policy(TRUST, name="trust policy of trigger")
    role = f"arn:aws:iam::{ACCOUNT}:role/trigger"
    here = ask("sts:AssumeRole", role, EVENTS, **{"aws:SourceAccount": ACCOUNT})
    assert evaluate(here, [], trust, resource_decides_alone=True).allowed
    elsewhere = ask("sts:AssumeRole", role, EVENTS, **{"aws:SourceAccount": "999999999999"})
    decision = evaluate(elsewhere, [], trust, resource_decides_alone=True)
    assert (decision.allowed, decision.denied_by) == (False, "resource-based policy")
    # The condition key missing from the request fails the positive operator.
    assert not evaluate(ask("sts:AssumeRole", role, EVENTS), [], trust, True).allowed
    lambda_ = Principal("lambda.amazonaws.com", ACCOUNT, service="lambda.amazonaws.com")
    as_lambda = ask("sts:AssumeRole", role, lambda_, **{"aws:SourceAccount": ACCOUNT})
    assert not evaluate(as_lambda, [], trust, True).allowed


@pytest.mark.parametrize(
    ("operator", "wanted", "value", "holds"),
    [
        ("StringEquals", "a", "a", True),
        ("StringEquals", "a", "A", False),
        ("StringEqualsIgnoreCase", "a", "A", True),
        ("StringNotEquals", "a", "b", True),
        ("StringLike", "models/mnist/*", "models/mnist/v1/x", True),
        ("StringLike", "models/mnist/*", "models/other/x", False),
        ("StringNotLike", "models/*", "reports/x", True),
        ("ArnLike", "arn:aws:events:*:1:rule/*", "arn:aws:events:us-east-1:1:rule/r", True),
        (
            "ArnNotEquals",
            "arn:aws:events:us-east-1:1:rule/r",
            "arn:aws:events:us-east-1:1:rule/r",
            False,
        ),
        ("Bool", "true", True, True),
        ("NumericLessThan", "10", 3, True),
        ("NumericGreaterThanEquals", "10", 3, False),
        ("DateGreaterThan", "2020-01-01T00:00:00Z", "2026-01-01T00:00:00Z", True),
        ("IpAddress", "10.0.0.0/8", "10.1.2.3", True),
        ("NotIpAddress", "10.0.0.0/8", "10.1.2.3", False),
    ],
)
def test_condition_operators(operator: str, wanted: str, value: object, holds: bool) -> None:
    statement = {**READ_RAW, "Condition": {operator: {"test:key": wanted}}}
    request = ask("s3:GetObject", "arn:aws:s3:::data/raw/x", **{"test:Key": value})
    assert evaluate(request, [policy(statement)]).allowed is holds


def test_missing_keys_fail_positive_operators_and_satisfy_negated_and_if_exists() -> None:
    def holds(condition: dict) -> bool:
        statement = {**READ_RAW, "Condition": condition}
        return evaluate(ask("s3:GetObject", "arn:aws:s3:::data/raw/x"), [policy(statement)]).allowed

    assert not holds({"StringLike": {"s3:prefix": "models/*"}})
    assert holds({"StringNotEquals": {"s3:prefix": "models/"}})
    assert holds({"StringLikeIfExists": {"s3:prefix": "models/*"}})
    assert holds({"Null": {"s3:prefix": "true"}})
    assert not holds({"Null": {"s3:prefix": "false"}})


def test_multivalued_keys_with_for_any_and_for_all_values() -> None:
    def holds(condition: dict, tags: list[str]) -> bool:
        statement = {**READ_RAW, "Condition": condition}
        request = ask("s3:GetObject", "arn:aws:s3:::data/raw/x", **{"aws:TagKeys": tags})
        return evaluate(request, [policy(statement)]).allowed

    all_of = {"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "stage"]}}
    any_of = {"ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]}}
    assert holds(all_of, ["team"])
    assert not holds(all_of, ["team", "owner"])
    assert holds(any_of, ["owner", "team"])
    assert not holds(any_of, ["owner"])


def test_every_key_and_operator_must_hold_values_are_alternatives() -> None:
    statement = {
        **READ_RAW,
        "Condition": {
            "StringEquals": {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": ["a", "b"]},
        },
    }
    both = ask(
        "s3:GetObject",
        "arn:aws:s3:::data/raw/x",
        **{"aws:SourceAccount": ACCOUNT, "aws:SourceArn": "b"},
    )
    one = ask(
        "s3:GetObject",
        "arn:aws:s3:::data/raw/x",
        **{"aws:SourceAccount": ACCOUNT, "aws:SourceArn": "c"},
    )
    assert evaluate(both, [policy(statement)]).allowed
    assert not evaluate(one, [policy(statement)]).allowed


@pytest.mark.parametrize(
    "document",
    [
        {"Statement": [{"Effect": "Permit", "Action": "s3:*", "Resource": "*"}]},
        {"Statement": [{"Effect": "Allow", "Resource": "*"}]},
        {"Statement": [{"Effect": "Allow", "Action": "s", "NotAction": "s", "Resource": "*"}]},
        {"Version": "2012-10-17"},
        "[not json",
    ],
)
def test_malformed_policies_are_refused_with_the_reason(document: object) -> None:
    with pytest.raises(PolicyError):
        Policy.parse("bad", document)  # type: ignore[arg-type]


def test_an_unknown_condition_operator_is_an_error_not_a_silent_allow() -> None:
    statement = {**READ_RAW, "Condition": {"StringSortOf": {"s3:prefix": "x"}}}
    with pytest.raises(PolicyError, match="StringSortOf"):
        evaluate(
            ask("s3:GetObject", "arn:aws:s3:::data/raw/x", **{"s3:prefix": "x"}),
            [policy(statement)],
        )
