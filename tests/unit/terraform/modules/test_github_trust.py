"""The GitHub roles' trust (terraform/modules/github_trust) fed the tokens GitHub would mint.

The module is rendered by Terraform itself (`terraform console`, no provider, offline) and each
policy is evaluated the way IAM evaluates a web-identity trust policy: an `Allow` statement
for `sts:AssumeRoleWithWebIdentity` whose `Federated` principal is the token's provider and
whose every condition holds (any value of a key, all keys, all operators).

The tokens follow GitHub's default subject ("OpenID Connect reference", GitHub Actions docs):
`repo:<owner>/<name>:<context>` for repositories that predate immutable subjects,
`repo:<owner>@<owner id>/<name>@<repository id>:<context>` for repositories created, renamed or
transferred on or after 2026-07-15; the context is `environment:<name>` for a job with an
environment, `pull_request` for pull request events, otherwise `ref:<git ref>`. One claim set
per workflow, job and event of .github/workflows, in both forms, and the look-alikes that must
be refused.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[4]
MODULE = REPO / "terraform" / "modules" / "github_trust"
WORKFLOWS = REPO / ".github" / "workflows"

OWNER, NAME = "example-org", "aws-mlops-playground"
OWNER_ID, REPOSITORY_ID = "1234567", "89012345"
PROVIDER = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
ROLE_VARIABLES = {"vars.AWS_DEPLOY_ROLE_ARN": "deploy", "vars.AWS_PLAN_ROLE_ARN": "plan"}

pytestmark = pytest.mark.skipif(
    shutil.which("terraform") is None, reason="terraform is not on PATH (see .devcontainer/)"
)


def render(tmp_path: Path, legacy_subjects: bool = True) -> dict[str, dict[str, Any]]:
    """{role: trust policy} as Terraform renders the module for the example repository."""
    work = tmp_path / "github_trust"
    if not work.exists():
        shutil.copytree(MODULE, work)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TF_", "AWS_"))},
        "TF_DATA_DIR": str(tmp_path / "tf-data"),
        "CHECKPOINT_DISABLE": "1",
    }
    subprocess.run(
        ["terraform", f"-chdir={work}", "init", "-input=false", "-backend=false"],
        env=env,
        check=True,
        capture_output=True,
    )
    variables = {
        "repository": f"{OWNER}/{NAME}",
        "owner_id": OWNER_ID,
        "repository_id": REPOSITORY_ID,
        "provider_arn": PROVIDER,
        "legacy_subjects": str(legacy_subjects).lower(),
    }
    done = subprocess.run(
        [
            "terraform",
            f"-chdir={work}",
            "console",
            *[f"-var={k}={v}" for k, v in variables.items()],
        ],
        input="jsonencode(local.policies)\n",
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    policies = json.loads(json.loads(done.stdout.strip()))
    return {role: json.loads(text) for role, text in policies.items()}


def as_list(value: Any) -> list[Any]:
    """IAM's one-or-many values as a list."""
    return value if isinstance(value, list) else [value]


def allows(policy: dict[str, Any], token: dict[str, str]) -> bool:
    """Whether IAM would let this token assume the role (no Deny statements are used here).

    Raises on a condition operator this evaluator does not know, so a policy using one
    cannot pass unnoticed.
    """
    for statement in as_list(policy["Statement"]):
        if statement["Effect"] != "Allow":
            raise AssertionError(f"unexpected statement {statement}")
        if "sts:AssumeRoleWithWebIdentity" not in as_list(statement["Action"]):
            continue
        if PROVIDER not in as_list(statement["Principal"].get("Federated", [])):
            continue
        if all(
            condition_holds(operator, key, as_list(values), token)
            for operator, keys in statement.get("Condition", {}).items()
            for key, values in keys.items()
        ):
            return True
    return False


