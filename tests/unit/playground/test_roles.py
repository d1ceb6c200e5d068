"""The local roles are Terraform's: same names, trusted services, inline policies and variables."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from localaws.iam.template import TemplateError, render
from mlops_settings import Settings
from playground import roles

TERRAFORM = Path(__file__).parents[3] / "terraform"


def _blocks(kind: str) -> dict[str, str]:
    text = "\n".join(p.read_text() for p in sorted(TERRAFORM.glob("*.tf")))
    found = re.finditer(rf'^resource "{kind}" "(\w+)" \{{\n(.*?)^\}}', text, re.M | re.S)
    return {m.group(1): m.group(2) for m in found}


def _terraform_roles(settings: Settings) -> dict[str, tuple[str, str, set[tuple[str, str]]]]:
    """{resource: (name, trusted service, {(policy name, template)})} of the service roles."""
    names = {"local.sagemaker_role_name": settings.sagemaker_role_name}
    out: dict[str, tuple[str, str, set[tuple[str, str]]]] = {}
    for resource, body in _blocks("aws_iam_role").items():
        trusted = re.search(r'assumed_by\["(\w+)"\]', body)
        if not trusted or "count" in body:
            continue  # the GitHub roles (web identity) and the optional MLflow server's role
        raw = re.search(r"^\s*name\s*=\s*(.+)$", body, re.M).group(1).strip()  # type: ignore[union-attr]
        name = names.get(raw) or raw.strip('"').replace("${var.name_prefix}", settings.name_prefix)
        out[resource] = (name, f"{trusted.group(1)}.amazonaws.com", set())
    for body in _blocks("aws_iam_role_policy").values():
        role = re.search(r"aws_iam_role\.(\w+)\.id", body)
        template = re.search(r'templatefile\("\$\{path\.module\}/\.\./iam/([\w.-]+)"', body)
        name = re.search(r'^\s*name\s*=\s*"([^"]+)"', body, re.M)
        if role and template and name and role.group(1) in out and "count" not in body:
            out[role.group(1)][2].add((name.group(1), template.group(1)))
    return out


def test_every_service_role_of_terraform_is_created_locally_the_same() -> None:
    settings = Settings()
    local = {
        r.resource: (r.name, r.service, set(r.policies)) for r in roles.service_roles(settings)
    }
    assert local == _terraform_roles(settings)


def test_the_policy_variables_are_terraforms() -> None:
    main = (TERRAFORM / "main.tf").read_text()
    block = re.search(r"policy_vars = \{(.*?)\n  \}", main, re.S).group(1)  # type: ignore[union-attr]
    names = set(re.findall(r"^\s*(\w+)\s*=", block, re.M))
    assert set(roles.policy_vars(Settings())) == names


def test_each_role_policy_renders_to_the_project_names() -> None:
    settings = Settings(name_prefix="demo", data_bucket="demo-data", model_package_group="Digits")
    [jobs] = [r for r in roles.service_roles(settings) if r.resource == "sagemaker_execution"]
    policy = roles.rendered_policies(jobs, settings)["pipeline-jobs"]
    resources = {r for s in policy["Statement"] for r in [s["Resource"]] if isinstance(r, str)} | {
        r for s in policy["Statement"] if isinstance(s["Resource"], list) for r in s["Resource"]
    }
    assert "arn:aws:s3:::demo-data/pipelines/mnist-training/*" in resources
    # SageMaker ARNs carry names in lower case, S3 keys as written (terraform/main.tf).
    assert "arn:aws:sagemaker:us-east-1:123456789012:model-package/digits/*" in resources
    assert "arn:aws:s3:::mnist-playground-models/models/Digits/*" in resources
    assert not any("${" in r for r in resources)


def test_the_renderer_reads_templates_as_terraform_does() -> None:
    assert render("a ${x} $${y} %%{z}", {"x": "1"}) == "a 1 ${y} %{z}"
    with pytest.raises(TemplateError, match='does not contain key "missing"'):
        render("${missing}", {})
    with pytest.raises(TemplateError, match="directives"):
        render("%{ if x }a%{ endif }", {"x": "1"})
    with pytest.raises(TemplateError, match="plain variables"):
        render("${lower(x)}", {"x": "A"})


def test_the_reviewer_and_the_approver_are_terraforms_people_roles() -> None:
    settings = Settings()
    text = (TERRAFORM / "people.tf").read_text()
    made = {}
    for resource, body in _blocks("aws_iam_role").items():
        if "assumed_by_people_of_this_account" not in body:
            continue
        name = re.search(r'^\s*name\s*=\s*"([^"]+)"', body, re.M).group(1)  # type: ignore[union-attr]
        made[resource] = name.replace("${var.name_prefix}", settings.name_prefix)
    policies = {
        (role.group(1), name.group(1), template.group(1))
        for body in _blocks("aws_iam_role_policy").values()
        if (role := re.search(r"aws_iam_role\.(\w+)\.id", body))
        and (name := re.search(r'^\s*name\s*=\s*"([^"]+)"', body, re.M))
        and (template := re.search(r'/\.\./iam/([\w.-]+)"', body))
        and role.group(1) in made
    }
    local = [r for r in roles.people_roles(settings) if not r.administrator]
    assert made == {r.resource: r.name for r in local}
    assert policies == {(r.resource, *policy) for r in local for policy in r.policies}
    # Trusted by the people of this account, as locally.
    assert 'identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]' in text
    for role in local:
        [statement] = role.trust_policy("123456789012")["Statement"]
        assert statement["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}


def test_the_deployer_is_the_administrator_docs_aws_starts_from() -> None:
    deployer = roles.person_role(Settings(), "deployer")
    assert roles.rendered_policies(deployer, Settings()) == {
        "AdministratorAccess": roles.ADMINISTRATOR_ACCESS
    }
    # Their own credentials in AWS: no role of terraform/ is theirs.
    assert not any("-deployer" in body for body in _blocks("aws_iam_role").values())


def test_trust_names_the_source_account_only_where_terraform_does() -> None:
    iam_tf = (TERRAFORM / "iam.tf").read_text()
    rows = re.findall(r'service = "([\w.]+)", source_account = (true|false)', iam_tf)
    assert rows, "terraform/iam.tf's assumed_by table is not where it was"
    conditioned = {service for service, flag in rows if flag == "true"}
    for role in roles.service_roles(Settings()):
        [statement] = role.trust_policy("123456789012")["Statement"]
        assert ("Condition" in statement) == (role.service in conditioned), role.name
