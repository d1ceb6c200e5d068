"""The IAM roles of this system, the services' and the people's, rendered as Terraform does.

Each role here is one ``aws_iam_role`` of terraform/ (a unit test holds the two together):
its name, the service its trust policy lets assume it (``data.aws_iam_policy_document.
assumed_by`` in terraform/iam.tf: that service, from this account only) and its inline
policies, the templates in iam/ rendered with ``local.policy_vars`` of terraform/main.tf by
`localaws.iam.template` (Terraform's ``templatefile()``). The local stack creates these roles
in the emulator so that each local actor can act as its AWS role.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localaws.iam.template import render_policy
from mlops_settings import Settings

IAM_DIR = Path(__file__).resolve().parents[4] / "iam"
# The account the emulator stands in for (moto's default account).
LOCAL_ACCOUNT = "123456789012"
# The services whose trust policies carry aws:SourceAccount in terraform/iam.tf's
# `assumed_by` (source_account = true).
SOURCE_ACCOUNT_SERVICES = frozenset({"sagemaker.amazonaws.com", "events.amazonaws.com"})


# AWS's managed policy AdministratorAccess (arn:aws:iam::aws:policy/AdministratorAccess), what
# docs/aws.md asks of the person who deploys ("credentials with administrator rights").
ADMINISTRATOR_ACCESS: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


@dataclass(frozen=True)
class Role:
    """One role: its Terraform resource, name, trusted service and inline policy templates.

    A person's role (``service`` empty) trusts the account: people of the account assume it
    with their own credentials, as a person signed in to AWS would.
    """

    resource: str  # aws_iam_role.<resource> in terraform/
    name: str
    service: str  # the service principal its trust policy names; "" for a person's role
    policies: tuple[tuple[str, str], ...]  # (inline policy name, template file in iam/)
    administrator: bool = False  # also AdministratorAccess (the deployer)

    @property
    def source_account(self) -> bool:
        """Whether the trust names ``aws:SourceAccount`` (terraform/iam.tf's ``assumed_by``).

        Only where the service sends the key when it assumes the role: SageMaker and
        EventBridge do, Lambda does not (a condition on a key never sent fails closed).
        """
        return self.service in SOURCE_ACCOUNT_SERVICES

    def trust_policy(self, account: str) -> dict[str, Any]:
        """The trust policy Terraform's ``assumed_by`` document renders for this role."""
        if not self.service:
            return {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        statement: dict[str, Any] = {
            "Effect": "Allow",
            "Principal": {"Service": self.service},
            "Action": "sts:AssumeRole",
        }
        if self.source_account:
            statement["Condition"] = {"StringEquals": {"aws:SourceAccount": account}}
        return {"Version": "2012-10-17", "Statement": [statement]}


def policy_vars(settings: Settings, account: str = LOCAL_ACCOUNT) -> dict[str, str]:
    """``local.policy_vars`` of terraform/main.tf, from the settings (same names, same values)."""
    prefix = settings.name_prefix
    return {
        "partition": "aws",
        "region": settings.region,
        "account_id": account,
        "name_prefix": prefix,
        "data_bucket": settings.data_bucket,
        "model_bucket": settings.model_bucket,
        "site_bucket": settings.site_bucket,
        "model_package_group": settings.model_package_group,
        "model_package_group_arn_name": settings.model_package_group.lower(),
        "pipeline_arn_name": settings.pipeline_name.lower(),
        "pipeline_prefix": f"pipelines/{settings.pipeline_name}",
        "raw_prefix": settings.raw_prefix,
        "sagemaker_role": settings.sagemaker_role_name,
        "api_function": f"{prefix}-get-models",
        "feedback_function": f"{prefix}-feedback",
        "state_bucket": "",
    }


def service_roles(settings: Settings) -> list[Role]:
    """The roles services assume: pipeline jobs, both Lambdas, the EventBridge trigger."""
    prefix = settings.name_prefix
    return [
        Role(
            "sagemaker_execution",
            settings.sagemaker_role_name,
            "sagemaker.amazonaws.com",
            (("pipeline-jobs", "sagemaker-execution.json"),),
        ),
        Role(
            "api",
            f"{prefix}-get-models",
            "lambda.amazonaws.com",
            (("get-models", "get-models-lambda.json"),),
        ),
        Role(
            "feedback",
            f"{prefix}-feedback",
            "lambda.amazonaws.com",
            (("feedback", "feedback-lambda.json"),),
        ),
        Role(
            "training_trigger",
            f"{prefix}-training-trigger",
            "events.amazonaws.com",
            (("start-pipeline", "eventbridge-start-pipeline.json"),),
        ),
    ]


# The people of docs/aws.md and the role each acts as locally (`playground.people`).
PEOPLE = ("deployer", "reviewer", "approver")


def people_roles(settings: Settings) -> list[Role]:
    """The roles of the people of docs/aws.md: who deploys, who reviews feedback, who approves.

    The deployer has administrator rights (docs/aws.md: "credentials with administrator
    rights for the first apply") and, as in AWS, is no role Terraform makes; the reviewer and
    the approver get the least-privilege policies of iam/feedback-reviewer.json and
    iam/model-approver.json (terraform/people.tf makes them in AWS).
    """
    prefix = settings.name_prefix
    return [
        Role("deployer", f"{prefix}-deployer", "", (), administrator=True),
        Role(
            "feedback_reviewer",
            f"{prefix}-feedback-reviewer",
            "",
            (("review-feedback", "feedback-reviewer.json"),),
        ),
        Role(
            "model_approver",
            f"{prefix}-model-approver",
            "",
            (("decide-model-versions", "model-approver.json"),),
        ),
    ]


def person_role(settings: Settings, person: str) -> Role:
    """The role of one person of `PEOPLE` (``approver``).

    Raises:
        KeyError: no such person.
    """
    return dict(zip(PEOPLE, people_roles(settings), strict=True))[person]


def all_roles(settings: Settings) -> list[Role]:
    """The services' roles, then the people's."""
    return service_roles(settings) + people_roles(settings)


def role_arn(settings: Settings, resource: str, account: str = LOCAL_ACCOUNT) -> str:
    """The ARN of one service role by its Terraform resource name (``training_trigger``).

    Raises:
        KeyError: no such role.
    """
    for role in all_roles(settings):
        if role.resource == resource:
            return f"arn:aws:iam::{account}:role/{role.name}"
    raise KeyError(resource)


def rendered_policies(
    role: Role, settings: Settings, account: str = LOCAL_ACCOUNT
) -> dict[str, dict[str, Any]]:
    """{inline policy name: policy document} of a role, rendered as Terraform renders them.

    Raises:
        localaws.iam.template.TemplateError: a template uses a variable Terraform does not pass.
    """
    variables = policy_vars(settings, account)
    rendered = {name: render_policy(IAM_DIR / file, variables) for name, file in role.policies}
    if role.administrator:
        rendered["AdministratorAccess"] = ADMINISTRATOR_ACCESS
    return rendered


def install(
    settings: Settings, iam: Any, account: str = LOCAL_ACCOUNT, empty: bool = False
) -> list[str]:
    """Create the roles in the emulator, or bring their policies up to date.

    Only what differs is written (a restart adds nothing to the journal). ``iam`` is a boto3
    IAM client of the emulator; ``empty``: the emulator was just reset, nothing is looked up.
    Returns what it created or changed.
    """
    import json

    changed: list[str] = []
    for role in all_roles(settings):
        trust = role.trust_policy(account)
        try:
            if empty:
                raise iam.exceptions.NoSuchEntityException({}, "GetRole")
            current = iam.get_role(RoleName=role.name)["Role"]
        except iam.exceptions.NoSuchEntityException:
            iam.create_role(RoleName=role.name, AssumeRolePolicyDocument=json.dumps(trust))
            changed.append(f"role {role.name}")
        else:
            if _document(current.get("AssumeRolePolicyDocument")) != trust:
                iam.update_assume_role_policy(RoleName=role.name, PolicyDocument=json.dumps(trust))
                changed.append(f"trust policy of {role.name}")
        for name, document in rendered_policies(role, settings, account).items():
            try:
                if empty:
                    raise iam.exceptions.NoSuchEntityException({}, "GetRolePolicy")
                found = iam.get_role_policy(RoleName=role.name, PolicyName=name)["PolicyDocument"]
            except iam.exceptions.NoSuchEntityException:
                found = None
            if _document(found) != document:
                iam.put_role_policy(
                    RoleName=role.name, PolicyName=name, PolicyDocument=json.dumps(document)
                )
                changed.append(f"policy {name} of {role.name}")
    return changed


def _document(value: Any) -> Any:
    """A policy document as boto3 returns it (a dict, or URL-encoded JSON text) read as a dict."""
    import json
    from urllib.parse import unquote

    if isinstance(value, str):
        return json.loads(unquote(value))
    return value
