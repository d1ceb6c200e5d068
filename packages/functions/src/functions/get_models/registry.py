"""Reading approved model versions from the SageMaker Model Registry.

A registry entry follows contracts/registry-entry.md. The listing is read one page at a time:
one `ListModelPackages` call (filtered to approved versions, newest first) plus one
`DescribeModelPackage` per version on the page that is not already cached. The emulator has
no `BatchDescribeModelPackage`, so the describes run on a few threads.

Two caches, both per warm Lambda container (or gateway process), because one registry call
costs tens of milliseconds and the API is read far more often than the registry changes:

- Answers (a page of the listing, one version) are reused for `ANSWER_CACHE_SECONDS`, and
  concurrent requests for the same answer wait for one registry read instead of each making
  their own. So an approval or rejection shows in the API within that many seconds.
- Descriptions are reused for `DESCRIBE_CACHE_SECONDS` when the listing still shows the
  version as approved: a version's artifact (ONNX file, hash, size, creation time) never
  changes, and the status always comes from the listing; only an edit of an approved
  version's other metadata can be that stale.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, TypeVar

APPROVED = "Approved"
ANSWER_CACHE_SECONDS = 2.0
ANSWER_CACHE_MAX_ENTRIES = 1024
DESCRIBE_CACHE_SECONDS = 60.0
DESCRIBE_CACHE_MAX_ENTRIES = 2048
DESCRIBE_THREADS = 8

T = TypeVar("T")

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SYMBOL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Dimensions are joined by ":" (contracts/registry-entry.md); "," only in entries written
# before that encoding, which the emulator alone ever accepted.
_SHAPE_SEPARATORS = re.compile(r"[:,]")
_PER_CLASS_KEY = re.compile(r"^(recall|precision)_([0-9]{1,3})$")


class InvalidEntryError(ValueError):
    """A registry entry does not follow contracts/registry-entry.md."""


class RegistryTokenRejectedError(ValueError):
    """The registry refused a page token (stale or not one it issued)."""


@dataclass(frozen=True)
class TensorSpec:
    """Name and shape of a model input or output."""

    name: str
    shape: tuple[int | str, ...]

    def to_json(self) -> dict[str, Any]:
        """The API's TensorSpec."""
        return {"name": self.name, "shape": list(self.shape)}


@dataclass(frozen=True)
class ClassMetrics:
    """One digit's precision and recall on the test split (fractions 0-1)."""

    digit: int
    precision: float
    recall: float

    def to_json(self) -> dict[str, Any]:
        """The API's ClassMetrics."""
        return {"digit": self.digit, "precision": self.precision, "recall": self.recall}


@dataclass(frozen=True)
class ModelVersion:
    """One approved model version as the API shows it (without its download URL)."""

    version: int
    created_at: datetime
    model_data_url: str
    sha256: str
    size_bytes: int
    test_accuracy: float
    quantized: bool
    input_spec_version: int
    input: TensorSpec
    output: TensorSpec
    dataset_hash: str
    git_commit: str
    pipeline_execution_id: str
    dataset_version: str | None = None
    per_class: tuple[ClassMetrics, ...] | None = None

    @cached_property
    def json_fields(self) -> str:
        """`to_json()` serialized without its braces, encoded once per version.

        The per-digit figures would otherwise make most of a listing's encoding time.
        """
        return json.dumps(self.to_json(), separators=(",", ":"))[1:-1]

    def to_json(self) -> dict[str, Any]:
        """The API's ModelVersion fields other than its links (download, report, pictures)."""
        return {
            "version": self.version,
            "created_at": _rfc3339(self.created_at),
            "metrics": {
                "test_accuracy": self.test_accuracy,
                "per_class": (
                    None if self.per_class is None else [c.to_json() for c in self.per_class]
                ),
            },
            "size_bytes": self.size_bytes,
            "sha256": self.sha256,
            "quantized": self.quantized,
            "input_spec": {
                "version": self.input_spec_version,
                "name": self.input.name,
                "shape": list(self.input.shape),
                "output": self.output.to_json(),
            },
            "provenance": {
                "dataset_hash": self.dataset_hash,
                "git_commit": self.git_commit,
                "pipeline_execution_id": self.pipeline_execution_id,
                "dataset_version": self.dataset_version,
            },
        }


def _rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _required(metadata: Mapping[str, str], key: str) -> str:
    value = metadata.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidEntryError(f"metadata {key} is missing")
    return value


