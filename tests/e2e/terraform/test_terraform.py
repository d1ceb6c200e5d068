"""docs/aws.md rehearsed on an emulator standing in for an AWS account, then checked.

One module-scoped rehearsal runs the commands of docs/aws.md ("From an empty account to a
running site") in the order written, each in bash from the repository root, against an empty
journalled emulator (the one `playground local start` runs) reached only through the
standard `AWS_ENDPOINT_URL`, with the dummy credentials standing for an account's and nothing
else local: the `PLAYGROUND_*` settings come from `make -s tf-env`, as in the document.
Where the emulator (or this offline machine) cannot do what a command needs, the rehearsal
says so by name (`EMULATOR_GAPS`, printed and asserted) and goes on; any other failing
command fails the test. The same Terraform apply is then checked through boto3, bad variables
are shown to fail the plan, and a destroy removes everything.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from functions.get_models.fixtures import written_entry
from localaws.background import free_port
from localaws.gateway import UrlPermission
from mlops_settings import Settings
from playground import stack
from support.denials import assert_no_new_denials

REPO = Path(__file__).resolve().parents[3]
TERRAFORM_DIR = REPO / "terraform"
DOC = REPO / "docs" / "aws.md"
API_CORS = json.loads((REPO / "contracts" / "api-cors.json").read_text())
FEEDBACK_CORS = json.loads((REPO / "contracts" / "feedback-cors.json").read_text())

ACCOUNT = "123456789012"  # moto's account, what `aws sts get-caller-identity` answers
REGION = "eu-west-1"  # docs/aws.md step 1
PREFIX = f"mnist-playground-{ACCOUNT}"
GROUP = f"{PREFIX}-mnist"  # every regional name carries the prefix
PIPELINE = f"{PREFIX}-mnist-training"
STATE_BUCKET = f"{PREFIX}-terraform-state"
SITE_ORIGIN = "http://localhost:5173"
REPOSITORY = "example-org/aws-mlops-playground"
OWNER_ID, REPOSITORY_ID = "1234567", "89012345"  # what `gh api repos/...` would answer
REASON = "misreads 7s, see #12 (tried)"

# The document's placeholders, as a reader would fill them in.
PLACEHOLDERS = {
    "<owner>/<repository>": REPOSITORY,
    "<owner id>": OWNER_ID,
    "<repository id>": REPOSITORY_ID,
    "<version>": "1",
}
# A choice the person made in step 1 (a lower cap than the default 2), which every later
# apply, CI's included, must keep.
PERSON_CHOICES = {"FEEDBACK_RESERVED_CONCURRENCY": "1"}

# What the emulator or this machine cannot do, by a piece of the command it affects: what
# replaces that piece (None: the command is skipped) and why.
EMULATOR_GAPS = {
    "data seed --source mirror": (
        "data seed --source sample",
        "no network here: the offline sample instead of the public mirror",
    ),
    "cloudfront create-invalidation": (
        None,
        "CloudFront: moto has no origin access control (enable_cloudfront=false)",
    ),
    "output -raw site_url": (None, "CloudFront: no distribution, so no site_url"),
}
# Done after a command, in place of what the emulator does too slowly for a test.
AFTER = {
    "playground pipeline start": (
        "SageMaker pipelines: the emulator runs the upload's and the started execution in the "
        "background with the definition's defaults (minutes of training on two cores); the "
        "rehearsal does not wait: it registers the entry register.py writes "
        "(contracts/fixtures/registry-entry.json) and stops the executions"
    ),
}

# What `playground_environment` (printed by `make tf-env`) must say for these names.
PLAYGROUND_ENV = {
    "PLAYGROUND_TARGET": "aws",
    "PLAYGROUND_REGION": REGION,
    "PLAYGROUND_DATA_BUCKET": f"{PREFIX}-data",
    "PLAYGROUND_MODEL_BUCKET": f"{PREFIX}-models",
    "PLAYGROUND_SITE_BUCKET": f"{PREFIX}-site",
    "PLAYGROUND_MODEL_PACKAGE_GROUP": GROUP,
    "PLAYGROUND_PIPELINE_NAME": PIPELINE,
    "PLAYGROUND_SAGEMAKER_ROLE_NAME": f"{PREFIX}-sagemaker-execution",
    "PLAYGROUND_RAW_PREFIX": "raw/mnist",
}

# moto does not return a bucket's EventBridge notification setting (it stores it), so every
# plan wants to set it again (docs/aws.md).
READ_BACK_GAPS = {
    f'aws_s3_bucket_notification.this["{key}"]': "update" for key in ("data", "models", "site")
}

# moto has no DeleteModelPackageGroup (docs/aws.md): the group is dropped from the state before
# a destroy and vanishes with the emulator.
EMULATOR_CANNOT_DELETE = ("aws_sagemaker_model_package_group.models",)

pytestmark = [
    pytest.mark.skipif(
        shutil.which("terraform") is None,
        reason="terraform is not on PATH (see .devcontainer/ or docs/aws.md to install it)",
    ),
    pytest.mark.slow,
    pytest.mark.timeout(600),
]


def doc_commands(text: str) -> list[tuple[str, str]]:
    """(step, command) for every command of the runbook's ```sh blocks, in order.

    A command is one logical shell line (backslash continuations joined by bash itself).
    """
    section = text.split("## From an empty account to a running site", 1)[1].split("\n## ", 1)[0]
    commands: list[tuple[str, str]] = []
    step = "?"
    in_block = False
    pending: list[str] = []
    for line in section.splitlines():
        heading = re.match(r"^(\d+)\. \*\*(.+?)\*\*", line)
        if heading and not in_block:
            step = f"{heading.group(1)}. {heading.group(2).rstrip('.:')}"
        stripped = line.strip()
        if stripped.startswith("```"):
            in_block = stripped == "```sh"
            continue
        if in_block and stripped:
            pending.append(stripped)
            if not stripped.endswith("\\"):
                commands.append((step, "\n".join(pending)))
                pending = []
    return commands


@dataclass
class Rehearsal:
    """What the rehearsal did: outputs per command, notes, and the account's environment."""

    emulator_url: str
    env: dict[str, str]
    tmp: Path
    outputs: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    second_apply: dict[str, str] = field(default_factory=dict)
    ci_applies: dict[str, dict[str, str]] = field(default_factory=dict)
    destroyed: bool = False

    def client(self, service: str) -> Any:
        """A boto3 client of the emulated account."""
        return boto3.client(  # type: ignore[call-overload]
            service,
            region_name=REGION,
            endpoint_url=self.emulator_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def shell(self, command: str, extra_env: dict[str, str] | None = None) -> str:
        """Run one command in bash with the account's environment; keep what it exports."""
        env_file = self.tmp / "env.out"
        script = f"set -euo pipefail\n{command}\nenv -0 > {shlex.quote(str(env_file))}\n"
        started = time.monotonic()
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=REPO,
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=420,
            check=False,
        )
        first_line = command.splitlines()[0]
        print(f"$ {first_line}  ({time.monotonic() - started:.1f} s)")
        if done.returncode != 0:
            pytest.fail(
                f"docs/aws.md: `{command}` failed (exit {done.returncode}):\n"
                f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
        exported = env_file.read_text().split("\0")
        self.env = dict(item.split("=", 1) for item in exported if "=" in item)
        for name in extra_env or {}:
            self.env.pop(name, None)
        return done.stdout + done.stderr

    def terraform(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """One terraform command on terraform/ with the rehearsal's state."""
        color = ["-no-color"] if args[0] in {"plan", "apply", "destroy", "output"} else []
        # As `make` does (mk/infra.mk): the provider's region is the shell's AWS_REGION.
        env = {"TF_VAR_region": self.env["AWS_REGION"], **self.env}
        result = subprocess.run(
            ["terraform", f"-chdir={TERRAFORM_DIR}", args[0], *color, *args[1:]],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if check and result.returncode != 0:
            pytest.fail(f"terraform {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def outputs_json(self) -> dict[str, Any]:
        """The root module's outputs, by name (null outputs are absent)."""
        raw = json.loads(self.terraform("output", "-json").stdout)
        return {name: value["value"] for name, value in raw.items()}


def account_environment(emulator_url: str, tmp: Path) -> dict[str, str]:
    """The shell of someone deploying to an account: tools, credentials, an endpoint.

    No `PLAYGROUND_*` or other `AWS_*` setting of this machine reaches it. What the emulator
    needs beyond an account is added here and named in the rehearsal's notes.
    """
    # This machine's tools stay (PATH, certificates, proxies); its AWS and playground settings,
    # and any Terraform variables, do not.
    dropped = ("AWS_", "PLAYGROUND_", "TF_VAR_", "TF_CLI_ARGS", "TF_DATA_DIR", "TF_STATE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    backend = tmp / "emulator.tfbackend"
    backend.write_text(
        "\n".join(
            [
                f'endpoints = {{ s3 = "{emulator_url}", sts = "{emulator_url}" }}',
                "use_path_style = true",
                "skip_credentials_validation = true",
                "skip_requesting_account_id = true",
                "skip_metadata_api_check = true",
                "skip_region_validation = true",
            ]
        )
    )
    init_args = f"-backend-config={backend}"
    env.update(
        {
            # The account: its credentials and, standing in for AWS, the emulator's address.
            "AWS_ENDPOINT_URL": emulator_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            # Terraform's own working files outside the checkout; no prompts, no telemetry.
            "TF_DATA_DIR": str(tmp / "tf-data"),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
            # A terminal's width: the CLI's tables wrap to it.
            "COLUMNS": "200",
            # The emulator: the state backend's endpoints, the provider's endpoint, and the
            # resources it cannot create (docs/aws.md, "The same Terraform on the emulator").
            "TF_CLI_ARGS_init": init_args,
            "TF_VAR_aws_endpoint_url": emulator_url,
            "TF_VAR_enable_cloudfront": "false",
            "TF_VAR_deny_insecure_transport": "false",
            "TF_VAR_site_origin": SITE_ORIGIN,
            # The person's own choice (docs/aws.md, step 1).
            **PERSON_CHOICES,
        }
    )
    return env


def register_as_the_pipeline_would(rehearsal: Rehearsal) -> None:
    """The registry entry register.py writes, in this deployment's group and bucket."""
    entry = written_entry()
    model = (REPO / "tests/fixtures/web/model.onnx").read_bytes()
    bucket = rehearsal.env["PLAYGROUND_MODEL_BUCKET"]
    container = entry["InferenceSpecification"]["Containers"][0]
    source = container["ModelDataSource"]["S3DataSource"]
    key = source["S3Uri"].split("/", 3)[3]
    rehearsal.client("s3").put_object(Bucket=bucket, Key=key, Body=model)
    source["S3Uri"] = f"s3://{bucket}/{key}"
    container["Image"] = container["Image"].replace(".us-east-1.", f".{REGION}.")
    statistics = entry["ModelMetrics"]["ModelQuality"]["Statistics"]
    statistics["S3Uri"] = statistics["S3Uri"].replace("mnist-playground-models", bucket)
    entry["ModelApprovalStatus"] = "PendingManualApproval"
    entry["ModelPackageGroupName"] = rehearsal.env["PLAYGROUND_MODEL_PACKAGE_GROUP"]
    rehearsal.client("sagemaker").create_model_package(**entry)


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rehearsal]:
    """docs/aws.md from an empty account to a running site, on an empty emulator."""
    tmp = tmp_path_factory.mktemp("aws-rehearsal")
    settings = Settings(emulator_port=free_port(), state_dir=tmp / "emulator", target="local")
    service = stack.emulator_service(settings)
    service.start(60)
    config = REPO / "web/dist/config.json"
    saved_config = config.read_bytes() if config.is_file() else None
    rehearsal = Rehearsal(
        settings.emulator_url, account_environment(settings.emulator_url, tmp), tmp
    )
    started = time.monotonic()
    try:
        for step, command in doc_commands(DOC.read_text()):
            for placeholder, value in PLACEHOLDERS.items():
                command = command.replace(placeholder, value)
            for piece, (replacement, why) in EMULATOR_GAPS.items():
                if piece in command:
                    rehearsal.notes.append(f"step {step}: {why}")
                    print(f"emulator cannot: {why}")
                    command = "" if replacement is None else command.replace(piece, replacement)
            if not command:
                continue
            extra = {}
            if step.startswith("5.") and "make tf-apply" in command:
                extra = {"TF_CLI_ARGS_apply": "-json"}  # to read the planned changes
            rehearsal.outputs[command] = rehearsal.shell(command, extra)
            if extra:
                rehearsal.second_apply = planned_changes(rehearsal.outputs[command])
            for piece, why in AFTER.items():
                if piece in command:
                    rehearsal.notes.append(f"step {step}: {why}")
                    print(f"emulator cannot: {why}")
                    register_as_the_pipeline_would(rehearsal)
                    # Their training would compete for the two cores with every later step.
                    stop_executions(tmp / "emulator")
        print(f"docs/aws.md rehearsed in {time.monotonic() - started:.1f} s")
        started = time.monotonic()
        rehearse_ci_applies(rehearsal)
        print(f"the workflows' applies rehearsed in {time.monotonic() - started:.1f} s")
        yield rehearsal
    finally:
        if not rehearsal.destroyed:
            destroy(rehearsal, check=False)
        service.stop()
        stop_executions(tmp / "emulator")
        if saved_config is not None:
            config.write_bytes(saved_config)


def repository_variables(env: dict[str, str]) -> dict[str, str]:
    """The repository variables of docs/aws.md step 9, as the person set them from the shell."""
    outputs = json.loads(
        subprocess.run(
            ["terraform", f"-chdir={TERRAFORM_DIR}", "output", "-json", "github_role_arns"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    table = DOC.read_text().split("| variable | value |", 1)[1].split("\n\n", 1)[0]
    names = re.findall(r"^\s*\| `([A-Z_]+)` \|", table, flags=re.MULTILINE)
    assert "AWS_DEPLOY_ROLE_ARN" in names, f"step 9's table is not where it was: {names}"
    values = {
        # Choices of step 1 (API_RESERVED_CONCURRENCY, ...) have the shell's names.
        **{name: env.get(name, "") for name in names},
        "AWS_REGION": env["AWS_REGION"],
        "NAME_PREFIX": env["TF_VAR_name_prefix"],
        "TF_STATE_BUCKET": env["TF_STATE_BUCKET"],
        "AWS_DEPLOY_ROLE_ARN": outputs["deploy"],
        "AWS_PLAN_ROLE_ARN": outputs["plan"],
    }
    assert set(names) <= set(values), f"step 9 names variables the rehearsal cannot set: {names}"
    return {name: values[name] for name in names}


def workflow_value(expression: str, variables: dict[str, str], github: dict[str, str]) -> str:
    """A workflow `env:` value with `${{ vars.X }}`, `${{ vars.X || 'y' }}`, `${{ github.x }}`."""

    def one(match: re.Match[str]) -> str:
        inner = match.group(1).strip()
        alternatives = [part.strip() for part in inner.split("||")]
        for part in alternatives:
            if part.startswith("vars."):
                value = variables.get(part.removeprefix("vars."), "")
            elif part.startswith("github."):
                value = github[part.removeprefix("github.")]
            elif re.fullmatch(r"'[^']*'", part):
                value = part[1:-1]
            else:
                raise AssertionError(f"the rehearsal cannot evaluate {inner!r}")
            if value:
                return value
        return ""

    return re.sub(r"\$\{\{(.+?)\}\}", one, str(expression))


def rehearse_ci_applies(rehearsal: Rehearsal) -> None:
    """Run every workflow step that applies (`make tf-apply`), as GitHub would on main.

    The job's environment comes from the workflow's `env:` with the repository variables of
    docs/aws.md step 9; nothing else of the person's shell reaches it. Each apply's planned
    changes are kept: a later apply may update, never destroy or replace.
    """
    import yaml

    variables = repository_variables(rehearsal.env)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    github = {
        "repository": REPOSITORY,
        "repository_owner_id": OWNER_ID,
        "repository_id": REPOSITORY_ID,
        "sha": commit,
        "ref": "refs/heads/main",
    }
    # The runner's environment: tools, the emulator standing in for the role's credentials.
    base = {
        k: v
        for k, v in rehearsal.env.items()
        if not k.startswith(("PLAYGROUND_", "TF_VAR_name_prefix", "TF_STATE", "TF_VAR_github"))
        and k not in variables
    }
    # Workflows whose apply commands (every `make` and `eval` line) and environment are the
    # same as one already run are not run again: an apply costs tens of seconds.
    rehearsed: dict[tuple[str, ...], str] = {}
    for path in sorted((REPO / ".github" / "workflows").glob("*.yml")):
        workflow = yaml.safe_load(path.read_text())
        for job_name, job in workflow["jobs"].items():
            for step in job.get("steps", []):
                script = step.get("run", "")
                if "make tf-apply" not in script:
                    continue
                label = f"{path.name}:{job_name}"
                key = tuple(
                    line.strip()
                    for line in script.splitlines()
                    if line.strip().startswith(("make ", "eval "))
                ) + tuple(
                    f"{k}={v}"
                    for k, v in sorted({**workflow.get("env", {}), **job.get("env", {})}.items())
                )
                if key in rehearsed:
                    print(f"{label}: the same apply as {rehearsed[key]}, not run again")
                    rehearsal.ci_applies[label] = rehearsal.ci_applies[rehearsed[key]]
                    continue
                rehearsed[key] = label
                env = {**base, "GITHUB_SHA": commit}
                for key, value in {**workflow.get("env", {}), **job.get("env", {})}.items():
                    env[key] = workflow_value(value, variables, github)
                for key, value in (step.get("env") or {}).items():
                    env[key] = workflow_value(value, variables, github)
                saved = rehearsal.env
                rehearsal.env = env
                try:
                    out = rehearsal.shell(script, {"TF_CLI_ARGS_apply": "-json"})
                finally:
                    rehearsal.env = saved
                rehearsal.ci_applies[label] = planned_changes(out)
                stop_executions(rehearsal.tmp / "emulator")  # pipeline.yml starts a run


def stop_executions(state_dir: Path) -> None:
    """Stop the pipeline workers the rehearsal's emulator started (each leads its own group)."""
    for record in state_dir.rglob("*.json"):
        try:
            pid = json.loads(record.read_text()).get("pid")
        except (ValueError, AttributeError, OSError):
            continue
        cmdline = Path(f"/proc/{pid}/cmdline")
        if (
            isinstance(pid, int)
            and cmdline.is_file()
            and b"pipeline_worker" in cmdline.read_bytes()
        ):
            os.killpg(pid, signal.SIGTERM)


def planned_changes(apply_log: str) -> dict[str, str]:
    """{address: action} from `terraform apply -json` output."""
    changes = {}
    for line in apply_log.splitlines():
        if not line.startswith("{"):
            continue
        message = json.loads(line)
        if message.get("type") == "planned_change":
            change = message["change"]
            changes[change["resource"]["addr"]] = change["action"]
    return changes


def destroy(rehearsal: Rehearsal, check: bool = True) -> None:
    """Destroy everything, but first forget what the emulator cannot delete."""
    state = rehearsal.terraform("state", "list").stdout.split()
    if not state:
        return
    for address in EMULATOR_CANNOT_DELETE:
        if address in state:
            rehearsal.terraform("state", "rm", address)
    # docs/aws.md: "make tf-init && make tf-destroy". The buckets hold objects; on the
    # emulator they are force_destroy (terraform/s3.tf). No refresh: the state is what the
    # rehearsal just applied.
    try:
        rehearsal.shell(
            "make tf-init && make tf-destroy",
            {"TF_CLI_ARGS_destroy": "-auto-approve -refresh=false -no-color"},
        )
    except pytest.fail.Exception:
        if check:
            raise
    rehearsal.destroyed = True


def test_docs_aws_md_runs_from_an_empty_account_to_a_running_site(rehearsal: Rehearsal) -> None:
    # Only the gaps named above were skipped or replaced, and each is said by name.
    assert len(rehearsal.notes) == len(EMULATOR_GAPS) + len(AFTER), rehearsal.notes
    # Step 4: the deployment names its target, so the CLI talks to the account, not 127.0.0.1.
    for name, value in PLAYGROUND_ENV.items():
        assert rehearsal.env.get(name) == value, name
    outputs = rehearsal.outputs_json()
    # Step 7: the CLI reads the version, approves it, rejects it with a free-text reason.
    listed = next(out for cmd, out in rehearsal.outputs.items() if "models list" in cmd)
    assert "PendingManualApproval" in listed
    shown = next(out for cmd, out in rehearsal.outputs.items() if "models show" in cmd)
    assert REASON in shown
    sagemaker = rehearsal.client("sagemaker")
    group_arn = sagemaker.describe_model_package_group(ModelPackageGroupName=GROUP)[
        "ModelPackageGroupArn"
    ]
    package = sagemaker.describe_model_package(
        ModelPackageName=group_arn.replace(":model-package-group/", ":model-package/") + "/1"
    )
    assert package["ModelApprovalStatus"] == "Rejected"
    caller = rehearsal.client("sts").get_caller_identity()["Arn"]
    assert package["ApprovalDescription"] == f"rejected by {caller}: {REASON}"
    assert package["CustomerMetadataProperties"] == written_entry()["CustomerMetadataProperties"]
    # Step 6: the raw data is in the deployment's bucket, and the pipeline has an execution.
    raw = rehearsal.client("s3").list_objects_v2(Bucket=f"{PREFIX}-data", Prefix="raw/mnist/")
    assert raw["KeyCount"] >= 2
    executions = sagemaker.list_pipeline_executions(PipelineName=PIPELINE)
    assert executions["PipelineExecutionSummaries"]
    # Step 8: the site's config names the API the way the app reads it.
    site = rehearsal.client("s3")
    config = json.loads(site.get_object(Bucket=f"{PREFIX}-site", Key="config.json")["Body"].read())
    assert config["api_url"].rstrip("/") == outputs["api_url"].rstrip("/")
    assert re.fullmatch(r"https?://\S+", config["api_url"])
    assert config["feedback_url"].rstrip("/") == outputs["feedback_url"].rstrip("/")
    index = site.get_object(Bucket=f"{PREFIX}-site", Key="index.html")["Body"].read()
    assert b"<html" in index.lower()
    # The strict emulator refused nothing the document's commands sent (AWS would not either).
    report = requests.get(f"{rehearsal.emulator_url}/_playground/violations", timeout=10).json()
    refused = [f"{v['service']} {v['operation']}: {v['message']}" for v in report["recent"]]
    assert report["strict"] is True
    assert report["violations"] == 0, "AWS would refuse:\n" + "\n".join(refused)
    # And IAM, enforced, denied nothing: not the person's commands, not EventBridge calling
    # the pipeline as the trigger's role, not the jobs as theirs.
    assert_no_new_denials(rehearsal.emulator_url, 0)


def test_the_apply_built_the_system_the_document_describes(rehearsal: Rehearsal) -> None:
    # The second apply adds the pipeline and its triggers and changes nothing else: everything
    # reads back as it was written (the only exception is an emulator gap, READ_BACK_GAPS).
    assert rehearsal.second_apply == {
        "aws_sagemaker_pipeline.training[0]": "create",
        "aws_cloudwatch_event_rule.new_dataset_version[0]": "create",
        "aws_cloudwatch_event_rule.schedule[0]": "create",
        "aws_cloudwatch_event_target.new_dataset_version[0]": "create",
        "aws_cloudwatch_event_target.schedule[0]": "create",
        **READ_BACK_GAPS,
    }
    outputs = rehearsal.outputs_json()
    assert outputs["playground_environment"] == PLAYGROUND_ENV
    s3 = rehearsal.client("s3")
    buckets = {outputs["data_bucket"], outputs["model_bucket"], outputs["site_bucket"]}
    assert buckets == {f"{PREFIX}-data", f"{PREFIX}-models", f"{PREFIX}-site"}
    for bucket in [*buckets, f"{PREFIX}-logs"]:
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert all(block.values()), f"{bucket} does not block all public access: {block}"
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
        assert rules["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    # The logs bucket's policy admits S3 log delivery and refuses plain HTTP.
    logs_policy = json.loads(s3.get_bucket_policy(Bucket=f"{PREFIX}-logs")["Policy"])
    assert any(
        st["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(st)
        for st in logs_policy["Statement"]
    ), "the logs bucket accepts plain HTTP"
    assert "logging.s3.amazonaws.com" in json.dumps(logs_policy)
    for bucket in buckets:
        logging = s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"]
        assert logging["TargetBucket"] == f"{PREFIX}-logs"
    lifecycle = s3.get_bucket_lifecycle_configuration(Bucket=f"{PREFIX}-data")["Rules"]
    artifacts = next(r for r in lifecycle if r["ID"] == "expire-old-pipeline-artifacts")
    assert artifacts["Filter"]["Prefix"] == f"pipelines/{PIPELINE}/executions/"
    assert artifacts["Expiration"]["Days"] > 30  # outlives the pipeline's 30-day step cache
    # Step code: unused code goes (each build uploads the deployed code again), the SDK's
    # staging a day after a build.
    code = next(r for r in lifecycle if r["ID"] == "expire-unused-step-code")
    assert code["Filter"]["Prefix"] == f"pipelines/{PIPELINE}/code/"
    assert code["Expiration"]["Days"] > 30
    staging = next(r for r in lifecycle if r["ID"] == "expire-definition-staging")
    assert staging["Filter"]["Prefix"] == f"pipelines/{PIPELINE}/staging/"
    assert staging["Expiration"]["Days"] == 1
    cors = s3.get_bucket_cors(Bucket=f"{PREFIX}-models")["CORSRules"]
    assert [rule["AllowedOrigins"] for rule in cors] == [[SITE_ORIGIN]]

    # Roles: each policy names this deployment's buckets, group and pipeline, not others.
    iam = rehearsal.client("iam")

    def inline_policy(role: str) -> str:
        names = iam.list_role_policies(RoleName=role)["PolicyNames"]
        assert len(names) == 1, f"{role} should have exactly one inline policy, has {names}"
        return json.dumps(iam.get_role_policy(RoleName=role, PolicyName=names[0])["PolicyDocument"])

    # aws:SourceAccount only where the service sends it: SageMaker and EventBridge, not Lambda.
    def trust_conditions(role: str) -> list[Any]:
        statements = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]["Statement"]
        return [st.get("Condition") for st in statements]

    for role in ("sagemaker-execution", "training-trigger"):
        assert trust_conditions(f"{PREFIX}-{role}") == [
            {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
        ], role
    for role in ("get-models", "feedback"):
        assert trust_conditions(f"{PREFIX}-{role}") == [None], role

    sagemaker_policy = inline_policy(f"{PREFIX}-sagemaker-execution")
    assert f"{PREFIX}-data/pipelines/{PIPELINE}/*" in sagemaker_policy
    assert f"model-package/{GROUP}/*" in sagemaker_policy
    assert f"{PREFIX}-models/models/{GROUP}/*" in inline_policy(f"{PREFIX}-get-models")
    # The feedback role writes corrections to the quarantine prefix and nothing else.
    feedback_policy = json.loads(inline_policy(f"{PREFIX}-feedback"))
    s3_grants = [
        (st["Action"], st["Resource"])
        for st in feedback_policy["Statement"]
        if "s3:" in json.dumps(st["Action"])
    ]
    assert s3_grants == [("s3:PutObject", f"arn:aws:s3:::{PREFIX}-data/feedback/pending/*")]
    pending = next(r for r in lifecycle if r["ID"] == "expire-unreviewed-feedback")
    assert pending["Filter"]["Prefix"] == "feedback/pending/"
    trigger_policy = inline_policy(f"{PREFIX}-training-trigger")
    assert trigger_policy.count("sagemaker:StartPipelineExecution") == 1
    assert f"pipeline/{PIPELINE}" in trigger_policy
    # The trust names the repository in both of GitHub's subject forms (the claim sets are
    # tested in tests/unit/terraform/modules/test_github_trust.py).
    owner, name = REPOSITORY.split("/")
    immutable = f"repo:{owner}@{OWNER_ID}/{name}@{REPOSITORY_ID}"
    for role, context in (("deploy", "ref:refs/heads/main"), ("plan", "pull_request")):
        trust = iam.get_role(RoleName=f"{PREFIX}-github-{role}")["Role"]
        subjects = trust["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]["StringEquals"][
            "token.actions.githubusercontent.com:sub"
        ]
        assert sorted(subjects) == sorted(
            [f"{immutable}:{context}", f"repo:{REPOSITORY}:{context}"]
        )
    providers = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    github = "token.actions.githubusercontent.com"
    assert [p["Arn"].rsplit("/", 1)[-1] for p in providers] == [github]

    sm = rehearsal.client("sagemaker")
    assert sm.describe_model_package_group(ModelPackageGroupName=GROUP)["ModelPackageGroupArn"]
    pipeline = sm.describe_pipeline(PipelineName=PIPELINE)
    assert pipeline["RoleArn"] == outputs["sagemaker_execution_role_arn"]
    definition = json.loads((REPO / "build/pipeline-definition.json").read_text())
    assert json.loads(pipeline["PipelineDefinition"]) == definition
    assert outputs["pipeline_arn"] == pipeline["PipelineArn"]
    # The commit reaches every run: the definition's default and each trigger's parameter.
    commit = {p["Name"]: p.get("DefaultValue") for p in definition["Parameters"]}["GitCommit"]
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?", commit), commit

    events = rehearsal.client("events")
    targets = {
        rule: target
        for rule in (f"{PREFIX}-new-dataset-version", f"{PREFIX}-training-schedule")
        for target in events.list_targets_by_rule(Rule=rule)["Targets"]
    }
    assert {t["Arn"] for t in targets.values()} == {pipeline["PipelineArn"]}
    assert len(targets) == 2
    # Only a dataset manifest starts the pipeline, and its key becomes the input parameter.
    pattern = json.loads(events.describe_rule(Name=f"{PREFIX}-new-dataset-version")["EventPattern"])
    assert pattern["detail"]["object"]["key"] == [{"wildcard": "raw/mnist/*/manifest.json"}]
    parameters = {
        rule: {
            p["Name"]: p["Value"]
            for p in target["SageMakerPipelineParameters"]["PipelineParameterList"]
        }
        for rule, target in targets.items()
    }
    assert parameters == {
        # Static values only: a rule cannot read the event into a parameter (Pipes can).
        f"{PREFIX}-new-dataset-version": {"GitCommit": commit},
        f"{PREFIX}-training-schedule": {"GitCommit": commit},
    }

    lambda_ = rehearsal.client("lambda")
    fn = lambda_.get_function(FunctionName=f"{PREFIX}-get-models")["Configuration"]
    zip_bytes = (REPO / "build/lambda/get_models.zip").read_bytes()
    assert fn["CodeSha256"] == base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode()
    assert fn["Handler"] == "functions.get_models.handler.handler"
    assert fn["Runtime"] == "python3.13"
    variables = fn["Environment"]["Variables"]
    assert variables["PLAYGROUND_TARGET"] == "aws"
    assert variables["PLAYGROUND_MODEL_BUCKET"] == f"{PREFIX}-models"
    assert variables["PLAYGROUND_MODEL_PACKAGE_GROUP"] == GROUP
    # The deployed function starts with its environment (no '*' origin for the aws target).
    assert Settings(**{k.removeprefix("PLAYGROUND_").lower(): v for k, v in variables.items()})
    # CORS has one owner, the Function URL, configured from contracts/api-cors.json.
    assert "PLAYGROUND_CORS_ALLOW_ORIGINS" not in variables
    url = lambda_.get_function_url_config(FunctionName=f"{PREFIX}-get-models")
    assert url["Cors"]["AllowOrigins"] == [SITE_ORIGIN]
    assert url["Cors"]["AllowMethods"] == API_CORS["allow_methods"]
    assert url["Cors"]["AllowHeaders"] == API_CORS["allow_headers"]
    assert url["Cors"]["MaxAge"] == API_CORS["max_age"]
    assert url["AuthType"] == "NONE"
    assert outputs["api_url"] == url["FunctionUrl"]
    # The feedback API: its own small function, capped, behind its own URL for the site only.
    feedback = lambda_.get_function(FunctionName=f"{PREFIX}-feedback")
    zip_bytes = (REPO / "build/lambda/feedback.zip").read_bytes()
    fn = feedback["Configuration"]
    assert fn["CodeSha256"] == base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode()
    assert fn["Handler"] == "functions.feedback.handler.handler"
    assert fn["Role"].endswith(f":role/{PREFIX}-feedback")
    assert (fn["MemorySize"], fn["Timeout"]) == (128, 5)
    assert feedback["Concurrency"]["ReservedConcurrentExecutions"] == 1  # the person's choice
    assert fn["Environment"]["Variables"]["PLAYGROUND_DATA_BUCKET"] == f"{PREFIX}-data"
    url = lambda_.get_function_url_config(FunctionName=f"{PREFIX}-feedback")
    assert url["Cors"]["AllowOrigins"] == [SITE_ORIGIN]
    assert url["Cors"]["AllowMethods"] == FEEDBACK_CORS["allow_methods"]
    assert url["Cors"]["AllowHeaders"] == FEEDBACK_CORS["allow_headers"]
    assert url["AuthType"] == "NONE"
    assert outputs["feedback_url"] == url["FunctionUrl"]
    assert outputs["feedback_url"] != outputs["api_url"]
    assert "site_url" not in outputs  # no CloudFront on the emulator
    # Both URLs answer, as AWS asks since October 2025: their functions' policies grant
    # InvokeFunctionUrl and InvokeFunction through the URL (the apply-time script).
    for function in (f"{PREFIX}-get-models", f"{PREFIX}-feedback"):
        allowed, why = UrlPermission(lambda_, function, ttl_seconds=0).allows()
        assert allowed, why


def test_the_workflows_applies_keep_what_the_runbook_made(rehearsal: Rehearsal) -> None:
    # Every workflow that applies ran after the runbook, with the repository variables of
    # step 9 only, and planned no deletion or replacement of anything an earlier apply made.
    assert set(rehearsal.ci_applies) == {
        "pipeline.yml:upsert-and-start",
        "terraform.yml:apply",
    }
    for label, changes in rehearsal.ci_applies.items():
        lost = {a: c for a, c in changes.items() if c in {"delete", "replace", "remove"}}
        assert not lost, f"{label} would destroy or replace: {lost}"
        assert "create" not in changes.values(), (
            f"{label} creates what the runbook did not: {changes}"
        )
    # The person's choice survived CI.
    feedback = rehearsal.client("lambda").get_function(FunctionName=f"{PREFIX}-feedback")
    assert feedback["Concurrency"]["ReservedConcurrentExecutions"] == 1


# What the local stack (`make up`'s wiring: playground.stack.bootstrap, roles, lambda_functions,
# `pipeline upsert` and triggers) has differently from Terraform's account, on purpose: a
# pattern of `support.account.flatten` paths (fnmatch) and why. Any other difference fails.
INTENDED_DIFFERENCES: dict[str, str] = {
    f"buckets/{PREFIX}-logs/*": (
        "the logs bucket receives S3 server access logs, which moto never delivers: the local "
        "stack has none"
    ),
    "buckets/*/logging*": "access logging into the logs bucket (above)",
    "buckets/*/versioning": (
        "moto keeps every version and runs no lifecycle rule, so a versioned local bucket "
        "would only grow and its journal could not be compacted (playground.stack.ENCRYPTION)"
    ),
    "buckets/*/lifecycle*": (
        "moto expires nothing, so lifecycle rules would do nothing locally; the local stack "
        "keeps every object until `playground local reset`"
    ),
    f"roles/{PREFIX}-github-*": (
        "GitHub Actions' OIDC roles (docs/aws.md step 9): no local actor assumes them"
    ),
    f"roles/{PREFIX}-deployer*": (
        "the deployer of docs/aws.md signs with their own administrator credentials in AWS; "
        "locally the CLI's `data` commands assume this role (playground.people)"
    ),
    "functions/*/environment*": (
        "the local gateway runs each handler in its own process with the stack's settings "
        "(target local, the emulator's endpoint); the function records carry no environment"
    ),
    "functions/*/memory": "the gateway runs the handler in process: no memory size applies",
    "functions/*/timeout": "the gateway runs the handler in process: no timeout applies",
    "functions/*/tracing": "no X-Ray locally",
    "functions/*/reserved concurrency": (
        "no concurrency cap locally; the gateway rate-limits POST /feedback per client instead"
    ),
    "log groups*": (
        "the functions' log groups: the gateway writes the handlers' logs to its service log "
        "(.playground/services/api.log)"
    ),
}


def local_account(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What `make up`'s wiring builds, with the rehearsal's names, in a throwaway emulator.

    The local stack gets the names `make tf-env` printed for the deployment (and its prefix,
    region and site origin), so every name the wiring derives differently from Terraform
    shows up as a difference; IAM enforcement on, as `make up` installs the roles and the
    functions' policies then.
    """
    from typer.testing import CliRunner

    from playground.cli import app
    from playground.throwaway import foreign_variables, throwaway_stack
    from support import account

    for key in [k for k in os.environ if k.startswith(("PLAYGROUND_", "AWS_"))]:
        monkeypatch.delenv(key)
    names = {k: v for k, v in PLAYGROUND_ENV.items() if k != "PLAYGROUND_TARGET"}
    for key, value in {
        **names,
        "PLAYGROUND_NAME_PREFIX": PREFIX,
        "PLAYGROUND_EMULATOR_IAM": "true",
        "PLAYGROUND_CORS_ALLOW_ORIGINS": json.dumps([SITE_ORIGIN]),
    }.items():
        monkeypatch.setenv(key, value)
    with throwaway_stack() as local:
        for key in foreign_variables(os.environ):
            monkeypatch.delenv(key)
        for key, value in local.environment.items():
            monkeypatch.setenv(key, value)
        # The commit the workflows' applies named last (GITHUB_SHA), not `-dirty` when the
        # checkout has changes: the commit is an input of both, not part of the wiring.
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        result = CliRunner().invoke(app, ["pipeline", "upsert", "--git-commit", commit])
        assert result.exit_code == 0, result.output

        def clients(service: str) -> Any:
            return boto3.client(  # type: ignore[call-overload]
                service,
                region_name=REGION,
                endpoint_url=local.url,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )

        return account.describe(clients)


def test_the_local_account_is_the_one_terraform_creates(
    rehearsal: Rehearsal, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fnmatch import fnmatchcase

    from support import account

    started = time.monotonic()
    aws = account.describe(rehearsal.client, skip_buckets=[STATE_BUCKET])
    local = local_account(monkeypatch)
    print(f"the local account built and read in {time.monotonic() - started:.1f} s")
    found = account.differences(aws, local)
    unexplained = {
        path: sides
        for path, sides in found.items()
        if not any(fnmatchcase(path, pattern) for pattern in INTENDED_DIFFERENCES)
    }
    stale = [p for p in INTENDED_DIFFERENCES if not any(fnmatchcase(f, p) for f in found)]
    assert not unexplained, "the local stack differs from Terraform's account:\n" + "\n".join(
        f"{path}:\n  terraform: {json.dumps(a, default=str)}\n  local:     {json.dumps(b, default=str)}"
        for path, (a, b) in unexplained.items()
    )
    assert not stale, f"listed as different, but now the same (remove them): {stale}"


BAD_INPUTS = {
    "name_prefix=Bad_Prefix": "lower-case letters, digits or '-'",
    "site_origin=https://example.com/app/": "no path, no trailing slash",
    "pipeline_artifact_retention_days=30": "30-day step cache",
    "step_code_retention_days=30": "30-day step cache",
    "github_repository=not-a-repository": "owner/name",
    "pipeline_definition_file=nowhere/pipeline.json": "must exist and hold JSON",
    "lambda_zip=nowhere/get_models.zip": "run `make lambda` first",
    "feedback_lambda_zip=nowhere/feedback.zip": "feedback Lambda package is missing",
    "feedback_reserved_concurrency=500": "bounds what a public URL can cost",
}


def test_bad_variables_fail_the_plan_with_their_reason(rehearsal: Rehearsal) -> None:
    # One plan reports them all, before anything is created: every plan costs seconds.
    result = rehearsal.terraform(
        "plan", "-input=false", *[f"-var={assignment}" for assignment in BAD_INPUTS], check=False
    )
    assert result.returncode != 0, "a plan with bad variables succeeded"
    # Terraform wraps long messages inside a box drawn with "│".
    text = " ".join(result.stderr.replace("│", " ").split())
    for assignment, message in BAD_INPUTS.items():
        assert message in text, f"{assignment} is not rejected with {message!r}:\n{text}"


def test_destroy_leaves_nothing_behind(rehearsal: Rehearsal) -> None:
    # The buckets still hold the data, the models, the site and old versions: `make
    # tf-destroy` deletes them with everything in them, as in AWS.
    s3 = rehearsal.client("s3")
    versions = s3.list_object_versions(Bucket=f"{PREFIX}-data")
    assert versions.get("Versions"), "the rehearsal left no data to destroy"
    destroy(rehearsal)
    iam, sagemaker = rehearsal.client("iam"), rehearsal.client("sagemaker")
    left = {
        "buckets": [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"] != STATE_BUCKET],
        "roles": [r["RoleName"] for r in iam.list_roles()["Roles"]],
        "OIDC providers": iam.list_open_id_connect_providers()["OpenIDConnectProviderList"],
        "pipelines": sagemaker.list_pipelines()["PipelineSummaries"],
        "functions": rehearsal.client("lambda").list_functions()["Functions"],
        "rules": rehearsal.client("events").list_rules()["Rules"],
        "log groups": [
            g["logGroupName"]
            for g in rehearsal.client("logs").describe_log_groups()["logGroups"]
            if PREFIX in g["logGroupName"]
        ],
    }
    assert not any(left.values()), f"destroy left behind: {left}"
    # What the emulator cannot delete (docs/aws.md), and nothing else, is still there.
    groups = sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"]
    assert [g["ModelPackageGroupName"] for g in groups] == [GROUP]
