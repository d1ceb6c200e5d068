"""Processing and training jobs run as subprocesses with SageMaker's container conventions.

A job gets a folder laid out like a container's `/opt/ml` (inputs downloaded from S3 into it,
outputs uploaded from it), the `SM_*` variables a training container sets, and its script run
with the current Python. `OPT_ML` tells the scripts where `/opt/ml` is (see
`mnist/code/README.md`); the local environment plays the container image, so the packages in
the bundle's requirements.txt must already be installed (checked, not installed).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

CONTAINER_ROOT = PurePosixPath("/opt/ml")
OPT_ML_VARIABLE = "OPT_ML"
FAILURE_LINES = 12

OutputSink = Callable[[str], None]


class JobError(RuntimeError):
    """A job could not run or its script failed; the message is the failure reason."""


@dataclass(frozen=True)
class S3Object:
    """One object of a prefix listing."""

    bucket: str
    key: str
    etag: str
    size: int


@dataclass(frozen=True)
class JobResult:
    """What a job left behind: its S3 objects, its script's time, Describe*-like fields."""

    objects: list[S3Object]
    script_seconds: float
    properties: dict[str, Any]
    script_cpu_seconds: float = 0.0


@dataclass(frozen=True)
class ScriptTime:
    """How long a job's script took, in seconds.

    ``wall``: on the clock; ``cpu``: user + system time of all its threads and of the processes
    it waited for, which hardly changes with the machine's load.
    """

    wall: float
    cpu: float


def _wait(process: subprocess.Popen[str]) -> tuple[int, float]:
    """Wait for the process: its exit code and the CPU seconds it used (0.0 where unknown)."""
    if not hasattr(os, "wait4"):  # not POSIX: no per-child accounting
        return process.wait(), 0.0
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_utime + usage.ru_stime


