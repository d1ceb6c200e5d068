from __future__ import annotations

import pytest

from functions.get_models.cors import model_bucket_cors_rules


def test_bucket_rules_need_an_origin() -> None:
    with pytest.raises(ValueError, match="at least one origin"):
        model_bucket_cors_rules([])
