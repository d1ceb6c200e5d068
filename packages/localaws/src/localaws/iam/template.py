"""Terraform's ``templatefile()`` for policy templates: the one renderer of ``iam/*.json``.

Terraform's template language (Terraform docs, "Strings and Templates"): ``${ expr }``
interpolates, ``%{ ... }`` is a directive, ``$${`` and ``%%{`` are the literal ``${`` and ``%{``.
Policy templates here use plain variable names only, which is all this renderer accepts: any
other expression or a directive is refused, so what it renders is exactly what Terraform
renders. As in ``templatefile()``, a variable without a value is an error naming it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_TOKEN = re.compile(r"\$\$\{|%%\{|\$\{\s*([^}]*?)\s*\}|%\{")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


class TemplateError(ValueError):
    """The template uses what this renderer does not support, or a variable has no value."""


def render(text: str, variables: Mapping[str, str], source: str = "template") -> str:
    """The template with every ``${name}`` replaced by its value, as ``templatefile()`` does.

    Raises:
        TemplateError: a directive, an expression that is not a plain name, or a name without
            a value ("vars map does not contain key" in Terraform's words).
    """

    def replace(match: re.Match[str]) -> str:
        found = match.group(0)
        if found == "$${":
            return "${"
        if found == "%%{":
            return "%{"
        if found == "%{":
            raise TemplateError(f"{source}: template directives (%{{...}}) are not supported")
        name = match.group(1)
        if not _NAME.fullmatch(name):
            raise TemplateError(f"{source}: only plain variables are supported, not ${{{name}}}")
        if name not in variables:
            raise TemplateError(f'{source}: vars map does not contain key "{name}"')
        return str(variables[name])

    return _TOKEN.sub(replace, text)


def render_policy(path: Path, variables: Mapping[str, str]) -> dict[str, Any]:
    """A policy template rendered and read as JSON.

    Raises:
        TemplateError: see `render`, or the rendered text is not a JSON object.
    """
    rendered = render(path.read_text(), variables, source=str(path.name))
    try:
        document = json.loads(rendered)
    except json.JSONDecodeError as exc:
        raise TemplateError(f"{path.name}: the rendered policy is not JSON ({exc})") from None
    if not isinstance(document, dict):
        raise TemplateError(f"{path.name}: a policy is a JSON object")
    return document
