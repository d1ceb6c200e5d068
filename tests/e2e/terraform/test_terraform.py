"""The Terraform in terraform/, applied to the moto server and checked through boto3.

The same configuration an AWS account gets: only the provider's endpoints (the
`aws_endpoint_url` variable) and the state backend's location differ. The state lives in an
S3 bucket on the emulator, as it would in AWS. Resources the emulator cannot create are
switched off by variables and listed in docs/aws.md.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from mlops_settings import Settings

REPO = Path(__file__).resolve().parents[3]
TERRAFORM_DIR = REPO / "terraform"
LAMBDA_ZIP = REPO / "build" / "lambda" / "get_models.zip"

PREFIX = "tf-test"
GROUP = "tf-test-mnist"
PIPELINE = "tf-test-training"
SITE_ORIGIN = "http://localhost:5173"
REPOSITORY = "example-org/aws-mlops-playground"
STATE_BUCKET = "tf-test-state"

# What the `playground_environment` output must say for the names above.
PLAYGROUND_ENV = {
    "PLAYGROUND_REGION": "us-east-1",
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
# a destroy and vanishes with the emulator's reset.
EMULATOR_CANNOT_DELETE = ("aws_sagemaker_model_package_group.models",)

pytestmark = [
    pytest.mark.skipif(
        shutil.which("terraform") is None,
        reason="terraform is not on PATH (see .devcontainer/ or docs/aws.md to install it)",
    ),
    pytest.mark.timeout(300),
]


@dataclass
class Workspace:
    """An initialised working directory of terraform/ whose state sits in the emulator."""

    var_file: Path
    env: dict[str, str]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run one terraform command on terraform/ with this workspace's state."""
        color = ["-no-color"] if args[0] in {"init", "plan", "apply", "destroy"} else []
        started = time.monotonic()
        result = subprocess.run(
            ["terraform", f"-chdir={TERRAFORM_DIR}", *args[:1], *color, *args[1:]],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        # Progress for `pytest -s`: each command and how long it took.
        print(f"terraform {' '.join(args[:2])}: {time.monotonic() - started:.1f} s")
        if check and result.returncode != 0:
            pytest.fail(f"terraform {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def apply(self, *extra: str) -> dict[str, str]:
        """Apply with the test variables (plus `extra` options); return the planned changes.

        The changes come from the apply's own machine-readable log, as {address: action}.
        """
        result = self.run(
            "apply", "-input=false", "-auto-approve", "-json", f"-var-file={self.var_file}", *extra
        )
        changes = {}
        for line in result.stdout.splitlines():
            message = json.loads(line)
            if message.get("type") == "planned_change":
                change = message["change"]
                changes[change["resource"]["addr"]] = change["action"]
        return changes

    def outputs(self) -> dict[str, Any]:
        """The root module's outputs, by name (null outputs are absent)."""
        raw = json.loads(self.run("output", "-json").stdout)
        return {name: value["value"] for name, value in raw.items()}

    def destroy(self, *extra: str, check: bool = True) -> None:
        """Destroy everything, but first forget what the emulator cannot delete."""
        state = self.run("state", "list", check=False).stdout.split()
        if not state:
            return
        for address in EMULATOR_CANNOT_DELETE:
            if address in state:
                self.run("state", "rm", address)
        # No refresh: the state is what the test just applied.
        self.run(
            "destroy",
            "-input=false",
            "-auto-approve",
            "-refresh=false",
            f"-var-file={self.var_file}",
            *extra,
            check=check,
        )


def warm_up(endpoint: str) -> None:
    """Call every service once, one at a time, before Terraform calls them in parallel.

    The moto server imports a service's code on its first request; parallel first requests
    can race that import and fail with a 500.
    """
    for service, call in [
        ("s3", "list_buckets"),
        ("iam", "list_roles"),
        ("sts", "get_caller_identity"),
        ("lambda", "list_functions"),
        ("logs", "describe_log_groups"),
        ("sagemaker", "list_model_package_groups"),
        ("events", "list_rules"),
        ("cloudfront", "list_distributions"),
    ]:
        getattr(boto3.client(service, endpoint_url=endpoint), call)()  # type: ignore[call-overload]


@pytest.fixture
def lambda_zip() -> Path:
    """The Lambda package that `make lambda` builds (built here when missing)."""
    if not LAMBDA_ZIP.is_file():
        result = subprocess.run(
            ["make", "-s", "lambda"], cwd=REPO, capture_output=True, text=True, check=False
        )
        if result.returncode != 0 or not LAMBDA_ZIP.is_file():
            pytest.fail(f"`make lambda` did not build {LAMBDA_ZIP}:\n{result.stderr}")
    return LAMBDA_ZIP


@pytest.fixture
def workspace(emulator: Settings, tmp_path: Path, lambda_zip: Path) -> Iterator[Workspace]:
    """terraform/ initialised against the emulator; destroyed again after the test."""
    endpoint = emulator.endpoint_url
    assert endpoint is not None
    warm_up(endpoint)
    boto3.client("s3").create_bucket(Bucket=STATE_BUCKET)

    backend = tmp_path / "backend.tfbackend"
    backend.write_text(
        "\n".join(
            [
                f'bucket = "{STATE_BUCKET}"',
                f'key = "{PREFIX}/terraform.tfstate"',
                f'region = "{emulator.region}"',
                "use_lockfile = true",
                f'endpoints = {{ s3 = "{endpoint}", sts = "{endpoint}", iam = "{endpoint}" }}',
                "use_path_style = true",
                "skip_credentials_validation = true",
                "skip_requesting_account_id = true",
                "skip_metadata_api_check = true",
                "skip_region_validation = true",
            ]
        )
    )
    var_file = tmp_path / "emulator.tfvars.json"
    var_file.write_text(
        json.dumps(
            {
                "aws_endpoint_url": endpoint,
                "region": emulator.region,
                "name_prefix": PREFIX,
                "model_package_group": GROUP,
                "pipeline_name": PIPELINE,
                "site_origin": SITE_ORIGIN,
                "lambda_zip": str(lambda_zip),
                # What the emulator cannot do (docs/aws.md): CloudFront origin access control,
                # and bucket policies with conditions (it reads an unmet one as a deny).
                "enable_cloudfront": False,
                "deny_insecure_transport": False,
                "github_repository": REPOSITORY,
                "terraform_state_bucket": STATE_BUCKET,
            }
        )
    )
    env = {
        **os.environ,
        "TF_DATA_DIR": str(tmp_path / "tf-data"),
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "CHECKPOINT_DISABLE": "1",
    }
    ws = Workspace(var_file=var_file, env=env)
    init = ["init", "-input=false", f"-backend-config={backend}"]
    # Without registry access, a local provider mirror: `make` finds one and exports it.
    if os.environ.get("TF_PLUGIN_DIR"):
        init.append(f"-plugin-dir={os.environ['TF_PLUGIN_DIR']}")
    ws.run(*init)
    yield ws
    ws.destroy(check=False)


def wait_for_role_and_bucket(first_apply: Future[dict[str, str]]) -> None:
    """Return once the execution role and the data bucket exist (or the apply has ended)."""
    iam, s3 = boto3.client("iam"), boto3.client("s3")
    deadline = time.monotonic() + 180
    while not first_apply.done() and time.monotonic() < deadline:
        roles = {r["RoleName"] for r in iam.list_roles()["Roles"]}
        buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
        if PLAYGROUND_ENV["PLAYGROUND_SAGEMAKER_ROLE_NAME"] in roles and (
            PLAYGROUND_ENV["PLAYGROUND_DATA_BUCKET"] in buckets
        ):
            return
        time.sleep(0.5)
    first_apply.result()  # raises the apply's failure, if that is why it ended


def pipeline_definition(settings: dict[str, str], emulator: Settings, path: Path) -> Path:
    """Write the definition with the real CLI, configured like Terraform's outputs say."""
    env = {**os.environ, **settings}
    assert emulator.endpoint_url is not None
    env["PLAYGROUND_ENDPOINT_URL"] = emulator.endpoint_url
    result = subprocess.run(
        ["uv", "run", "playground", "pipeline", "definition", "--output", str(path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"playground pipeline definition failed:\n{result.stdout}\n{result.stderr}")
    return path


def inline_policy(role: str) -> str:
    """The role's only inline policy document, as JSON text."""
    iam = boto3.client("iam")
    names = iam.list_role_policies(RoleName=role)["PolicyNames"]
    assert len(names) == 1, f"{role} should have exactly one inline policy, has {names}"
    return json.dumps(iam.get_role_policy(RoleName=role, PolicyName=names[0])["PolicyDocument"])


def test_apply_builds_the_system_and_destroy_removes_it(
    workspace: Workspace, emulator: Settings, tmp_path: Path, lambda_zip: Path
) -> None:
    started = time.monotonic()
    # Bad input first, on the same initialised workspace: every init costs seconds.
    reject_bad_inputs(workspace)

    # First apply: everything but the pipeline, whose definition needs the role and bucket.
    # The definition is written as soon as those two exist, while the apply still waits for
    # the lifecycle rules to settle (a minute, see docs/aws.md).
    with ThreadPoolExecutor(max_workers=1) as pool:
        first_apply = pool.submit(workspace.apply)
        wait_for_role_and_bucket(first_apply)
        before = time.monotonic()
        definition = pipeline_definition(PLAYGROUND_ENV, emulator, tmp_path / "pipeline.json")
        print(f"playground pipeline definition: {time.monotonic() - before:.1f} s")
        first_apply.result()
    outputs = workspace.outputs()
    assert "pipeline_arn" not in outputs
    assert outputs["playground_environment"] == PLAYGROUND_ENV

    # Second apply: the pipeline and its triggers. Its plan shows that everything else reads
    # back as it was written (the only exception is an emulator gap, see READ_BACK_GAPS).
    changes = workspace.apply(f"-var=pipeline_definition_file={definition}")
    assert changes == {
        "aws_sagemaker_pipeline.training[0]": "create",
        "aws_cloudwatch_event_rule.new_dataset_version[0]": "create",
        "aws_cloudwatch_event_rule.schedule[0]": "create",
        "aws_cloudwatch_event_target.new_dataset_version[0]": "create",
        "aws_cloudwatch_event_target.schedule[0]": "create",
        **READ_BACK_GAPS,
    }
    outputs = workspace.outputs()
    print(f"\nbad inputs, apply, definition, apply took {time.monotonic() - started:.1f} s")

    s3 = boto3.client("s3")
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
    cors = s3.get_bucket_cors(Bucket=f"{PREFIX}-models")["CORSRules"]
    assert [rule["AllowedOrigins"] for rule in cors] == [[SITE_ORIGIN]]

    # Roles: each policy names this deployment's buckets, group and pipeline, not others.
    iam = boto3.client("iam")
    sagemaker_policy = inline_policy(f"{PREFIX}-sagemaker-execution")
    assert f"{PREFIX}-data/pipelines/{PIPELINE}/*" in sagemaker_policy
    assert f"model-package/{GROUP}/*" in sagemaker_policy
    assert f"{PREFIX}-models/models/{GROUP}/*" in inline_policy(f"{PREFIX}-get-models")
    trigger_policy = inline_policy(f"{PREFIX}-training-trigger")
    assert trigger_policy.count("sagemaker:StartPipelineExecution") == 1
    assert f"pipeline/{PIPELINE}" in trigger_policy
    trust = iam.get_role(RoleName=f"{PREFIX}-github-deploy")["Role"]["AssumeRolePolicyDocument"]
    assert f"repo:{REPOSITORY}:ref:refs/heads/main" in json.dumps(trust)
    plan_trust = iam.get_role(RoleName=f"{PREFIX}-github-plan")["Role"]
    assert f"repo:{REPOSITORY}:pull_request" in json.dumps(plan_trust["AssumeRolePolicyDocument"])
    providers = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    github = "token.actions.githubusercontent.com"
    assert [p["Arn"].rsplit("/", 1)[-1] for p in providers] == [github]

    sm = boto3.client("sagemaker")
    assert sm.describe_model_package_group(ModelPackageGroupName=GROUP)["ModelPackageGroupArn"]
    pipeline = sm.describe_pipeline(PipelineName=PIPELINE)
    assert pipeline["RoleArn"] == outputs["sagemaker_execution_role_arn"]
    assert json.loads(pipeline["PipelineDefinition"]) == json.loads(definition.read_text())
    assert outputs["pipeline_arn"] == pipeline["PipelineArn"]

    events = boto3.client("events")
    for rule in (f"{PREFIX}-new-dataset-version", f"{PREFIX}-training-schedule"):
        targets = events.list_targets_by_rule(Rule=rule)["Targets"]
        assert [t["Arn"] for t in targets] == [pipeline["PipelineArn"]], rule
    # Only a dataset manifest starts the pipeline, and its key becomes the input parameter.
    pattern = json.loads(events.describe_rule(Name=f"{PREFIX}-new-dataset-version")["EventPattern"])
    assert pattern["detail"]["object"]["key"] == [
        {"wildcard": f"{emulator.raw_prefix}/*/manifest.json"}
    ]
    [target] = events.list_targets_by_rule(Rule=f"{PREFIX}-new-dataset-version")["Targets"]
    assert target["SageMakerPipelineParameters"]["PipelineParameterList"] == [
        {"Name": "DatasetManifestKey", "Value": "$.detail.object.key"}
    ]

    fn = boto3.client("lambda").get_function(FunctionName=f"{PREFIX}-get-models")["Configuration"]
    expected_hash = base64.b64encode(hashlib.sha256(lambda_zip.read_bytes()).digest()).decode()
    assert fn["CodeSha256"] == expected_hash
    assert fn["Handler"] == "functions.get_models.handler.handler"
    assert fn["Runtime"] == "python3.11"
    variables = fn["Environment"]["Variables"]
    assert variables["PLAYGROUND_MODEL_BUCKET"] == f"{PREFIX}-models"
    assert variables["PLAYGROUND_MODEL_PACKAGE_GROUP"] == GROUP
    assert json.loads(variables["PLAYGROUND_CORS_ALLOW_ORIGINS"]) == [SITE_ORIGIN]
    url = boto3.client("lambda").get_function_url_config(FunctionName=f"{PREFIX}-get-models")
    assert url["Cors"]["AllowOrigins"] == [SITE_ORIGIN]
    assert url["AuthType"] == "NONE"
    assert outputs["api_url"] == url["FunctionUrl"]
    assert "site_url" not in outputs  # no CloudFront on the emulator

    workspace.destroy(f"-var=pipeline_definition_file={definition}")
    left = {b["Name"] for b in s3.list_buckets()["Buckets"]} & {*buckets, f"{PREFIX}-logs"}
    assert not left, f"destroy left buckets behind: {left}"
    assert not [r for r in iam.list_roles()["Roles"] if r["RoleName"].startswith(PREFIX)]
    assert not sm.list_pipelines()["PipelineSummaries"]
    print(f"apply, checks, plan and destroy took {time.monotonic() - started:.1f} s")


BAD_INPUTS = {
    "name_prefix=Bad_Prefix": "lower-case letters, digits or '-'",
    "site_origin=https://example.com/app/": "no path, no trailing slash",
    "pipeline_artifact_retention_days=30": "30-day step cache",
    "github_repository=not-a-repository": "owner/name",
    "pipeline_definition_file=nowhere/pipeline.json": "must exist and hold JSON",
    "lambda_zip=nowhere/get_models.zip": "run `make lambda` first",
}


def reject_bad_inputs(workspace: Workspace) -> None:
    """Each bad variable fails the plan with its reason, before anything is created.

    One plan reports them all: every init and plan costs seconds.
    """
    result = workspace.run(
        "plan",
        "-input=false",
        f"-var-file={workspace.var_file}",
        *[f"-var={assignment}" for assignment in BAD_INPUTS],
        check=False,
    )
    assert result.returncode != 0, "a plan with bad variables succeeded"
    # Terraform wraps long messages inside a box drawn with "│".
    text = " ".join(result.stderr.replace("│", " ").split())
    for assignment, message in BAD_INPUTS.items():
        assert message in text, f"{assignment} is not rejected with {message!r}:\n{text}"
