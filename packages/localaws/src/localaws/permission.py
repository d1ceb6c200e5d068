"""The permission layer: every request decided as IAM decides it, before moto sees it.

Who signs: the access key of the request's SigV4 signature (header or presigned query).

- A key that ``sts:AssumeRole`` handed out (moto keeps them) is that role's session: the
  role's inline and attached policies are its identity policies.
- A key named after a service principal (``events.amazonaws.com``, ``lambda.amazonaws.com``,
  ``sagemaker.amazonaws.com``) is that AWS service acting in its own name, as it does when it
  assumes a role for a rule target, a function or a job. It may call ``sts:AssumeRole`` only,
  and the role's trust policy alone decides, with the context keys the service sends:
  ``aws:SourceAccount`` (this account unless the request's ``X-Amz-Source-Account`` header
  says otherwise) and ``aws:SourceArn`` (``X-Amz-Source-Arn``). AWS's services send these to
  STS themselves; locally the actor standing in for the service passes them.
- Any other key (the emulator's dummy ``testing``) is the account's root user, whom IAM
  allows everything a resource policy does not explicitly deny.

What is needed: the action and resource ARN of the request, from the Service Authorization
Reference (`localaws.iam.actions`). The resource's own policy joins the decision: the bucket
policy for S3, the function's permissions for Lambda, the trust policy for ``sts:AssumeRole``.

A denial is answered as the service answers it (S3 ``AccessDenied`` 403 XML, query services
``AccessDenied`` 403, JSON services ``AccessDeniedException``) with AWS's message naming the
principal, the action, the resource and why; nothing reaches moto, nothing is journalled. The
layer counts denials and keeps the last ones, and records for each role which statements
allowed which calls (``playground local iam`` reports it).
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from xml.sax.saxutils import escape

from localaws.iam.actions import Needed, UnknownActionError, needed
from localaws.iam.policy import Decision, Policy, PolicyError, Principal, evaluate
from localaws.iam.policy import Request as IamRequest
from localaws.strict import (
    Refusal,
    Request,
    ServiceIndex,
    UnmatchedError,
    _identify,
    append_json_line,
    refusal_entry,
)

log = logging.getLogger("localaws.permission")

ACCOUNT = "123456789012"  # moto's default account, the one the emulator stands in for
SERVICE_PRINCIPALS = frozenset(
    {"events.amazonaws.com", "lambda.amazonaws.com", "sagemaker.amazonaws.com"}
)
SOURCE_ACCOUNT_HEADER = "x-amz-source-account"
SOURCE_ARN_HEADER = "x-amz-source-arn"
_RECENT = 100


def _credential_scope(request: Request) -> list[str]:
    """KEY/DATE/REGION/SERVICE/aws4_request of a SigV4 signature (header or presigned URL)."""
    auth = request.headers.get("authorization", "")
    if "Credential=" in auth:
        credential = auth.split("Credential=", 1)[1].split(",", 1)[0]
    else:
        credential = unquote(request.query_dict.get("X-Amz-Credential", ""))
    return credential.strip().split("/")


def access_key(request: Request) -> str | None:
    """The access key id of a SigV4-signed request (header or presigned URL), or None."""
    return _credential_scope(request)[0] or None


@dataclass(frozen=True)
class Signer:
    """Who a request's key belongs to: a role session, a service, or the root user."""

    principal: Principal
    role_name: str = ""  # set for role sessions

    @property
    def is_root(self) -> bool:
        """The account's root user: IAM allows it all but explicit denies in resource policies."""
        return not self.role_name and not self.principal.service


def _moto_account(region: str) -> tuple[Any, Any]:
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    return iam_backends[ACCOUNT]["aws"], sts_backends[ACCOUNT]["aws"]


