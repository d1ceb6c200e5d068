"""Read and check MNIST files in the IDX format (optionally gzip-compressed).

Self-contained (numpy only) so SageMaker containers can import it next to the step scripts,
and the CLI uses it to refuse bad files before anything reaches S3.

It is also where Python reads the image side and the class count (`IMAGE_SIDE`, `PIXELS`,
`NUM_CLASSES`): every step script, `pipelines.mnist.preprocessing` and the CLI import them
from here. The numbers are contracts/preprocessing.md's `SIZE` and the model artifact
contract's output `logits` [N, 10] (DESIGN.md); tests/unit/pipelines/mnist/code/test_idx.py
checks them against both, and against the `feedback` Lambda's copy (its zip holds no
pipelines code).

IDX layout: two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions, then
each dimension as a big-endian uint32, then the values in row-major order.
"""

from __future__ import annotations

import gzip
import hashlib
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

UBYTE = 0x08
IMAGE_SIDE = 28  # contracts/preprocessing.md: SIZE, the side of the model's input
PIXELS = IMAGE_SIDE * IMAGE_SIDE
NUM_CLASSES = 10  # the digits 0-9: the model's logits [N, 10] (DESIGN.md)
IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions (count, rows, cols)
LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension (count)


class IdxError(ValueError):
    """A file is not valid MNIST IDX data; the message names the file and the problem."""

    def __init__(self, path: str | Path, problem: str) -> None:
        super().__init__(f"{Path(path).name}: {problem}")
        self.path = str(path)
        self.problem = problem


@dataclass(frozen=True)
class MnistPair:
    """Images and labels of one split, checked against each other."""

    images: np.ndarray  # uint8 [N, 28, 28]
    labels: np.ndarray  # uint8 [N]


def read_bytes(path: str | Path) -> bytes:
    """The file's content, decompressed when it is gzip (by magic, not by name)."""
    raw = Path(path).read_bytes()
    if raw[:2] != b"\x1f\x8b":
        if str(path).endswith(".gz"):
            raise IdxError(path, "not a gzip file (the name ends in .gz but the content does not)")
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise IdxError(path, f"unreadable gzip data ({exc})") from None


def parse_idx(data: bytes, path: str | Path = "<bytes>") -> np.ndarray:
    """Parse IDX bytes into an array, checking the header against the payload size."""
    if len(data) < 4:
        raise IdxError(path, f"truncated: {len(data)} bytes, no IDX header")
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    magic = int.from_bytes(data[:4], "big")
    if zero != 0 or ndim == 0 or dtype != UBYTE:
        raise IdxError(
            path,
            f"wrong IDX magic 0x{magic:08x} (expected 0x00000803 for unsigned-byte images "
            "or 0x00000801 for labels)",
        )
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise IdxError(path, f"truncated: header declares {ndim} dimensions but the file ends")
    dims = struct.unpack(f">{ndim}I", data[4:header_size])
    expected = int(np.prod(dims, dtype=np.int64))
    payload = len(data) - header_size
    if payload < expected:
        raise IdxError(path, f"truncated: header declares {expected} values, file has {payload}")
    if payload > expected:
        raise IdxError(path, f"{payload - expected} unexpected bytes after the {expected} values")
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(dims)


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (gzip or plain)."""
    return parse_idx(read_bytes(path), path)


def check_images(array: np.ndarray, path: str | Path) -> np.ndarray:
    """Images must be uint8 [N, 28, 28]."""
    if array.ndim != 3:
        raise IdxError(path, f"images need 3 dimensions (count, 28, 28), found {array.ndim}")
    if array.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        rows, cols = array.shape[1:]
        raise IdxError(path, f"wrong image size {rows}x{cols}, expected 28x28")
    if array.shape[0] == 0:
        raise IdxError(path, "holds no images")
    return array


def check_labels(array: np.ndarray, path: str | Path) -> np.ndarray:
    """Labels must be uint8 [N] with values 0-9."""
    if array.ndim != 1:
        raise IdxError(path, f"labels need 1 dimension, found {array.ndim}")
    if array.size and int(array.max()) >= NUM_CLASSES:
        bad = int(np.count_nonzero(array >= NUM_CLASSES))
        raise IdxError(path, f"{bad} labels outside 0-9 (largest {int(array.max())})")
    return array


def read_pair(images_path: str | Path, labels_path: str | Path) -> MnistPair:
    """Read an images file and its labels file and check they belong together."""
    images = check_images(read_idx(images_path), images_path)
    labels = check_labels(read_idx(labels_path), labels_path)
    if images.shape[0] != labels.shape[0]:
        raise IdxError(
            images_path,
            f"{images.shape[0]} images but {Path(labels_path).name} has {labels.shape[0]} labels",
        )
    return MnistPair(images=images, labels=labels)


def encode_idx(array: np.ndarray) -> bytes:
    """IDX bytes (uncompressed) for a uint8 array."""
    if array.dtype != np.uint8:
        raise ValueError(f"IDX here holds unsigned bytes only, got {array.dtype}")
    header = struct.pack(">HBB", 0, UBYTE, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    return header + np.ascontiguousarray(array).tobytes()


def write_idx_gz(array: np.ndarray, path: str | Path) -> None:
    """Write a uint8 array as gzip IDX, byte-identical for identical input (mtime 0)."""
    Path(path).write_bytes(gzip.compress(encode_idx(array), compresslevel=9, mtime=0))


def sha256_file(path: str | Path) -> str:
    """SHA-256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
