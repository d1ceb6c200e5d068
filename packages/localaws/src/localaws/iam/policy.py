"""IAM policy evaluation, as AWS describes it, for one account: pure data in, a decision out.

Rules taken from the IAM User Guide, "Policy evaluation logic" and "IAM JSON policy elements
reference" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):

- every statement of every applicable policy is read; one that matches the request with
  ``"Effect": "Deny"`` ends it: **explicit deny**, whatever else allows it;
- otherwise the request is allowed when an identity-based policy of the principal allows it,
  or (within one account) when the resource's own policy allows that principal;
- otherwise **implicit deny**: no policy allows it;
- a role's trust policy is the resource policy of ``sts:AssumeRole``: for a service principal
  it alone decides;
- a statement matches when its ``Action`` (or ``NotAction``), ``Resource`` (or ``NotResource``),
  ``Principal`` (resource policies) and every ``Condition`` match. Actions match
  case-insensitively, resources case-sensitively, both with ``*`` and ``?`` wildcards.

Conditions: each operator block must hold, each key in it must hold, and a key holds when any
of the policy's values matches ("Creating a condition with multiple keys or values"). A key the
request does not carry fails a positive operator and satisfies a negated one (``StringNot*``,
``ArnNot*``); ``...IfExists`` holds when the key is absent; ``Null`` tests absence;
``ForAnyValue:``/``ForAllValues:`` qualify multivalued keys.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Effect = Literal["Allow", "Deny"]
ContextValue = str | bool | int | float | Sequence[str]


class PolicyError(ValueError):
    """A policy document IAM would refuse (``MalformedPolicyDocument``)."""


@dataclass(frozen=True)
class Principal:
    """Who signs a request.

    ``arn`` is what AWS names in messages: for a role session
    ``arn:aws:sts::123456789012:assumed-role/ROLE/SESSION``; ``role_arn`` the role's own ARN
    (``arn:aws:iam::123456789012:role/ROLE``) that resource policies name; ``service`` the
    service principal (``events.amazonaws.com``) when a service acts in its own name; ``account``
    the 12-digit account id.
    """

    arn: str
    account: str
    role_arn: str = ""
    service: str = ""
    federated: str = ""

    def matches(self, principal: Any) -> bool:
        """Whether a policy's ``Principal`` element names this principal."""
        if principal == "*":
            return True
        if not isinstance(principal, Mapping):
            raise PolicyError(f"Principal must be '*' or an object, not {principal!r}")
        for kind, values in principal.items():
            for value in _as_list(values):
                if kind == "AWS" and self._aws_matches(value):
                    return True
                if kind == "Service" and self.service and value == self.service:
                    return True
                if kind == "Federated" and self.federated and value == self.federated:
                    return True
        return False

    def _aws_matches(self, value: str) -> bool:
        if value == "*":
            return not self.service
        if self.service:
            return False
        root = f"arn:aws:iam::{self.account}:root"
        if value in (self.account, root) or value.endswith(f"::{self.account}:root"):
            return True
        return value in (self.arn, self.role_arn)


@dataclass(frozen=True)
class Request:
    """What is asked: one action on one resource ARN, with the request's context keys.

    ``context`` holds condition keys by name (``aws:SourceAccount``, ``s3:prefix``); names are
    matched case-insensitively, as AWS does. Values are strings, booleans, numbers or lists of
    strings (multivalued keys such as ``aws:TagKeys``).
    """

    principal: Principal
    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)

    def value(self, key: str) -> ContextValue | None:
        """The context value of a key (case-insensitive name), or None when absent."""
        lowered = key.lower()
        for name, value in self.context.items():
            if name.lower() == lowered:
                return value
        return None


@dataclass(frozen=True)
class Statement:
    """One policy statement, kept with the policy that holds it (for reports and messages)."""

    policy: str
    sid: str
    effect: Effect
    body: Mapping[str, Any]

    def matches(self, request: Request, with_principal: bool) -> bool:
        """Whether this statement applies to the request (effect aside)."""
        body = self.body
        if with_principal and not _principal_matches(body, request.principal):
            return False
        if not _element_matches(body, "Action", request.action, _action_matches):
            return False
        if ("Resource" in body or "NotResource" in body) and not _element_matches(
            body, "Resource", request.resource, _resource_matches
        ):
            return False
        return conditions_hold(body.get("Condition", {}), request)


