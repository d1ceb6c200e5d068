r"""What a registry entry may hold: the encodings and limits of contracts/registry-entry.md.

SageMaker refuses a model package whose metadata breaks its service model, and botocore
checks no patterns before sending, so every value is checked here, by `check_metadata`,
before anything is written. The limits are SageMaker's (botocore
`sagemaker/2017-07-24/service-2.json`):

- `CustomerMetadataMap`: 1 to 50 entries;
- `CustomerMetadataKey`: 1 to 128 characters, `CustomerMetadataValue`: 1 to 256, both of the
  pattern `[\p{L}\p{Z}\p{N}_.:/=+\-@]*` (letters, separators such as space, numbers, and
  `_ . : / = + - @`; no comma, parenthesis, `#` or quote);
- `EntityDescription` (`ModelPackageDescription`): up to 1,024 characters of letters, marks,
  separators, symbols, numbers and punctuation;
- `ApprovalDescription`: up to 1,024 characters of `.*`, which in SageMaker's (Java) regex
  matches anything but a line break.

The standard library and `idx` only (the image side and class count): register.py imports
this in the container as a top-level module, the `playground` CLI as
`pipelines.mnist.code.registry_entry`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence

try:  # in the container, next to the step scripts
    from idx import IMAGE_SIDE, NUM_CLASSES
except ModuleNotFoundError:  # as pipelines.mnist.code.registry_entry (the CLI, the tests)
    from pipelines.mnist.code.idx import IMAGE_SIDE, NUM_CLASSES

METADATA_MAX_ENTRIES = 50
METADATA_KEY_MAX = 128
METADATA_VALUE_MAX = 256
METADATA_PATTERN = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*"
METADATA_PUNCTUATION = frozenset("_.:/=+-@")
DESCRIPTION_MAX = 1024
APPROVAL_DESCRIPTION_MAX = 1024
# Java's `.` stops at these (java.util.regex.Pattern, "Line terminators").
LINE_TERMINATORS = frozenset("\n\r\u0085\u2028\u2029")

# Tensor shapes are dimensions joined by ":" (`N:1:28:28`): a dimension is a positive whole
# number or a symbol such as `N`; the pattern above allows no comma.
SHAPE_SEPARATOR = ":"
INPUT_NAME = "input"
INPUT_SHAPE: tuple[int | str, ...] = ("N", 1, IMAGE_SIDE, IMAGE_SIDE)
OUTPUT_NAME = "logits"
OUTPUT_SHAPE: tuple[int | str, ...] = ("N", NUM_CLASSES)


class EntryError(ValueError):
    """A value SageMaker would refuse; the message names the field, the problem, the limit."""


def encode_shape(dims: Sequence[int | str]) -> str:
    """`("N", 1, 28, 28)` -> `"N:1:28:28"`.

    Raises:
        EntryError: a dimension is neither a positive whole number nor a symbol.
    """
    parts = []
    for dim in dims:
        text = str(dim)
        if not (text.isdigit() and int(text) >= 1) and not _is_symbol(text):
            raise EntryError(f"shape dimension {dim!r} is not a positive number or a symbol")
        parts.append(text)
    if not parts:
        raise EntryError("a shape needs at least one dimension")
    return SHAPE_SEPARATOR.join(parts)


def decode_shape(text: str) -> tuple[int | str, ...]:
    """`"N:1:28:28"` -> `("N", 1, 28, 28)`.

    Raises:
        EntryError: a dimension is neither a positive whole number nor a symbol.
    """
    dims: list[int | str] = []
    for part in text.split(SHAPE_SEPARATOR):
        if part.isascii() and part.isdigit() and int(part) >= 1:
            dims.append(int(part))
        elif _is_symbol(part):
            dims.append(part)
        else:
            raise EntryError(f"shape {text!r} has a bad dimension {part!r}")
    return tuple(dims)


def _is_symbol(text: str) -> bool:
    return (
        text.isascii()
        and bool(text)
        and (text[0].isalpha() or text[0] == "_")
        and all(c.isalnum() or c == "_" for c in text)
    )


def _metadata_character(char: str) -> bool:
    return unicodedata.category(char)[0] in "LZN" or char in METADATA_PUNCTUATION


def _check_text(field: str, value: object, low: int, high: int) -> str:
    if not isinstance(value, str):
        raise EntryError(f"{field} must be a string, got {type(value).__name__}")
    if not low <= len(value) <= high:
        raise EntryError(f"{field} has {len(value)} characters; SageMaker allows {low} to {high}")
    return value


def check_metadata_value(field: str, value: object, maximum: int = METADATA_VALUE_MAX) -> str:
    """Return `value` if SageMaker accepts it as a metadata key or value.

    Raises:
        EntryError: wrong type, length outside 1..`maximum`, or a character outside
            METADATA_PATTERN (the message shows the first one).
    """
    text = _check_text(field, value, 1, maximum)
    for position, char in enumerate(text):
        if not _metadata_character(char):
            raise EntryError(
                f"{field} has {char!r} at position {position + 1} ({text[:60]!r}); "
                f"SageMaker allows only {METADATA_PATTERN}"
            )
    return text


def check_metadata(properties: Mapping[str, object]) -> dict[str, str]:
    """Return CustomerMetadataProperties unchanged if SageMaker accepts every key and value.

    Raises:
        EntryError: the first key or value SageMaker would refuse, or the entry count.
    """
    if not 1 <= len(properties) <= METADATA_MAX_ENTRIES:
        raise EntryError(
            f"CustomerMetadataProperties has {len(properties)} entries; "
            f"SageMaker allows 1 to {METADATA_MAX_ENTRIES}"
        )
    checked: dict[str, str] = {}
    for key, value in properties.items():
        name = check_metadata_value("CustomerMetadataProperties key", key, METADATA_KEY_MAX)
        checked[name] = check_metadata_value(f"CustomerMetadataProperties[{key}]", value)
    return checked


def check_description(value: object) -> str:
    """Return a ModelPackageDescription SageMaker accepts (EntityDescription).

    Raises:
        EntryError: longer than 1,024 characters, or a control character (line breaks too).
    """
    text = _check_text("ModelPackageDescription", value, 0, DESCRIPTION_MAX)
    for position, char in enumerate(text):
        if unicodedata.category(char)[0] not in "LMZSNP":
            raise EntryError(
                f"ModelPackageDescription has {char!r} at position {position + 1}; SageMaker "
                "allows letters, marks, separators, symbols, numbers and punctuation"
            )
    return text


def check_approval_description(value: object) -> str:
    """Return an ApprovalDescription SageMaker accepts: up to 1,024 characters, one line.

    Raises:
        EntryError: too long, or holds a line break.
    """
    text = _check_text("ApprovalDescription", value, 0, APPROVAL_DESCRIPTION_MAX)
    if any(char in LINE_TERMINATORS for char in text):
        raise EntryError("ApprovalDescription must be one line; SageMaker refuses line breaks")
    return text


def approval_description(decision: str, approver: str, reason: str | None = None) -> str:
    """The ApprovalDescription a person's decision leaves: `<decision> by <approver>[: reason]`.

    Args:
        decision: `approved` or `rejected`.
        approver: who decided (the caller's identity ARN).
        reason: the person's own words, kept as typed.

    Raises:
        EntryError: the result would be longer than SageMaker allows, or has a line break.
    """
    note = f"{decision} by {approver}"
    return check_approval_description(f"{note}: {reason}" if reason else note)


def reason_of(description: str | None) -> str | None:
    """The reason part of an ApprovalDescription written by `approval_description`, if any."""
    head, sep, reason = (description or "").partition(": ")
    return reason if sep and " by " in head else None


def model_data_source(uri: str) -> dict[str, dict[str, str]]:
    """A container's ``ModelDataSource`` for the one uncompressed model file at ``uri``.

    contracts/registry-entry.md: ``S3DataType: S3Object``, ``CompressionType: None`` (API
    Reference, ``S3ModelDataSource``), since ``ModelDataUrl`` must name a ``.tar.gz``.
    """
    return {"S3DataSource": {"S3Uri": uri, "S3DataType": "S3Object", "CompressionType": "None"}}


def model_file_uri(container: Mapping[str, object]) -> str | None:
    """The model file's URI in a container of a registry entry, or None when it names none.

    ``ModelDataSource.S3DataSource.S3Uri``; an entry registered before contracts/registry-entry.md
    moved to it names the file in ``ModelDataUrl``, which is read then.
    """
    source = container.get("ModelDataSource")
    if isinstance(source, Mapping):
        s3 = source.get("S3DataSource")
        uri = s3.get("S3Uri") if isinstance(s3, Mapping) else None
        return uri if isinstance(uri, str) else None
    legacy = container.get("ModelDataUrl")
    return legacy if isinstance(legacy, str) else None