def split_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/key` -> (`bucket`, `key`)."""
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        raise JobError(f"{uri!r} is not an s3:// URI")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise JobError(f"{uri!r} names no bucket")
    return bucket, key


def list_prefix(s3: Any, uri: str) -> list[S3Object]:
    """Objects of an S3Prefix input: the object named by the URI, or those below `prefix/`."""
    bucket, key = split_s3_uri(uri)
    folder = key if key.endswith("/") or not key else key + "/"
    found = []
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=key):
        for item in page.get("Contents", []):
            name = str(item["Key"])
            if (name == key or name.startswith(folder)) and not name.endswith("/"):
                found.append(
                    S3Object(bucket, name, str(item["ETag"]).strip('"'), int(item["Size"]))
                )
    return found


def relative_name(key: str, prefix_key: str) -> str:
    """Where an object of an S3Prefix input lands below the local path."""
    if key == prefix_key:
        return PurePosixPath(key).name
    return key[len(prefix_key) :].lstrip("/")


def download_prefix(s3: Any, uri: str, target: Path) -> list[S3Object]:
    """Download an S3Prefix into `target`; an empty prefix is an error (as in SageMaker)."""
    bucket, key = split_s3_uri(uri)
    objects = list_prefix(s3, uri)
    if not objects:
        raise JobError(f"no S3 objects found under {uri}")
    target.mkdir(parents=True, exist_ok=True)
    for item in objects:
        destination = target / relative_name(item.key, key)
        destination.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, item.key, str(destination))
    return objects


def upload_folder(s3: Any, source: Path, uri: str) -> list[S3Object]:
    """Upload every file below `source` to `uri/<relative path>`."""
    bucket, key = split_s3_uri(uri)
    uploaded = []
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        name = "/".join(filter(None, [key.rstrip("/"), path.relative_to(source).as_posix()]))
        s3.upload_file(str(path), bucket, name)
        head = s3.head_object(Bucket=bucket, Key=name)
        uploaded.append(
            S3Object(bucket, name, str(head["ETag"]).strip('"'), int(head["ContentLength"]))
        )
    return uploaded


class Container:
    """One job's folder standing in for a container's `/opt/ml`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.opt_ml = folder / "opt" / "ml"
        self.opt_ml.mkdir(parents=True, exist_ok=True)

    def host_path(self, container_path: str) -> Path:
        """The host folder for a container path under /opt/ml."""
        path = PurePosixPath(container_path)
        try:
            relative = path.relative_to(CONTAINER_ROOT)
        except ValueError:
            raise JobError(f"container path {container_path!r} is not under /opt/ml") from None
        return self.opt_ml / relative

    def map_argument(self, argument: str) -> str:
        """Arguments naming container paths get the host path; others pass unchanged."""
        if argument == str(CONTAINER_ROOT) or argument.startswith(f"{CONTAINER_ROOT}/"):
            return str(self.host_path(argument))
        return argument


def check_requirements(requirements: Path) -> None:
    """The local environment plays the image: every listed package must be installed."""
    if not requirements.is_file():
        return
    missing = []
    for line in requirements.read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        if not text or text.startswith("-"):
            continue
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            raise JobError(f"{requirements.name}: cannot parse {text!r}") from None
        try:
            version = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            missing.append(f"{requirement} (not installed)")
            continue
        if requirement.specifier and not requirement.specifier.contains(version, prereleases=True):
            missing.append(f"{requirement} (installed: {version})")
    if missing:
        raise JobError(
            f"{requirements.name} needs packages this environment lacks: {', '.join(missing)}"
        )


def run_script(
    command: list[str],
    cwd: Path,
    env: dict[str, str],
    log_path: Path,
    on_output: OutputSink | None = None,
) -> ScriptTime:
    """Run a job's command, teeing its output to the log; returns its wall and CPU time.

    A non-zero exit raises JobError with the script's last lines; a JobError raised by
    ``on_output`` kills the script and is raised as it is.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    tail: list[str] = []
    with log_path.open("a", encoding="utf-8") as log:
        log.write(f"$ {shlex.join(command)}\n")
        log.flush()
        began = time.perf_counter()
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        assert process.stdout is not None  # noqa: S101 - piped above
        for line in process.stdout:
            log.write(line)
            log.flush()  # so `tail -f` on the log follows a running step
            stripped = line.rstrip()
            if stripped:
                tail = [*tail[-(FAILURE_LINES - 1) :], stripped]
                if on_output:
                    try:
                        on_output(stripped)
                    except JobError as stopped:  # e.g. the job's log refused: stop the job
                        process.kill()
                        process.wait()
                        log.write(f"[stopped: {stopped}]\n")
                        raise
        code, cpu = _wait(process)
        seconds = time.perf_counter() - began
        log.write(f"[exit code {code} after {seconds:.1f} s, {cpu:.1f} CPU s]\n")
    if code != 0:
        detail = "\n".join(tail) if tail else "(no output)"
        raise JobError(f"{Path(command[1]).name} exited with code {code}:\n{detail}")
    return ScriptTime(seconds, cpu)


def run_script_reporting_failure(
    command: list[str],
    cwd: Path,
    env: dict[str, str],
    log_path: Path,
    container: Container,
    on_output: OutputSink | None = None,
) -> ScriptTime:
    """`run_script`, with the failure reason the script left in /opt/ml/output/failure.

    That file is what SageMaker shows as a job's FailureReason; without it, the reason is
    the exit code and the script's last lines.
    """
    try:
        return run_script(command, cwd, env, log_path, on_output)
    except JobError as failed:
        failure = container.host_path("/opt/ml/output/failure")
        text = failure.read_text().strip() if failure.is_file() else ""
        if text:
            raise JobError(f"{Path(command[1]).name} failed: {text}") from failed
        raise


def base_environment(container: Container) -> dict[str, str]:
    """The environment every job starts from: ours, plus where `/opt/ml` is."""
    env = dict(os.environ)
    env[OPT_ML_VARIABLE] = str(container.opt_ml)
    env["PYTHONUNBUFFERED"] = "1"
    # Scripts import their neighbours (idx.py) the way the container does, not our packages.
    env.pop("PYTHONPATH", None)
    return env


def _entry_script_from_runproc(runproc: Path) -> tuple[list[str], str]:
    """The command and script a FrameworkProcessor's runproc.sh ends with."""
    for line in reversed(runproc.read_text().splitlines()):
        words = shlex.split(line)
        if len(words) >= 2 and words[-1] == "$@" and words[-2].endswith(".py"):
            return words[:-2], words[-2]
    raise JobError(f'{runproc.name}: no line runs a Python script with "$@"')


def processing_command(arguments: dict[str, Any], container: Container) -> tuple[list[str], Path]:
    """The command line and working directory of a processing job, on this machine."""
    app = arguments.get("AppSpecification", {})
    entrypoint = [str(word) for word in app.get("ContainerEntrypoint") or []]
    script_args = [container.map_argument(str(a)) for a in app.get("ContainerArguments") or []]
    if len(entrypoint) == 2 and entrypoint[0].endswith("bash") and entrypoint[1].endswith(".sh"):
        # FrameworkProcessor: runproc.sh unpacks sourcedir.tar.gz in the code input, installs
        # requirements.txt and runs the script from there. We do the same, minus the install.
        runproc = container.host_path(entrypoint[1])
        if not runproc.is_file():
            raise JobError(f"entrypoint {entrypoint[1]} was not among the job's inputs")
        _, script = _entry_script_from_runproc(runproc)
        code = container.host_path("/opt/ml/processing/input/code")
        bundle = code / "sourcedir.tar.gz"
        if not bundle.is_file():
            raise JobError("sourcedir.tar.gz not found in the code input")
        with tarfile.open(bundle) as archive:
            archive.extractall(code, filter="data")
        check_requirements(code / "requirements.txt")
        return [sys.executable, script, *script_args], code
    if entrypoint and Path(entrypoint[0]).name.startswith("python") and len(entrypoint) >= 2:
        script_path = container.host_path(entrypoint[-1])
        flags = entrypoint[1:-1]
        return [sys.executable, *flags, str(script_path), *script_args], script_path.parent
    raise JobError(f"unsupported container entrypoint {entrypoint!r}")


def run_processing(
    arguments: dict[str, Any],
    container: Container,
    s3: Any,
    log_path: Path,
    on_output: OutputSink | None = None,
    credentials: Mapping[str, str] | None = None,
) -> JobResult:
    """Run a resolved CreateProcessingJob request and upload its outputs.

    ``s3`` acts for the job (its inputs and outputs); ``credentials`` (``AWS_*`` variables),
    when given, are the job role's keys the script runs with.
    """
    for item in arguments.get("ProcessingInputs", []):
        s3_input = item.get("S3Input")
        if not s3_input:
            raise JobError(f"input {item.get('InputName')}: only S3 inputs are supported")
        download_prefix(s3, s3_input["S3Uri"], container.host_path(s3_input["LocalPath"]))
    outputs = arguments.get("ProcessingOutputConfig", {}).get("Outputs", [])
    for item in outputs:
        container.host_path(item["S3Output"]["LocalPath"]).mkdir(parents=True, exist_ok=True)
    command, cwd = processing_command(arguments, container)
    env = base_environment(container)
    env.update(credentials or {})
    env.update({k: str(v) for k, v in (arguments.get("Environment") or {}).items()})
    took = run_script_reporting_failure(command, cwd, env, log_path, container, on_output)
    uploaded: list[S3Object] = []
    for item in outputs:
        local = container.host_path(item["S3Output"]["LocalPath"])
        uploaded.extend(upload_folder(s3, local, item["S3Output"]["S3Uri"]))
    return JobResult(uploaded, took.wall, {}, took.cpu)


def _hyperparameter_arguments(hyperparameters: dict[str, Any]) -> list[str]:
    """Hyperparameters as the SageMaker training driver passes them: `--name value`."""
    args = []
    for name, value in hyperparameters.items():
        args.extend([f"--{name}", value if isinstance(value, str) else json.dumps(value)])
    return args


def training_environment(
    arguments: dict[str, Any], container: Container, source_code: dict[str, Any]
) -> dict[str, str]:
    """The `SM_*` variables a SageMaker training container sets for script mode."""
    channels = [c["ChannelName"] for c in arguments.get("InputDataConfig", [])]
    hyperparameters = {k: str(v) for k, v in (arguments.get("HyperParameters") or {}).items()}
    host = "algo-1"
    env = base_environment(container)
    env.update({k: str(v) for k, v in (arguments.get("Environment") or {}).items()})
    paths = {
        "SM_MODEL_DIR": "/opt/ml/model",
        "SM_INPUT_DIR": "/opt/ml/input",
        "SM_INPUT_DATA_DIR": "/opt/ml/input/data",
        "SM_INPUT_CONFIG_DIR": "/opt/ml/input/config",
        "SM_OUTPUT_DIR": "/opt/ml/output",
        "SM_OUTPUT_FAILURE": "/opt/ml/output/failure",
        "SM_OUTPUT_DATA_DIR": "/opt/ml/output/data",
        "SM_SOURCE_DIR": "/opt/ml/input/data/code",
    }
    for name, path in paths.items():
        env[name] = str(container.host_path(path))
    for channel in channels:
        env[f"SM_CHANNEL_{channel.upper()}"] = str(
            container.host_path(f"/opt/ml/input/data/{channel}")
        )
    for name, value in hyperparameters.items():
        env[f"SM_HP_{name.upper().replace('-', '_')}"] = value
    env.update(
        {
            "SM_CHANNELS": json.dumps(channels),
            "SM_HPS": json.dumps(hyperparameters),
            "SM_ENTRY_SCRIPT": str(source_code.get("entry_script") or ""),
            "SM_CURRENT_HOST": host,
            "SM_HOSTS": json.dumps([host]),
            "SM_HOST_COUNT": "1",
            "SM_CURRENT_HOST_RANK": "0",
            "SM_CURRENT_INSTANCE_TYPE": str(
                arguments.get("ResourceConfig", {}).get("InstanceType", "local")
            ),
            "SM_NUM_CPUS": str(os.cpu_count() or 1),
            "SM_NUM_GPUS": "0",
            "SM_NUM_NEURONS": "0",
            "SM_USER_ARGS": json.dumps(_hyperparameter_arguments(hyperparameters)),
        }
    )
    return env


def _write_training_config(arguments: dict[str, Any], container: Container) -> None:
    config = container.host_path("/opt/ml/input/config")
    config.mkdir(parents=True, exist_ok=True)
    hyperparameters = {k: str(v) for k, v in (arguments.get("HyperParameters") or {}).items()}
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters, indent=2))
    channels = {
        c["ChannelName"]: {"TrainingInputMode": c.get("InputMode", "File")}
        for c in arguments.get("InputDataConfig", [])
    }
    (config / "inputdataconfig.json").write_text(json.dumps(channels, indent=2))
    resource = {"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "lo"}
    (config / "resourceconfig.json").write_text(json.dumps(resource, indent=2))


def _tar_folder(folder: Path, archive_path: Path) -> None:
    with tarfile.open(archive_path, "w:gz") as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            archive.add(path, arcname=path.relative_to(folder).as_posix())


def run_training(
    arguments: dict[str, Any],
    container: Container,
    s3: Any,
    job_name: str,
    log_path: Path,
    on_output: OutputSink | None = None,
    credentials: Mapping[str, str] | None = None,
) -> JobResult:
    """Run a resolved CreateTrainingJob request (script mode) and upload its artifacts.

    ``credentials`` as for `run_processing`.
    """
    for channel in arguments.get("InputDataConfig", []):
        source = channel.get("DataSource", {}).get("S3DataSource")
        if not source:
            raise JobError(f"channel {channel.get('ChannelName')}: only S3 data is supported")
        target = container.host_path(f"/opt/ml/input/data/{channel['ChannelName']}")
        download_prefix(s3, source["S3Uri"], target)
    drivers = container.host_path("/opt/ml/input/data/sm_drivers/sourcecode.json")
    if not drivers.is_file():
        raise JobError("the training job has no sm_drivers channel with sourcecode.json")
    source_code = json.loads(drivers.read_text())
    entry_script = source_code.get("entry_script")
    if not entry_script:
        raise JobError("only script mode (SourceCode.entry_script) is supported")
    code = container.host_path("/opt/ml/input/data/code")
    for bundle in code.glob("*.tar.gz"):
        with tarfile.open(bundle) as archive:
            archive.extractall(code, filter="data")
    check_requirements(code / str(source_code.get("requirements") or "requirements.txt"))
    for folder in ("/opt/ml/model", "/opt/ml/output/data"):
        container.host_path(folder).mkdir(parents=True, exist_ok=True)
    _write_training_config(arguments, container)
    env = training_environment(arguments, container, source_code)
    env.update(credentials or {})
    hyperparameters = {k: str(v) for k, v in (arguments.get("HyperParameters") or {}).items()}
    command = [sys.executable, str(entry_script), *_hyperparameter_arguments(hyperparameters)]
    took = run_script_reporting_failure(command, code, env, log_path, container, on_output)
    # Like SageMaker: the model dir becomes model.tar.gz, the output data dir output.tar.gz.
    output_path = str(arguments["OutputDataConfig"]["S3OutputPath"]).rstrip("/")
    bucket, prefix = split_s3_uri(f"{output_path}/{job_name}/output")
    objects = []
    for name, folder in (
        ("model.tar.gz", "/opt/ml/model"),
        ("output.tar.gz", "/opt/ml/output/data"),
    ):
        archive_path = container.folder / name
        _tar_folder(container.host_path(folder), archive_path)
        key = f"{prefix}/{name}"
        s3.upload_file(str(archive_path), bucket, key)
        head = s3.head_object(Bucket=bucket, Key=key)
        objects.append(
            S3Object(bucket, key, str(head["ETag"]).strip('"'), int(head["ContentLength"]))
        )
    properties = {
        "ModelArtifacts": {"S3ModelArtifacts": f"s3://{bucket}/{prefix}/model.tar.gz"},
        "OutputDataArtifacts": f"s3://{bucket}/{prefix}/output.tar.gz",
    }
    return JobResult(objects, took.wall, properties, took.cpu)
