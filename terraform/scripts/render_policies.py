"""Render the IAM policy templates in iam/ as Terraform does, for parliament to lint.

The renderer is the one the local stack uses (`localaws.iam.template`, Terraform's
``templatefile()`` for plain variables), with ``local.policy_vars`` of terraform/main.tf
computed from the default settings (`playground.roles.policy_vars`) and an example Terraform
state bucket (its variable is empty unless GitHub roles are made). A placeholder Terraform
does not pass fails the render, so a new template variable cannot slip past the linter.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from localaws.iam.template import TemplateError, render_policy
from mlops_settings import Settings
from playground.roles import policy_vars

EXAMPLE_STATE_BUCKET = "mnist-playground-terraform-state"


def render(template: Path) -> str:
    """The policy with every placeholder filled; raises ValueError on unknown ones."""
    variables = {**policy_vars(Settings()), "state_bucket": EXAMPLE_STATE_BUCKET}
    try:
        return json.dumps(render_policy(template, variables), indent=2)
    except TemplateError as exc:
        raise ValueError(str(exc)) from None


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