@dataclass(frozen=True)
class Policy:
    """A parsed policy document and its name (``role/NAME:policy`` or ``bucket policy``)."""

    name: str
    statements: tuple[Statement, ...]

    @classmethod
    def parse(cls, name: str, document: Mapping[str, Any] | str) -> Policy:
        """Read a policy document (a dict or its JSON).

        Raises:
            PolicyError: not an object, no statements, an effect other than Allow/Deny, both
                ``Action`` and ``NotAction`` (or neither), both ``Resource`` and ``NotResource``.
        """
        import json

        if isinstance(document, str):
            try:
                document = json.loads(document)
            except json.JSONDecodeError as exc:
                raise PolicyError(f"{name}: not JSON ({exc})") from None
        if not isinstance(document, Mapping):
            raise PolicyError(f"{name}: a policy is a JSON object")
        raw = document.get("Statement")
        if raw is None:
            raise PolicyError(f"{name}: no Statement")
        statements = []
        for index, body in enumerate(_as_list(raw)):
            if not isinstance(body, Mapping):
                raise PolicyError(f"{name}: statement {index} is not an object")
            effect = body.get("Effect")
            if effect not in ("Allow", "Deny"):
                raise PolicyError(f"{name}: statement {index} has Effect {effect!r}")
            if ("Action" in body) == ("NotAction" in body):
                raise PolicyError(f"{name}: statement {index} needs one of Action, NotAction")
            if "Resource" in body and "NotResource" in body:
                raise PolicyError(f"{name}: statement {index} has Resource and NotResource")
            sid = str(body.get("Sid") or f"#{index}")
            statements.append(Statement(name, sid, effect, body))
        return cls(name, tuple(statements))


@dataclass(frozen=True)
class Decision:
    """The outcome: allowed or not, why, and the statements that decided it."""

    allowed: bool
    reason: Literal["allowed", "implicit", "explicit"]
    denied_by: str = ""  # "identity-based policy", "resource-based policy", ...
    statements: tuple[Statement, ...] = ()


def evaluate(
    request: Request,
    identity: Iterable[Policy] = (),
    resource: Policy | None = None,
    resource_decides_alone: bool = False,
) -> Decision:
    """Decide one request as IAM does within one account.

    Args:
        request: the principal, action, resource ARN and context keys.
        identity: the principal's identity-based policies (a role's inline policies).
        resource: the resource's own policy (bucket policy, Lambda permissions, trust policy).
        resource_decides_alone: True for a trust policy seen by a service principal, which has
            no identity policies: only the resource policy can allow.

    Returns:
        `Decision` with the allowing statements, or the denying one(s) and which kind of policy
        denied (``explicit``) or that none allowed (``implicit``).
    """
    identity = list(identity)
    deny: list[Statement] = []
    allow: list[Statement] = []
    for policy in identity:
        for statement in policy.statements:
            if statement.matches(request, with_principal=False):
                (deny if statement.effect == "Deny" else allow).append(statement)
    identity_deny = bool(deny)
    if resource is not None:
        for statement in resource.statements:
            if statement.matches(request, with_principal=True):
                (deny if statement.effect == "Deny" else allow).append(statement)
    if deny:
        kind = "identity-based policy" if identity_deny else "resource-based policy"
        return Decision(False, "explicit", kind, tuple(deny))
    if allow:
        return Decision(True, "allowed", "", tuple(allow))
    kind = "resource-based policy" if resource_decides_alone else "identity-based policy"
    return Decision(False, "implicit", kind)


