"""contracts/fixtures/registry-entry.json is what the real register step writes today."""

from __future__ import annotations

import json

from mlops_settings import Settings
from pipelines.mnist import export_registry_fixture as export


def test_regenerating_the_registry_fixture_gives_the_committed_file(emulator: Settings) -> None:
    assert emulator.endpoint_url is not None
    entry = export.written_entry(emulator.endpoint_url)

    committed = export.DEFAULT_OUTPUT.read_text()
    assert export.render(entry) == committed, (
        "register.py writes another entry than contracts/fixtures/registry-entry.json: "
        "regenerate it with `uv run python -m pipelines.mnist.export_registry_fixture`"
    )
    assert json.loads(committed)["CustomerMetadataProperties"]["input_shape"] == "N:1:28:28"
