from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from functions.get_models.cors import CONTRACT, model_bucket_cors_rules

TERRAFORM = Path(__file__).resolve().parents[4] / "terraform" / "s3.tf"


def test_bucket_rules_need_an_origin() -> None:
    with pytest.raises(ValueError, match="at least one origin"):
        model_bucket_cors_rules([])


def test_the_local_rule_is_the_contract_terraform_applies() -> None:
    contract = json.loads(CONTRACT.read_text())
    (rule,) = model_bucket_cors_rules(["https://site.example"])
    assert rule["MaxAgeSeconds"] == contract["max_age_seconds"] == 3600
    assert rule["AllowedMethods"] == contract["allowed_methods"]
    block = TERRAFORM.read_text().split('resource "aws_s3_bucket_cors_configuration" "models"')[1]
    assert "contracts/model-bucket-cors.json" in TERRAFORM.read_text()
    assert "max_age_seconds = local.model_bucket_cors.max_age_seconds" in block
    assert not re.search(r"max_age_seconds\s*=\s*\d", block)  # no second number