# --------------------------------------------------------------------------- matching


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def wildcard_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM's ``*``/``?`` match of a whole value (no character classes: '[' is literal)."""
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == value.lower() if ignore_case else pattern == value
    escaped = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.fullmatch(escaped, value, flags) is not None


def _action_matches(pattern: str, action: str) -> bool:
    return pattern == "*" or wildcard_match(pattern, action, ignore_case=True)


def _resource_matches(pattern: str, resource: str) -> bool:
    if pattern == "*":
        return True
    # ARNs: each of the six parts must match; the wildcards stay within the last part only
    # for the first five (IAM User Guide, "Resource", "Including wildcard characters").
    if pattern.startswith("arn:") and resource.startswith("arn:"):
        want, got = pattern.split(":", 5), resource.split(":", 5)
        if len(want) != 6 or len(got) != 6:
            return wildcard_match(pattern, resource)
        return all(wildcard_match(w, g) for w, g in zip(want, got, strict=True))
    return wildcard_match(pattern, resource)


def _element_matches(body: Mapping[str, Any], name: str, value: str, match: Any) -> bool:
    if name in body:
        return any(match(p, value) for p in _as_list(body[name]))
    return not any(match(p, value) for p in _as_list(body[f"Not{name}"]))


def _principal_matches(body: Mapping[str, Any], principal: Principal) -> bool:
    if "Principal" in body:
        return principal.matches(body["Principal"])
    if "NotPrincipal" in body:
        return not principal.matches(body["NotPrincipal"])
    return False  # a resource policy statement without a principal applies to no one


# --------------------------------------------------------------------------- conditions


def _string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _numeric(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _date(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value).astimezone()
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _ip_match(policy: str, value: str) -> bool:
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(policy, strict=False)
    except ValueError:
        return False


def _compare(base: str, policy: str, value: Any) -> bool:
    """One positive comparison of a policy value with one request value."""
    if base == "StringEquals":
        return _string(policy) == _string(value)
    if base == "StringEqualsIgnoreCase":
        return _string(policy).lower() == _string(value).lower()
    if base == "StringLike":
        return wildcard_match(_string(policy), _string(value))
    if base in ("ArnEquals", "ArnLike"):
        return _resource_matches(_string(policy), _string(value))
    if base == "Bool":
        return _string(policy).lower() == _string(value).lower()
    if base.startswith("Numeric"):
        left, right = _numeric(value), _numeric(policy)
        if left is None or right is None:
            return False
        return _ORDER[base.removeprefix("Numeric")](left, right)
    if base.startswith("Date"):
        left_date, right_date = _date(value), _date(policy)
        if left_date is None or right_date is None:
            return False
        return _ORDER[base.removeprefix("Date")](left_date, right_date)
    if base == "IpAddress":
        return _ip_match(_string(policy), _string(value))
    raise PolicyError(f"condition operator {base!r} is not supported")


_ORDER: dict[str, Any] = {
    "Equals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanEquals": lambda a, b: a >= b,
}
# Negated operators: the positive one they deny.
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress",
}


def _key_holds(operator: str, key: str, wanted: list[Any], request: Request) -> bool:
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    present = request.value(key)
    if base == "Null":
        return any(
            _string(w).lower() == ("false" if present is not None else "true") for w in wanted
        )
    if present is None:
        if if_exists:
            return True
        if qualifier == "ForAllValues":
            return True
        return base in _NEGATED
    negated = base in _NEGATED
    positive = _NEGATED.get(base, base)
    values = present if isinstance(present, list | tuple) else [present]

    def any_match(value: Any) -> bool:
        return any(_compare(positive, w, value) for w in wanted)

    if qualifier == "ForAllValues":
        return all(any_match(v) != negated for v in values)
    if qualifier == "ForAnyValue":
        return any(any_match(v) != negated for v in values)
    if qualifier:
        raise PolicyError(f"condition qualifier {qualifier!r} is not supported")
    matched = any(any_match(v) for v in values)
    return not matched if negated else matched


def conditions_hold(block: Mapping[str, Any], request: Request) -> bool:
    """Whether a statement's ``Condition`` block holds for the request (AND of all, OR of values).

    Raises:
        PolicyError: an operator IAM does not define.
    """
    for operator, keys in block.items():
        if not isinstance(keys, Mapping):
            raise PolicyError(f"condition {operator!r} must map keys to values")
        for key, wanted in keys.items():
            if not _key_holds(operator, key, _as_list(wanted), request):
                return False
    return True