def signer_of(key: str | None, region: str) -> Signer:
    """The signer of an access key (see the module's docstring)."""
    root = Signer(Principal(arn=f"arn:aws:iam::{ACCOUNT}:root", account=ACCOUNT))
    if not key:
        return root
    if key in SERVICE_PRINCIPALS:
        return Signer(Principal(arn=key, account=ACCOUNT, service=key))
    _, sts = _moto_account(region)
    session = sts.get_assumed_role_from_access_key(key)
    if session is None:
        return root
    role_name = session.role_arn.split("/")[-1]
    return Signer(Principal(arn=session.arn, account=ACCOUNT, role_arn=session.role_arn), role_name)


def _documents(raw: Any) -> Any:
    if isinstance(raw, bytes):
        raw = raw.decode()
    if isinstance(raw, str):
        raw = json.loads(unquote(raw) if raw.lstrip().startswith("%7B") else raw)
    return raw


def role_policies(role_name: str, region: str) -> list[Policy]:
    """The identity policies of a role in the emulator: inline, then attached managed ones."""
    iam, _ = _moto_account(region)
    try:
        role = iam.get_role(role_name)
    except Exception:  # the role is gone: its sessions have no permissions left
        return []
    policies = [
        Policy.parse(f"role/{role_name}:{name}", _documents(document))
        for name, document in role.policies.items()
    ]
    for managed in role.managed_policies.values():
        version = next(
            (v for v in managed.versions if v.version_id == managed.default_version_id), None
        )
        if version is not None:
            policies.append(Policy.parse(f"{managed.arn}", _documents(version.document)))
    return policies


def trust_policy(role_arn: str, region: str) -> Policy | None:
    """A role's trust policy, or None when there is no such role."""
    iam, _ = _moto_account(region)
    try:
        role = iam.get_role_by_arn(role_arn)
    except Exception:
        return None
    return Policy.parse(
        f"trust policy of {role.name}", _documents(role.assume_role_policy_document)
    )


def bucket_policy(bucket: str) -> Policy | None:
    """The bucket's policy in the emulator, if it has one."""
    from moto.s3.models import s3_backends

    found = s3_backends[ACCOUNT]["aws"].buckets.get(bucket)
    if found is None or not found.policy:
        return None
    return Policy.parse(f"bucket policy of {bucket}", _documents(found.policy))


def function_policy(function: str, region: str) -> Policy | None:
    """A Lambda function's resource policy in the emulator, or None if there is no function."""
    from moto.awslambda.models import lambda_backends

    name = function.rsplit(":", 1)[-1] if function.startswith("arn:") else function
    try:
        found = lambda_backends[ACCOUNT][region].get_function(name)
    except Exception:
        return None
    try:
        document = json.loads(found.policy.wire_format()) if found.policy else {}
    except Exception:  # moto raises "not found" for a policy without statements
        document = {}
    return lambda_policy(name, document)


def lambda_policy(function: str, document: dict[str, Any]) -> Policy:
    """A Lambda function's policy (GetPolicy's document) as AWS evaluates it.

    moto keeps ``AddPermission``'s ``FunctionUrlAuthType`` and ``InvokedViaFunctionUrl`` as
    they were sent and the resource with ``:$LATEST``; AWS holds them as the conditions
    ``lambda:FunctionUrlAuthType`` and ``lambda:InvokedViaFunctionUrl`` on the function's ARN.
    """
    statements = []
    for raw in document.get("Statement", []):
        statement = dict(raw)
        condition = dict(statement.get("Condition") or {})
        auth_type = statement.pop("FunctionUrlAuthType", None)
        if auth_type:
            condition.setdefault("StringEquals", {})["lambda:FunctionUrlAuthType"] = auth_type
        if str(statement.pop("InvokedViaFunctionUrl", "")).lower() == "true":
            condition.setdefault("Bool", {})["lambda:InvokedViaFunctionUrl"] = "true"
        if condition:
            statement["Condition"] = condition
        resource = statement.get("Resource")
        if isinstance(resource, str):
            statement["Resource"] = resource.removesuffix(":$LATEST")
        statements.append(statement)
    name = f"resource policy of function {function}"
    return Policy.parse(name, {"Statement": statements}) if statements else Policy(name, ())


ANONYMOUS = Principal(arn="anonymous", account="")


