"""The pipeline's EventBridge rules are written once, for the local stack and Terraform."""

from __future__ import annotations

import re
from pathlib import Path

from mlops_settings import Settings
from playground import triggers

EVENTS_TF = Path(__file__).resolve().parents[3] / "terraform" / "events.tf"


def test_local_rules_are_named_like_terraforms_and_match_only_manifests() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    data_rule, schedule_rule = triggers.rule_names(settings)
    # terraform/events.tf: "${var.name_prefix}<suffix>".
    assert data_rule == f"{settings.name_prefix}-new-dataset-version"
    assert schedule_rule == f"{settings.name_prefix}-training-schedule"
    pattern = triggers.manifest_event_pattern(settings)
    assert pattern["detail"]["bucket"]["name"] == [settings.data_bucket]
    assert pattern["detail"]["object"]["key"] == [
        {"wildcard": f"{settings.raw_prefix}/*/manifest.json"}
    ]


def test_terraform_reads_the_same_contract_and_spells_no_rule_itself() -> None:
    text = EVENTS_TF.read_text()
    assert 'templatefile("${path.module}/../contracts/pipeline-triggers.json"' in text
    assert "event_pattern = jsonencode(local.triggers.new_dataset_version.event_pattern)" in text
    assert not re.search(r'name\s*=\s*"\$\{var\.name_prefix\}-', text)  # no literal suffix
    assert "manifest.json" not in text.split("resource ")[1]  # the pattern is not repeated
    assert "local.triggers.retry_policy.maximum_retry_attempts" in text
    assert "maximum_retry_attempts       = 3" not in text  # read, not typed again


def test_local_targets_retry_as_terraforms() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert triggers.retry_policy(settings) == {
        "MaximumEventAgeInSeconds": 3600,
        "MaximumRetryAttempts": 3,
    }
