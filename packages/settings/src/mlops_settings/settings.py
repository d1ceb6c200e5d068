"""Settings shared by the CLI, the pipeline definition and the Lambda.

Every value comes from an environment variable named ``PLAYGROUND_<FIELD>`` (the region and
endpoint also accept the standard ``AWS_REGION`` / ``AWS_ENDPOINT_URL``). The model is strict
and frozen: a wrong value fails at start with a message that names the variable.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "PLAYGROUND_"
ANY_ORIGIN = "*"

_BUCKET = re.compile(r"^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_GROUP = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")

Port = Annotated[int, Field(ge=1, le=65535)]


class SettingsError(ValueError):
    """A setting has a wrong value; the message names the environment variable."""


class Settings(BaseSettings):
    """Where things are: region, endpoint, buckets, registry group, local ports."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        frozen=True,
        extra="ignore",
        populate_by_name=True,
    )

    target: Literal["local", "aws"] = Field(
        default="local",
        description="local: AWS calls go to the emulator unless an endpoint is set; aws: real AWS.",
    )
    region: str = Field(
        default="us-east-1",
        validation_alias=AliasChoices("PLAYGROUND_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"),
        pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$",
    )
    endpoint_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("PLAYGROUND_ENDPOINT_URL", "AWS_ENDPOINT_URL"),
        description="AWS endpoint; the emulator's URL locally, unset for real AWS.",
    )
    name_prefix: str = Field(
        default="mnist-playground",
        pattern=r"^[a-z0-9][a-z0-9-]{0,30}[a-z0-9]$",
        description="Terraform's name_prefix: the start of the roles' and functions' names.",
    )
    data_bucket: str = "mnist-playground-data"
    model_bucket: str = "mnist-playground-models"
    site_bucket: str = "mnist-playground-site"
    model_package_group: str = "mnist"
    pipeline_name: str = "mnist-training"
    sagemaker_role_name: str = "mnist-playground-sagemaker-execution"
    raw_prefix: str = "raw/mnist"
    mnist_mirror_url: str = "https://ossci-datasets.s3.amazonaws.com/mnist/"
    training_schedule: str = Field(
        default="cron(0 3 ? * MON *)",
        pattern=r"^(rate|cron)\(.+\)$",
        description="EventBridge schedule of the periodic training run (UTC), as in Terraform.",
    )

    emulator_host: str = "127.0.0.1"
    emulator_port: Port = 4566
    api_port: Port = 8787
    site_port: Port = 5173
    mlflow_port: Port = 5000
    mlflow_tracking_uri: str = Field(
        default="",
        description=(
            "MLflow tracking server the pipeline logs to: an http(s) URL or a SageMaker managed "
            "tracking server ARN; empty: the local MLflow `make up` started, if it runs, else none."
        ),
    )
    state_dir: Path = Path(".playground")
    emulator_strict: bool = Field(
        default=True,
        description="Refuse, as AWS does, requests that break the service model (off: debugging).",
    )
    emulator_iam: bool = Field(
        default=True,
        description=(
            "Decide every request as IAM does, from the signer's role and the resource's policy "
            "(AccessDenied like AWS); callers signing with the emulator's dummy key act as the "
            "account's root. Off (debugging only): no permission is checked."
        ),
    )
    person: Literal["", "deployer", "reviewer", "approver", "root"] = Field(
        default="",
        description=(
            "Locally, who the CLI signs as (docs/aws.md's people, each a role with its policy); "
            "empty: the person the runbook has run the command (`feedback review`: reviewer, "
            "`models ...`: approver, `data ...`: deployer); root: the emulator's dummy key."
        ),
    )

    cors_allow_origins: tuple[str, ...] = Field(
        default=None,  # replaced by the target's default below
        validate_default=True,
        description=(
            "Origins whose pages may call the API and download models (JSON list). Default: "
            "any ('*') locally; in AWS none here, Terraform sets the site's origin, and '*' is "
            "refused."
        ),
    )
    download_url_expiry_seconds: int = Field(default=300, ge=1, le=900)
    feedback_rate_limit_per_minute: float = Field(
        default=30.0,
        ge=0,
        description=(
            "Corrections per minute each client may send to the local gateway's POST /feedback "
            "after its burst (0: no limit). In AWS the function's reserved concurrency bounds it."
        ),
    )
    feedback_rate_limit_burst: int = Field(
        default=10,
        ge=1,
        description="Corrections a client may send at once before the rate applies.",
    )

    @field_validator("data_bucket", "model_bucket", "site_bucket")
    @classmethod
    def _bucket_name(cls, value: str) -> str:
        if not _BUCKET.match(value):
            raise ValueError(f"{value!r} is not a valid S3 bucket name")
        return value

    @field_validator("model_package_group", "pipeline_name")
    @classmethod
    def _sagemaker_name(cls, value: str) -> str:
        if not _GROUP.match(value):
            raise ValueError(f"{value!r} is not a valid SageMaker name (letters, digits, '-')")
        return value

    @field_validator("cors_allow_origins", mode="before")
    @classmethod
    def _target_default_origins(cls, value: object, info: ValidationInfo) -> object:
        if value is None:
            return (ANY_ORIGIN,) if info.data.get("target") == "local" else ()
        return value

    @field_validator("cors_allow_origins")
    @classmethod
    def _named_origins_in_aws(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        # Any origin is for the local target only: in AWS a page on any site could call the
        # API from a visitor's browser.
        if info.data.get("target") == "aws" and ANY_ORIGIN in value:
            raise ValueError(
                "'*' (any origin) is for PLAYGROUND_TARGET=local only; with "
                "PLAYGROUND_TARGET=aws name the site's origin(s), e.g. "
                '["https://d1234.cloudfront.net"]'
            )
        return value

    @field_validator("state_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        # Absolute, so subprocesses that run in another folder (pipeline steps) find it.
        return value.expanduser().resolve()

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not re.match(r"^https?://[^\s/]+(:\d+)?/?$", value):
            raise ValueError(f"{value!r} is not an http(s) URL like http://127.0.0.1:4566")
        return value.rstrip("/")

    @property
    def emulator_url(self) -> str:
        """URL of the local AWS emulator (used when endpoint_url is unset locally)."""
        return f"http://{self.emulator_host}:{self.emulator_port}"

    def aws_environment(self) -> dict[str, str]:
        """Variables that point boto3 (here and in subprocesses) at this target.

        Locally: the emulator's endpoint and its dummy credentials. For real AWS: only the
        region (credentials come from the usual AWS chain).
        """
        env = {"AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region}
        endpoint = self.endpoint_url or (self.emulator_url if self.target == "local" else None)
        if endpoint:
            env["AWS_ENDPOINT_URL"] = endpoint
        if self.target == "local":
            # moto accepts any credentials; these are its documented dummies, not secrets.
            env["AWS_ACCESS_KEY_ID"] = "testing"
            env["AWS_SECRET_ACCESS_KEY"] = "testing"  # noqa: S105
        return env

    @property
    def raw_data_uri(self) -> str:
        """S3 URI of the raw MNIST IDX files."""
        return f"s3://{self.data_bucket}/{self.raw_prefix}"


def _variable_for(loc: tuple[int | str, ...]) -> str:
    name = str(loc[0]) if loc else "?"
    field = Settings.model_fields.get(name.lower().removeprefix(ENV_PREFIX.lower()))
    aliases = getattr(field.validation_alias, "choices", []) if field else []
    # Name the variable the user actually set (AWS_REGION rather than PLAYGROUND_REGION, say).
    for alias in aliases:
        if isinstance(alias, str) and alias in os.environ:
            return alias
    return name if name.isupper() else f"{ENV_PREFIX}{name.upper()}"


def load_settings(**overrides: object) -> Settings:
    """Read the settings from the environment, or raise SettingsError naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = [f"{_variable_for(e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise SettingsError("invalid settings\n  " + "\n  ".join(problems)) from None