def function_url_decision(policy: Policy, function_arn: str, auth_type: str = "NONE") -> Decision:
    """Whether an unsigned caller may call a function through its URL, as AWS decides it.

    Since October 2025 a Function URL request needs both ``lambda:InvokeFunctionUrl`` (with
    ``lambda:FunctionUrlAuthType``) and ``lambda:InvokeFunction`` with
    ``lambda:InvokedViaFunctionUrl = true`` in the function's resource policy (Lambda
    Developer Guide, "Control access to Lambda function URLs"). Returns the first refusal, or
    the allowing decision of the second.
    """
    asks = (
        (
            "lambda:InvokeFunctionUrl",
            {"lambda:FunctionUrlAuthType": auth_type, "lambda:FunctionArn": function_arn},
        ),
        ("lambda:InvokeFunction", {"lambda:InvokedViaFunctionUrl": True}),
    )
    decision = Decision(False, "implicit", "resource-based policy")
    for action, context in asks:
        asked = IamRequest(ANONYMOUS, action, function_arn, context)
        decision = evaluate(asked, [], policy, resource_decides_alone=True)
        if not decision.allowed:
            return decision
    return decision


def allocated_resource(action: str, params: dict[str, Any], region: str) -> str | None:
    """The ARN of what a create request will make, when the service allocates it.

    The reference lists ``sagemaker:CreateModelPackage`` on a ``model-package`` resource
    (``model-package/${ModelPackageName}``), but a request into a group names no package:
    SageMaker allocates the next version, ``model-package/<group, lower case>/<n>`` (the
    ARN its answer carries, SageMaker API Reference, "CreateModelPackage"). The next ``n``
    is read from the emulator's registry. None for any other request.
    """
    group = params.get("ModelPackageGroupName")
    if action != "sagemaker:CreateModelPackage" or not isinstance(group, str) or not group:
        return None
    from moto.sagemaker.models import sagemaker_backends

    if group.startswith("arn:"):
        group = group.rsplit("/", 1)[-1]
    backend = sagemaker_backends[ACCOUNT][region]
    versions = sum(
        1 for p in backend.model_packages.values() if p.model_package_group_name == group
    )
    return f"arn:aws:sagemaker:{region}:{ACCOUNT}:model-package/{group.lower()}/{versions + 1}"


@dataclass(frozen=True)
class Denial:
    """One refused request: who, what, on what, why."""

    principal: str
    role: str
    action: str
    resource: str
    reason: str  # "implicit" or "explicit"
    denied_by: str

    def message(self) -> str:
        """AWS's words for it (IAM User Guide, "Troubleshoot access denied error messages")."""
        if self.reason == "explicit":
            article = "an" if self.denied_by[:1] in "aeiou" else "a"
            why = f"with an explicit deny in {article} {self.denied_by}"
        else:
            why = f"because no {self.denied_by} allows the {self.action} action"
        return (
            f"User: {self.principal} is not authorized to perform: {self.action} "
            f"on resource: {self.resource} {why}"
        )


