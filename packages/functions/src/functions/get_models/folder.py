"""Which files sit next to a model file in its content-addressed folder in S3.

The pipeline puts a model's run report and pictures beside its ONNX file,
`models/<group>/<sha256>/{report.html, confusion_matrix.png, training_curves.png}`
(contracts/registry-entry.md), but a model registered before they were written there has
none, and the API links a file only when it exists. One `ListObjectsV2` per folder answers
that for all three (a HEAD per file would cost three calls, and without `s3:ListBucket` S3
answers a HEAD of a missing key with 403, not 404).

The folders of one page are listed on a few threads, and each answer is reused for
`FOLDER_CACHE_SECONDS`, like the registry's descriptions: a file added later shows within
that time. A folder that cannot be listed counts as holding none of them (the version is
still listed, without links) and is asked again on the next request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from functions.get_models.download import parse_s3_uri

FOLDER_CACHE_SECONDS = 60.0
FOLDER_CACHE_MAX_ENTRIES = 2048
FOLDER_THREADS = 8
# Far more than a folder holds (model, evaluation, lineage, report, two pictures).
FOLDER_MAX_KEYS = 100

REPORT = "report.html"
PICTURES = {"confusion_matrix": "confusion_matrix.png", "training_curves": "training_curves.png"}


@dataclass(frozen=True)
class Folder:
    """The files directly in a model's folder (names, not keys) and where it is."""

    bucket: str
    prefix: str
    names: frozenset[str]
    listed: bool = True

    def key(self, name: str) -> str | None:
        """The S3 key of `name` in this folder, or None when it is not there."""
        return f"{self.prefix}{name}" if name in self.names else None


def folder_of(model_data_url: str) -> tuple[str, str]:
    """(bucket, `models/<group>/<sha256>/`) of a model file's s3:// URI.

    Raises:
        ValueError: not an s3:// URI of a key.
    """
    bucket, key = parse_s3_uri(model_data_url)
    return bucket, key.rsplit("/", 1)[0] + "/" if "/" in key else ""


class ModelFolders:
    """Lists model folders, caching each answer for a while."""

    def __init__(
        self,
        s3_client: Any,
        *,
        cache_seconds: float = FOLDER_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._s3 = s3_client
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._listed: dict[tuple[str, str], tuple[float, Folder]] = {}
        self._pool: ThreadPoolExecutor | None = None

    def folders(self, model_data_urls: Sequence[str]) -> tuple[list[Folder], int]:
        """The folder of each model file, in order, and how many S3 calls that took."""
        wanted = [folder_of(url) for url in model_data_urls]
        now = self._clock()
        missing = sorted(
            {
                where
                for where in wanted
                if (hit := self._listed.get(where)) is None or now - hit[0] >= self._cache_seconds
            }
        )
        if len(missing) > 1:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(FOLDER_THREADS, thread_name_prefix="folders")
            fresh = list(self._pool.map(self._list, missing))
        else:
            fresh = [self._list(where) for where in missing]
        answers = dict(zip(missing, fresh, strict=True))
        found = [answers[w] if w in answers else self._listed[w][1] for w in wanted]
        if len(self._listed) + len(answers) > FOLDER_CACHE_MAX_ENTRIES:
            self._listed.clear()
        for where, folder in answers.items():
            if folder.listed:
                self._listed[where] = (now, folder)
        return found, len(missing)

    def _list(self, where: tuple[str, str]) -> Folder:
        bucket, prefix = where
        try:
            answer = self._s3.list_objects_v2(
                Bucket=bucket, Prefix=prefix, Delimiter="/", MaxKeys=FOLDER_MAX_KEYS
            )
        except (ClientError, BotoCoreError):
            return Folder(bucket, prefix, frozenset(), listed=False)
        names = frozenset(item["Key"][len(prefix) :] for item in answer.get("Contents", []))
        return Folder(bucket, prefix, names)
