"""Render the IAM policy templates in iam/ with example values, for parliament to lint.

Terraform renders them with templatefile(); the templates use only plain `${name}`
placeholders, which string.Template reads the same way. A placeholder without an example
value here fails the render, so a new template variable cannot slip past the linter.
"""

from __future__ import annotations

import argparse
import json
import string
import sys
from pathlib import Path

# Example values shaped like the ones Terraform passes (local.policy_vars in main.tf).
EXAMPLE = {
    "partition": "aws",
    "region": "us-east-1",
    "account_id": "123456789012",
    "name_prefix": "mnist-playground",
    "data_bucket": "mnist-playground-data",
    "model_bucket": "mnist-playground-models",
    "site_bucket": "mnist-playground-site",
    "model_package_group": "mnist",
    "model_package_group_arn_name": "mnist",
    "pipeline_arn_name": "mnist-training",
    "pipeline_prefix": "pipelines/mnist-training",
    "raw_prefix": "raw/mnist",
    "sagemaker_role": "mnist-playground-sagemaker-execution",
    "api_function": "mnist-playground-get-models",
    "feedback_function": "mnist-playground-feedback",
    "state_bucket": "mnist-playground-terraform-state",
}


def render(template: Path) -> str:
    """The policy with every placeholder filled; raises on unknown ones or directives."""
    text = template.read_text()
    if "%{" in text:
        raise ValueError(f"{template}: template directives are not supported here")
    try:
        rendered = string.Template(text).substitute(EXAMPLE)
    except KeyError as exc:
        raise ValueError(f"{template}: no example value for placeholder {exc}") from None
    json.loads(rendered)  # a policy that is not JSON fails here, with the position
    return rendered


def main() -> int:
    """Render every iam/*.json into the output folder."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, default=Path("iam"))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    templates = sorted(args.source.glob("*.json"))
    if not templates:
        print(f"no policy templates in {args.source}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    for template in templates:
        try:
            (args.out / template.name).write_text(render(template))
        except ValueError as exc:
            print(exc, file=sys.stderr)
            return 1
    print(f"rendered {len(templates)} policies into {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
