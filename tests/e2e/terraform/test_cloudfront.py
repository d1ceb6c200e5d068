"""The Content Security Policy CloudFront sends is the one `playground site serve` sends.

Both are built from contracts/site-csp.json, by Terraform (terraform/cloudfront.tf) and by
Python (`playground.site_server.site_policy`); `terraform console` evaluates Terraform's on
a copy of the configuration with a local state, and it must equal Python's for the same
origins, within CloudFront's limit on the header.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from playground.site_server import site_policy

REPO = Path(__file__).resolve().parents[3]
REGION = "eu-west-1"
PREFIX = "csp-demo"
# CloudFront's quota: "Maximum length of the Content-Security-Policy header value in a response
# headers policy: 1783 characters" (CloudFront Developer Guide, Quotas).
MAX_POLICY_CHARS = 1783

pytestmark = [
    pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on PATH"),
    pytest.mark.slow,
]


def terraform(folder: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        ["terraform", *args],
        cwd=folder,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "TF_IN_AUTOMATION": "1"},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_cloudfront_sends_the_policy_the_local_site_sends(tmp_path: Path) -> None:
    for part in ("terraform", "contracts", "iam"):
        shutil.copytree(REPO / part, tmp_path / part, ignore=shutil.ignore_patterns(".terraform*"))
    folder = tmp_path / "terraform"
    # The S3 state backend of a real deploy is replaced by a local, empty state.
    (folder / "zz_local_override.tf").write_text('terraform {\n  backend "local" {}\n}\n')
    plugins = os.environ.get("TF_PLUGIN_DIR")
    terraform(folder, "init", "-input=false", *([f"-plugin-dir={plugins}"] if plugins else []))

    answer = terraform(
        folder,
        "console",
        f"-var=region={REGION}",
        f"-var=name_prefix={PREFIX}",
        stdin="jsonencode(local.site_csp)\n",
    )
    cloudfront = json.loads(json.loads(answer.strip().splitlines()[-1]))

    local = site_policy(
        f"https://*.lambda-url.{REGION}.on.aws", f"https://{PREFIX}-models.s3.amazonaws.com"
    )
    assert cloudfront == local
    assert len(cloudfront) <= MAX_POLICY_CHARS
    assert "script-src 'self' 'wasm-unsafe-eval';" in cloudfront