def condition_holds(operator: str, key: str, values: list[str], token: dict[str, str]) -> bool:
    """One condition key: the token's claim equals (or matches) any of the values."""
    claim = token.get(key.removeprefix("token.actions.githubusercontent.com:"))
    if claim is None:
        return False  # a missing key fails a StringEquals/StringLike condition
    if operator == "StringEquals":
        return claim in values
    if operator == "StringLike":
        return any(fnmatch.fnmatchcase(claim, value) for value in values)
    raise AssertionError(f"the evaluator does not know {operator}")


def subject(context: str, immutable: bool, owner: str = OWNER, name: str = NAME) -> str:
    """GitHub's default subject of a job of `owner/name` in `context`."""
    if immutable:
        return f"repo:{owner}@{OWNER_ID}/{name}@{REPOSITORY_ID}:{context}"
    return f"repo:{owner}/{name}:{context}"


def token(sub: str, aud: str = "sts.amazonaws.com") -> dict[str, str]:
    """The claims IAM can see."""
    return {"sub": sub, "aud": aud}


def github_context(event: str, ref: str) -> SimpleNamespace:
    """The `github` context a job's `if:` reads, for a run of this repository."""
    head = SimpleNamespace(repo=SimpleNamespace(full_name=f"{OWNER}/{NAME}"))
    return SimpleNamespace(
        event_name=event,
        ref=ref,
        repository=f"{OWNER}/{NAME}",
        event=SimpleNamespace(pull_request=SimpleNamespace(head=head)),
    )


def job_runs(condition: str | None, github: SimpleNamespace) -> bool:
    """A job's `if:` expression evaluated for a run (the operators these workflows use)."""
    if not condition:
        return True
    expression = condition.replace("&&", " and ").replace("||", " or ").replace("!", " not ")
    expression = expression.replace(" not =", " !=")
    return bool(eval(expression, {"__builtins__": {}}, {"github": github}))  # noqa: S307


def runs_with_tokens() -> list[tuple[str, str, str, str, str]]:
    """(workflow, job, event, ref, role) for every job that assumes an AWS role.

    Events as GitHub delivers them: a push to each branch the workflow lists, a manual run
    (workflow_dispatch) from main and from another branch, a pull request; a job whose `if:`
    skips the event gets no token.
    """
    runs = []
    for path in sorted(WORKFLOWS.glob("*.yml")):
        workflow = yaml.safe_load(path.read_text())
        events = workflow.get("on", workflow.get(True))  # YAML 1.1 reads `on` as True
        for job_name, job in workflow["jobs"].items():
            if (job.get("permissions") or {}).get("id-token") != "write":
                continue
            roles = [
                role
                for step in job["steps"]
                for variable, role in ROLE_VARIABLES.items()
                if variable in str((step.get("with") or {}).get("role-to-assume", ""))
            ]
            assert len(roles) == 1, f"{path.name}:{job_name} assumes {roles}"
            assert "environment" not in job, "a job environment changes the subject"
            deliveries = []
            for event, spec in events.items():
                if event == "push":
                    deliveries += [("push", f"refs/heads/{b}") for b in spec["branches"]]
                elif event == "workflow_dispatch":
                    deliveries += [(event, "refs/heads/main"), (event, "refs/heads/feature")]
                elif event == "pull_request":
                    deliveries.append((event, "refs/pull/7/merge"))
                else:
                    raise AssertionError(f"{path.name}: no token rule for {event} events")
            for event, ref in deliveries:
                if job_runs(job.get("if"), github_context(event, ref)):
                    runs.append((path.name, job_name, event, ref, roles[0]))
    return runs


def context_of(event: str, ref: str) -> str:
    """GitHub's default subject context for a job without an environment."""
    return "pull_request" if event.startswith("pull_request") else f"ref:{ref}"


@pytest.fixture(scope="module")
def policies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return render(tmp_path_factory.mktemp("trust"))


