"""The offline MNIST sample in the repository: checksums and class counts."""

from __future__ import annotations

import numpy as np

from pipelines.mnist.code.idx import read_pair
from playground import data

IMAGES, LABELS = data.SPLITS["train"]


def test_sample_matches_its_checksums_and_class_counts() -> None:
    files = data.check_folder(data.SAMPLE_DIR)
    assert [f.name for f in files] == [IMAGES, LABELS]
    labels = read_pair(data.SAMPLE_DIR / IMAGES, data.SAMPLE_DIR / LABELS).labels
    assert np.bincount(labels).tolist() == [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]