def decide(signer: Signer, want: Needed, request: Request, region: str) -> Decision:
    """IAM's decision for one signer and one needed action (see the module's docstring)."""
    context: dict[str, Any] = dict(want.context)
    # The local endpoint is plain HTTP; every client of the real one uses TLS.
    context["aws:SecureTransport"] = True
    context["aws:PrincipalAccount"] = ACCOUNT
    if signer.principal.service:
        context["aws:SourceAccount"] = request.headers.get(SOURCE_ACCOUNT_HEADER, ACCOUNT)
        if SOURCE_ARN_HEADER in request.headers:
            context["aws:SourceArn"] = request.headers[SOURCE_ARN_HEADER]
    if signer.role_name:
        context["aws:PrincipalArn"] = signer.principal.role_arn
    asked = IamRequest(signer.principal, want.action, want.resource, context)
    resource: Policy | None = None
    alone = False
    if want.action.lower() in ("sts:assumerole", "sts:assumerolewithwebidentity"):
        resource = trust_policy(want.resource, region)
        alone = True
    elif want.action.startswith("s3:") and want.resource.startswith("arn:aws:s3:::"):
        resource = bucket_policy(want.resource.split(":::", 1)[1].split("/", 1)[0])
    elif want.action.startswith("lambda:") and ":function:" in want.resource:
        resource = function_policy(want.resource, region)
    if alone:
        # The trust policy must allow whoever assumes the role (IAM User Guide, "Cross
        # account" aside: within one account a trust policy that names the caller suffices,
        # one that names the account needs the caller's identity policy too).
        trust = evaluate(asked, [], resource, resource_decides_alone=True)
        if not trust.allowed or signer.principal.service or signer.is_root:
            return trust
        names_caller = any(
            signer.principal.role_arn in json.dumps(s.body.get("Principal", ""))
            for s in trust.statements
        )
        if names_caller:
            return trust
        return evaluate(asked, role_policies(signer.role_name, region))
    if signer.principal.service:
        # A service acting in its own name does nothing here but assume roles.
        return Decision(False, "implicit", "identity-based policy")
    if signer.is_root:
        decision = evaluate(asked, [], resource)
        return decision if decision.reason == "explicit" else Decision(True, "allowed")
    return evaluate(asked, role_policies(signer.role_name, region), resource)