def test_every_workflow_that_deploys_or_plans_is_trusted_in_both_subject_forms(
    policies: dict[str, dict[str, Any]],
) -> None:
    runs = runs_with_tokens()
    # The deploying workflows and the pull-request plan are all there.
    assert {(w, j, r) for w, j, _, _, r in runs} == {
        ("pipeline.yml", "upsert-and-start", "deploy"),
        ("terraform.yml", "apply", "deploy"),
        ("terraform.yml", "plan", "plan"),
        ("web.yml", "deploy", "deploy"),
    }
    for workflow, job, event, ref, role in runs:
        for immutable in (True, False):
            sub = subject(context_of(event, ref), immutable)
            assert allows(policies[role], token(sub)), f"{workflow}:{job} on {event} {ref}: {sub}"
            other = "plan" if role == "deploy" else "deploy"
            assert not allows(policies[other], token(sub)), f"{other} trusts {sub}"


def test_manual_runs_from_other_branches_never_reach_the_deploy_role(
    policies: dict[str, dict[str, Any]],
) -> None:
    # The jobs skip them (`if: github.ref == 'refs/heads/main'`), and the trust refuses them too.
    for immutable in (True, False):
        sub = subject("ref:refs/heads/feature", immutable)
        assert not allows(policies["deploy"], token(sub))
        assert not allows(policies["plan"], token(sub))


LOOK_ALIKES = {
    "another repository of the owner": f"repo:{OWNER}/{NAME}-staging:ref:refs/heads/main",
    "a fork": f"repo:someone/{NAME}:ref:refs/heads/main",
    "a fork's pull request run in the fork": f"repo:someone/{NAME}:pull_request",
    "a recycled name (other ids)": f"repo:{OWNER}@7654321/{NAME}@1:ref:refs/heads/main",
    "the owner's id with another repository id": (
        f"repo:{OWNER}@{OWNER_ID}/{NAME}@{int(REPOSITORY_ID) + 1}:ref:refs/heads/main"
    ),
    "a longer branch name": f"repo:{OWNER}/{NAME}:ref:refs/heads/main-evil",
    "a tag": f"repo:{OWNER}/{NAME}:ref:refs/tags/main",
    "an environment": f"repo:{OWNER}/{NAME}:environment:production",
    "pull_request_target (pull_request context)": f"repo:{OWNER}/{NAME}:pull_request",
    "a case-changed owner": f"repo:{OWNER.upper()}/{NAME}:ref:refs/heads/main",
}


@pytest.mark.parametrize("why", LOOK_ALIKES)
def test_look_alike_tokens_are_refused_by_the_deploy_role(
    policies: dict[str, dict[str, Any]], why: str
) -> None:
    assert not allows(policies["deploy"], token(LOOK_ALIKES[why])), why


def test_the_plan_role_refuses_other_repositories_and_branches(
    policies: dict[str, dict[str, Any]],
) -> None:
    for sub in (
        f"repo:someone/{NAME}:pull_request",
        f"repo:{OWNER}@7654321/{NAME}@1:pull_request",
        f"repo:{OWNER}/{NAME}:ref:refs/heads/feature",
    ):
        assert not allows(policies["plan"], token(sub)), sub


def test_a_token_for_another_audience_is_refused(policies: dict[str, dict[str, Any]]) -> None:
    sub = subject("ref:refs/heads/main", immutable=True)
    assert allows(policies["deploy"], token(sub))
    assert not allows(policies["deploy"], token(sub, aud=f"https://github.com/{OWNER}"))


def test_no_workflow_listens_to_pull_request_target() -> None:
    # pull_request_target runs the default branch's workflow with the base repository's
    # permissions for code from any fork; none of ours may, so no such token is ever minted.
    for path in WORKFLOWS.glob("*.yml"):
        workflow = yaml.safe_load(path.read_text())
        assert "pull_request_target" not in workflow.get("on", workflow.get(True)), path.name


def test_without_legacy_subjects_only_the_immutable_form_is_trusted(tmp_path: Path) -> None:
    strict = render(tmp_path, legacy_subjects=False)
    main = "ref:refs/heads/main"
    assert allows(strict["deploy"], token(subject(main, immutable=True)))
    assert not allows(strict["deploy"], token(subject(main, immutable=False)))
    assert not allows(strict["plan"], token(subject("pull_request", immutable=False)))
