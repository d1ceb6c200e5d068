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
    assert data_rule == f"{settings.pipeline_name}-new-dataset-version"
    assert schedule_rule == f"{settings.pipeline_name}-training-schedule"
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