def _positive_int(metadata: Mapping[str, str], key: str) -> int:
    text = _required(metadata, key)
    if not text.isdigit() or int(text) < 1:
        raise InvalidEntryError(f"metadata {key}={text!r} is not a positive integer")
    return int(text)


def _fraction(key: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InvalidEntryError(f"{key}={text!r} is not a number") from None
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise InvalidEntryError(f"{key}={text!r} is not in [0, 1]")
    return value


def _per_class(metadata: Mapping[str, str]) -> tuple[ClassMetrics, ...] | None:
    """The `recall_<d>` and `precision_<d>` entries, digit by digit; None when there are none.

    Raises:
        InvalidEntryError: a value is not a fraction, or the entries do not cover the digits
            0..n-1 with both figures each (the writer writes all or none).
    """
    found: dict[int, dict[str, float]] = {}
    for key, text in metadata.items():
        match = _PER_CLASS_KEY.match(key)
        if match:
            found.setdefault(int(match[2]), {})[match[1]] = _fraction(key, text)
    if not found:
        return None
    digits = sorted(found)
    if digits != list(range(len(digits))) or any(len(f) != 2 for f in found.values()):
        raise InvalidEntryError(
            "metadata recall_<d>/precision_<d> must name both figures of every digit from 0"
        )
    return tuple(ClassMetrics(d, found[d]["precision"], found[d]["recall"]) for d in digits)


def _shape(metadata: Mapping[str, str], key: str) -> tuple[int | str, ...]:
    dims: list[int | str] = []
    for part in _SHAPE_SEPARATORS.split(_required(metadata, key)):
        part = part.strip()
        if part.isdigit() and int(part) >= 1:
            dims.append(int(part))
        elif _SYMBOL.match(part):
            dims.append(part)
        else:
            raise InvalidEntryError(f"metadata {key} has a bad dimension {part!r}")
    return tuple(dims)


def model_file_uri(container: Mapping[str, Any]) -> str | None:
    """The model file's URI in a registry entry's container (contracts/registry-entry.md).

    ``ModelDataSource.S3DataSource.S3Uri``; an entry registered before the contract moved to
    it names the file in ``ModelDataUrl``, read then. None when it names neither.
    """
    source = container.get("ModelDataSource")
    if isinstance(source, Mapping):
        s3 = source.get("S3DataSource")
        uri = s3.get("S3Uri") if isinstance(s3, Mapping) else None
        return uri if isinstance(uri, str) else None
    legacy = container.get("ModelDataUrl")
    return legacy if isinstance(legacy, str) else None


def parse_model_version(description: Mapping[str, Any]) -> ModelVersion:
    """Turn a DescribeModelPackage answer into a ModelVersion.

    Raises:
        InvalidEntryError: a field the API needs is missing or malformed.
    """
    metadata = description.get("CustomerMetadataProperties") or {}
    version = description.get("ModelPackageVersion")
    if not isinstance(version, int) or version < 1:
        raise InvalidEntryError("ModelPackageVersion is missing")
    containers = (description.get("InferenceSpecification") or {}).get("Containers") or []
    model_data_url = model_file_uri(containers[0]) if containers else None
    if not isinstance(model_data_url, str) or not model_data_url.startswith("s3://"):
        raise InvalidEntryError("Containers[0].ModelDataSource.S3DataSource.S3Uri is not s3://")
    created_at = description.get("CreationTime")
    if not isinstance(created_at, datetime):
        raise InvalidEntryError("CreationTime is missing")
    sha256 = _required(metadata, "sha256")
    if not _SHA256.match(sha256):
        raise InvalidEntryError("metadata sha256 is not 64 lowercase hex digits")
    accuracy = _fraction("test_accuracy", _required(metadata, "test_accuracy"))
    quantized = metadata.get("quantized", "false")
    if quantized not in ("true", "false"):
        raise InvalidEntryError(f"quantized={quantized!r} is not 'true' or 'false'")
    return ModelVersion(
        version=version,
        created_at=created_at,
        model_data_url=model_data_url,
        sha256=sha256,
        size_bytes=_positive_int(metadata, "size_bytes"),
        test_accuracy=accuracy,
        quantized=quantized == "true",
        input_spec_version=_positive_int(metadata, "input_spec_version"),
        input=TensorSpec(_required(metadata, "input_name"), _shape(metadata, "input_shape")),
        output=TensorSpec(_required(metadata, "output_name"), _shape(metadata, "output_shape")),
        dataset_hash=_required(metadata, "dataset_hash"),
        git_commit=_required(metadata, "git_commit"),
        pipeline_execution_id=_required(metadata, "pipeline_execution_id"),
        dataset_version=metadata.get("dataset_version") or None,
        per_class=_per_class(metadata),
    )


@dataclass(frozen=True)
class Page:
    """Approved versions of one page and the registry's token for the next one."""

    versions: tuple[ModelVersion, ...]
    registry_token: str | None
    registry_calls: int
    skipped: tuple[str, ...] = ()


class _Counter:
    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def add(self) -> None:
        with self._lock:
            self.calls += 1


class ModelRegistry:
    """Approved versions of one model package group."""

    def __init__(
        self,
        sagemaker_client: Any,
        group: str,
        *,
        answer_cache_seconds: float = ANSWER_CACHE_SECONDS,
        cache_seconds: float = DESCRIBE_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sagemaker = sagemaker_client
        self.group = group
        self._answer_seconds = answer_cache_seconds
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._answers: dict[Hashable, tuple[float, Any]] = {}
        self._answer_locks: dict[Hashable, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self._described: dict[str, tuple[float, ModelVersion | InvalidEntryError]] = {}
        self._package_arn_prefix: str | None = None
        self._pool: ThreadPoolExecutor | None = None

    def _describe(self, arn: str, counter: _Counter) -> ModelVersion | InvalidEntryError:
        cached = self._described.get(arn)
        now = self._clock()
        if cached is not None and now - cached[0] < self._cache_seconds:
            return cached[1]
        counter.add()
        description = self._sagemaker.describe_model_package(ModelPackageName=arn)
        result: ModelVersion | InvalidEntryError
        if description.get("ModelApprovalStatus") != APPROVED:
            # Changed since the listing; not cached, the next listing will not show it.
            return InvalidEntryError("no longer approved")
        try:
            result = parse_model_version(description)
        except InvalidEntryError as exc:
            result = exc
        if len(self._described) >= DESCRIBE_CACHE_MAX_ENTRIES:
            self._described.clear()
        self._described[arn] = (now, result)
        return result

    def _describe_all(
        self, arns: list[str], counter: _Counter
    ) -> list[ModelVersion | InvalidEntryError]:
        if len(arns) <= 1:
            return [self._describe(arn, counter) for arn in arns]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(DESCRIBE_THREADS, thread_name_prefix="describe")
        return list(self._pool.map(lambda arn: self._describe(arn, counter), arns))

    def _cached(self, key: Hashable, read: Callable[[], T]) -> tuple[T, bool]:
        """The cached answer for `key` if fresh, else `read()` (once for concurrent callers).

        Returns:
            (the answer, whether it came from the cache).
        """
        hit = self._answers.get(key)
        if hit is not None and self._clock() - hit[0] < self._answer_seconds:
            return hit[1], True
        with self._locks_lock:
            lock = self._answer_locks.setdefault(key, threading.Lock())
        with lock:
            hit = self._answers.get(key)
            if hit is not None and self._clock() - hit[0] < self._answer_seconds:
                return hit[1], True
            started = self._clock()
            value = read()
            if len(self._answers) >= ANSWER_CACHE_MAX_ENTRIES:
                self._answers.clear()
            self._answers[key] = (started, value)
            return value, False

    def page(self, limit: int, registry_token: str | None) -> Page:
        """Up to `limit` approved versions, newest first, starting at `registry_token`.

        Raises:
            RegistryTokenRejectedError: the registry refused `registry_token`.
        """
        page, cached = self._cached(
            ("page", limit, registry_token), lambda: self._read_page(limit, registry_token)
        )
        return Page(page.versions, page.registry_token, 0, ()) if cached else page

    def _read_page(self, limit: int, registry_token: str | None) -> Page:
        counter = _Counter()
        versions: list[ModelVersion] = []
        skipped: list[str] = []
        token = registry_token
        while len(versions) < limit:
            request: dict[str, Any] = {
                "ModelPackageGroupName": self.group,
                "ModelApprovalStatus": APPROVED,
                "SortBy": "CreationTime",
                "SortOrder": "Descending",
                "MaxResults": limit - len(versions),
            }
            if token is not None:
                request["NextToken"] = token
            counter.add()
            try:
                answer = self._sagemaker.list_model_packages(**request)
            except self._sagemaker.exceptions.ClientError as exc:
                if token is not None and _is_token_error(exc):
                    raise RegistryTokenRejectedError(str(exc)) from None
                raise
            summaries = answer.get("ModelPackageSummaryList", [])
            arns = [s["ModelPackageArn"] for s in summaries]
            for arn, result in zip(arns, self._describe_all(arns, counter), strict=True):
                if isinstance(result, ModelVersion):
                    versions.append(result)
                else:
                    skipped.append(f"{arn}: {result}")
            token = answer.get("NextToken") or None
            if token is None:
                break
        versions.sort(key=lambda v: (v.created_at, v.version), reverse=True)
        return Page(tuple(versions), token, counter.calls, tuple(skipped))

    def _arn_of(self, version: int, counter: _Counter) -> str:
        if self._package_arn_prefix is None:
            counter.add()
            group_arn = self._sagemaker.describe_model_package_group(
                ModelPackageGroupName=self.group
            )["ModelPackageGroupArn"]
            self._package_arn_prefix = model_package_arn(group_arn, 0)[:-1]
        return f"{self._package_arn_prefix}{version}"

    def get(self, version: int) -> tuple[ModelVersion | None, int, NotServed | None]:
        """The approved version `version`, or None when it is missing or not approved.

        Returns:
            (the version or None, registry calls made, why it is not served if it is None).
        """
        answer, cached = self._cached(("version", version), lambda: self._read_version(version))
        return (answer[0], 0, answer[2]) if cached else answer

    def _read_version(self, version: int) -> tuple[ModelVersion | None, int, NotServed | None]:
        counter = _Counter()
        try:
            arn = self._arn_of(version, counter)
        except self._sagemaker.exceptions.ClientError as exc:
            if is_not_found(exc):
                return None, counter.calls, NotServed("model package group not found")
            raise
        counter.add()
        try:
            description = self._sagemaker.describe_model_package(ModelPackageName=arn)
        except self._sagemaker.exceptions.ClientError as exc:
            if is_not_found(exc):
                return None, counter.calls, NotServed("no such version")
            raise
        status = description.get("ModelApprovalStatus")
        if status != APPROVED:
            reason = withdrawal_reason(description.get("ApprovalDescription"))
            return None, counter.calls, NotServed(f"status {status}", reason)
        try:
            return parse_model_version(description), counter.calls, None
        except InvalidEntryError as exc:
            return None, counter.calls, NotServed(f"invalid registry entry: {exc}")


@dataclass(frozen=True)
class NotServed:
    """Why a version is not served: `why` for the log, `reason` for the client.

    `reason` is the free text a person gave when rejecting the version, when there is one; it
    never carries who rejected it (the approver's ARN stays in the registry).
    """

    why: str
    reason: str | None = None


def withdrawal_reason(description: str | None) -> str | None:
    """The reason part of an `ApprovalDescription`, `<decision> by <approver>: <reason>`.

    That form is the registry-entry contract's (contracts/registry-entry.md), written by
    `playground models reject`; any other text is not a reason this API repeats.
    """
    head, sep, reason = (description or "").partition(": ")
    if not sep or " by " not in head or not reason.strip():
        return None
    return reason.strip()[:1024]


def model_package_arn(group_arn: str, version: int) -> str:
    """The ARN of version `version` in the group whose ARN is `group_arn`.

    SageMaker names a versioned package `model-package/<group, lower case>/<version>`.
    """
    head, marker, group = group_arn.partition(":model-package-group/")
    if not marker or not group:
        raise ValueError(f"{group_arn!r} is not a model package group ARN")
    return f"{head}:model-package/{group.lower()}/{version}"


def _error_code(exc: Any) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _is_token_error(exc: Any) -> bool:
    return _error_code(exc) in ("InvalidToken", "ValidationException", "InvalidNextToken")


def is_not_found(exc: Any) -> bool:
    """Whether a registry ClientError says the package or group does not exist."""
    code = _error_code(exc)
    message = str(getattr(exc, "response", {}).get("Error", {}).get("Message", "")).lower()
    return code in ("ResourceNotFound", "ResourceNotFoundException") or (
        code == "ValidationException" and ("not found" in message or "does not exist" in message)
    )