def _denied_answer(service: str, protocol: str, operation: str, text: str) -> Refusal:
    request_id = str(uuid.uuid4())
    if service == "s3":
        code = "AccessDenied"
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{escape(text)}</Message>"
            f"<RequestId>{request_id}</RequestId></Error>"
        ).encode()
        headers = [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)]
        status = "403 Forbidden"
    elif protocol in ("query", "rest-xml", "ec2"):
        code = "AccessDenied"
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{code}</Code><Message>{escape(text)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
        status = "403 Forbidden"
    else:
        code = "AccessDeniedException"
        body = json.dumps({"__type": code, "Message": text, "message": text}).encode()
        content_type = "application/x-amz-json-1.1" if protocol == "json" else "application/json"
        headers = [
            ("Content-Type", content_type),
            ("x-amzn-ErrorType", code),
            ("x-amzn-RequestId", request_id),
        ]
        # JSON services answer 400, REST JSON ones (Lambda) 403.
        status = "400 Bad Request" if protocol == "json" else "403 Forbidden"
    headers.append(("Content-Length", str(len(body))))
    return Refusal(status, headers, body, service, operation, code, text)


@dataclass
class PermissionLayer:
    """Decides requests as IAM does; counts and lists denials; records what each role used.

    ``denials`` counts refusals since the start, ``recent`` keeps the last 100, each is also
    appended to ``denials_log`` (JSON lines); ``used`` maps a role to {``policy#sid`` of an
    allowing statement: {action: the first call that needed it}}; ``unmapped`` counts requests
    it could not tie to an action.
    """

    enabled: bool = False
    index: ServiceIndex = field(default_factory=ServiceIndex)
    denials_log: Path | None = None
    denials: int = 0
    recent: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=_RECENT))
    used: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    unmapped: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, request: Request, region: str) -> Refusal | None:
        """The AccessDenied answer for a request IAM would refuse, else None."""
        if not self.enabled:
            return None
        key = access_key(request)
        signer = signer_of(key, region)
        if signer.is_root and not key:
            return None  # unsigned: moto's own endpoints, the gateway's health probes
        try:
            operation = _identify(self.index, request)
        except UnmatchedError as exc:
            self._unmapped(str(exc))
            return None
        region = _region_of(request) or region
        service = operation.service
        try:
            want = needed(
                service.signing_name,
                operation.model.name,
                operation.params,
                region=region,
                account=ACCOUNT,
            )
        except UnknownActionError as exc:
            self._unmapped(str(exc))
            return None
        if want is None:
            return None
        if want.resource == "*":
            allocated = allocated_resource(want.action, operation.params, region)
            if allocated:
                want = Needed(want.action, allocated, want.context)
        try:
            decision = decide(signer, want, request, region)
        except PolicyError as exc:  # a policy IAM would not have stored: refuse, say why
            decision = Decision(False, "implicit", f"readable policy ({exc})")
        except Exception as exc:  # a fault of this layer must not become a 500 for the caller
            log.exception("permission layer failed on %s; letting it through", want.action)
            self._unmapped(f"error deciding {want.action}: {type(exc).__name__}")
            return None
        if decision.allowed:
            if signer.role_name:
                self._used(signer.role_name, want, decision, service.name, operation.model.name)
            return None
        denial = Denial(
            signer.principal.arn,
            signer.role_name,
            want.action,
            want.resource,
            decision.reason,
            decision.denied_by,
        )
        refusal = _denied_answer(
            service.name, service.protocol, operation.model.name, denial.message()
        )
        self._record(denial, refusal)
        return refusal

    def authorize(self, request: Request, actions: list[str], resource: str) -> dict[str, Any]:
        """Decide actions on a resource the emulator cannot hold, for the request's signer.

        What SageMaker does on a job role's behalf against another account (pulling a Deep
        Learning Container from AWS's registry) has no request the emulator could serve, so the
        actor standing in for SageMaker asks this instead, signed with the role session's keys:
        each action is decided as `check` decides a request (identity policies of the role, no
        resource policy: AWS's DLC repositories let every account pull), a denial is counted,
        listed and worded as AWS words it, and an allowing statement is recorded as used.

        Returns ``{"checked": bool, "denied": [{"action", "message"}]}``; ``checked`` is False
        (nothing denied) when enforcement is off.
        """
        if not self.enabled:
            return {"checked": False, "denied": []}
        region = _region_of(request) or "us-east-1"
        signer = signer_of(access_key(request), region)
        denied = []
        for action in actions:
            want = Needed(action, resource or "*")
            decision = decide(signer, want, request, region)
            service, _, operation = action.partition(":")
            if decision.allowed:
                if signer.role_name:
                    self._used(signer.role_name, want, decision, service, operation)
                continue
            denial = Denial(
                signer.principal.arn,
                signer.role_name,
                action,
                want.resource,
                decision.reason,
                decision.denied_by,
            )
            refusal = _denied_answer(service, "json", operation, denial.message())
            self._record(denial, refusal)
            denied.append({"action": action, "message": denial.message()})
        return {"checked": True, "denied": denied}

    def _unmapped(self, reason: str) -> None:
        with self._lock:
            first = reason not in self.unmapped
            self.unmapped[reason] = self.unmapped.get(reason, 0) + 1
        if first:
            log.info("permission layer passes through unchecked: %s", reason)

    def _used(
        self, role: str, want: Needed, decision: Decision, service: str, operation: str
    ) -> None:
        call = f"{service} {operation} {want.resource}"
        with self._lock:
            seen = self.used.setdefault(role, {})
            for statement in decision.statements:
                actions = seen.setdefault(f"{statement.policy}#{statement.sid}", {})
                actions.setdefault(want.action, call)

    def _record(self, denial: Denial, refusal: Refusal) -> None:
        entry = refusal_entry(
            refusal,
            principal=denial.principal,
            role=denial.role,
            action=denial.action,
            resource=denial.resource,
            reason=denial.reason,
        )
        with self._lock:
            self.denials += 1
            self.recent.append(entry)
            append_json_line(self.denials_log, entry)
        log.warning("IAM denied %s", refusal.message)

    def report(self) -> dict[str, Any]:
        """What the emulator's denials endpoint answers."""
        with self._lock:
            return {
                "iam": self.enabled,
                "denials": self.denials,
                "recent": list(self.recent),
                "used": {
                    role: {sid: dict(calls) for sid, calls in statements.items()}
                    for role, statements in self.used.items()
                },
                "unmapped": dict(self.unmapped),
            }


def _region_of(request: Request) -> str | None:
    parts = _credential_scope(request)
    return parts[2] if len(parts) >= 5 else None
