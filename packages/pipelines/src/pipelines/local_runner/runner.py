"""Run a SageMaker pipeline definition (its JSON) on this machine, step by step.

Processing and training steps run their scripts as subprocesses (see `jobs`); condition steps
evaluate their conditions on property files; a fail step fails the execution with its message.
Steps with caching enabled are reused when their arguments, code and input objects are
unchanged. Each execution keeps its record, per-step logs and job folders under
`<state dir>/pipeline-runs/<execution id>/`, so a failed execution can be resumed.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import shutil
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from pipelines.local_runner import jobs
from pipelines.local_runner.expressions import Context, ExpressionError, evaluate, resolve

SUCCEEDED = "Succeeded"
FAILED = "Failed"
NOT_EXECUTED = "NotExecuted"
EXECUTING = "Executing"

RUNS_FOLDER = "pipeline-runs"
CACHE_FOLDER = "pipeline-cache"
SUPPORTED_TYPES = {"Processing", "Training", "Condition", "Fail"}


class PipelineError(ValueError):
    """The definition or the parameters cannot be run (the message says why)."""


@dataclass
class StepRecord:
    """What happened to one step in one execution."""

    name: str
    type: str
    status: str = NOT_EXECUTED
    seconds: float = 0.0
    script_seconds: float = 0.0  # of `seconds`, the time inside the step's script
    cached: bool = False
    failure: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    property_files: dict[str, Any] = field(default_factory=dict)
    conditions: list[str] = field(default_factory=list)
    log: str | None = None


@dataclass
class RunRecord:
    """One execution of the pipeline."""

    execution_id: str
    pipeline_name: str
    parameters: dict[str, Any]
    status: str = EXECUTING
    failure_reason: str | None = None
    started_at: str = ""
    seconds: float = 0.0
    steps: dict[str, StepRecord] = field(default_factory=dict)
    folder: str = ""

    def to_json(self) -> str:
        """Serialise for run.json."""
        return json.dumps(asdict(self), indent=2, default=str)

    @classmethod
    def from_json(cls, text: str) -> RunRecord:
        """Read a run.json back."""
        data = json.loads(text)
        steps = {name: StepRecord(**step) for name, step in data.pop("steps").items()}
        return cls(**data, steps=steps)


class Reporter(Protocol):
    """Receives progress; the CLI draws it, tests and benchmarks may ignore it."""

    def step_started(self, name: str, kind: str) -> None:
        """A step begins (or is looked up in the cache)."""

    def step_output(self, name: str, line: str) -> None:
        """A line the step's script printed."""

    def step_finished(self, record: StepRecord) -> None:
        """A step ended: succeeded, failed or came from the cache."""


class QuietReporter:
    """A reporter that reports nothing."""

    def step_started(self, name: str, kind: str) -> None:
        """Ignore."""

    def step_output(self, name: str, line: str) -> None:
        """Ignore."""

    def step_finished(self, record: StepRecord) -> None:
        """Ignore."""


@dataclass(frozen=True)
class FlatStep:
    """A step with where it sits: top level, or inside a condition step's branch."""

    spec: dict[str, Any]
    parent: str | None = None
    branch: bool | None = None


def flatten_steps(definition: Mapping[str, Any]) -> dict[str, FlatStep]:
    """All steps by name, in definition order, branches right after their condition."""
    steps: dict[str, FlatStep] = {}

    def add(spec: dict[str, Any], parent: str | None, branch: bool | None) -> None:
        name = str(spec.get("Name"))
        if name in steps:
            raise PipelineError(f"two steps are named {name!r}")
        if spec.get("Type") not in SUPPORTED_TYPES:
            raise PipelineError(
                f"step {name!r} has type {spec.get('Type')!r}; the local runner runs "
                f"{', '.join(sorted(SUPPORTED_TYPES))}"
            )
        steps[name] = FlatStep(spec, parent, branch)
        if spec["Type"] == "Condition":
            for child in spec["Arguments"].get("IfSteps", []):
                add(child, name, True)
            for child in spec["Arguments"].get("ElseSteps", []):
                add(child, name, False)

    for spec in definition.get("Steps", []):
        add(spec, None, None)
    return steps


_STEP_REFERENCE = re.compile(r"^Steps\.([A-Za-z0-9_-]+)")


def dependencies(flat: FlatStep, names: set[str]) -> set[str]:
    """Steps this step needs: DependsOn, `Steps.X` references, its condition step."""
    found = {str(name) for name in flat.spec.get("DependsOn", [])}
    arguments = dict(flat.spec.get("Arguments", {}))
    arguments.pop("IfSteps", None)
    arguments.pop("ElseSteps", None)

    def scan(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "Get" and isinstance(item, str):
                    match = _STEP_REFERENCE.match(item)
                    if match:
                        found.add(match.group(1))
                else:
                    scan(item)
        elif isinstance(value, list):
            for item in value:
                scan(item)

    scan(arguments)
    if flat.parent:
        found.add(flat.parent)
    unknown = found - names
    if unknown:
        raise PipelineError(f"step {flat.spec['Name']!r} refers to unknown steps {sorted(unknown)}")
    return found


def parse_parameters(
    definition: Mapping[str, Any], overrides: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Parameter values: defaults, overridden by `Name=value` strings, typed and checked."""
    declared = {str(p["Name"]): p for p in definition.get("Parameters", [])}
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise PipelineError(
            f"unknown parameter(s) {', '.join(unknown)}; the pipeline has {', '.join(declared)}"
        )
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        if name in overrides:
            values[name] = _typed(name, spec, overrides[name])
        elif "DefaultValue" in spec:
            values[name] = spec["DefaultValue"]
        else:
            raise PipelineError(f"parameter {name} has no default; pass --param {name}=...")
        enum = spec.get("EnumValues")
        if enum and str(values[name]) not in [str(v) for v in enum]:
            raise PipelineError(f"parameter {name} must be one of {', '.join(map(str, enum))}")
    return values


def _typed(name: str, spec: Mapping[str, Any], text: str) -> Any:
    kind = spec.get("Type", "String")
    try:
        if kind == "Integer":
            return int(text)
        if kind == "Float":
            return float(text)
    except ValueError:
        raise PipelineError(f"parameter {name} needs a {kind.lower()}, got {text!r}") from None
    if kind == "Boolean":
        if text.lower() not in ("true", "false"):
            raise PipelineError(f"parameter {name} needs true or false, got {text!r}")
        return text.lower() == "true"
    return text


_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$",
    re.IGNORECASE,
)


def duration_seconds(text: str | None) -> float | None:
    """An ISO 8601 duration (`P30D`, `PT12H`, `T12H`) in seconds; None means no expiry."""
    if not text:
        return None
    normalized = text if text.upper().startswith("P") else f"P{text}"
    match = _DURATION.match(normalized)
    if not match or normalized.upper() in ("P", "PT"):
        raise PipelineError(f"cannot read the cache expiry {text!r} (ISO 8601 duration)")
    parts = {k: int(v or 0) for k, v in match.groupdict().items()}
    return float(
        parts["weeks"] * 604800
        + parts["days"] * 86400
        + parts["hours"] * 3600
        + parts["minutes"] * 60
        + parts["seconds"]
    )


def new_execution_id() -> str:
    """An id shaped like SageMaker's (12 lowercase letters and digits)."""
    return secrets.token_hex(6)


class LocalRunner:
    """Runs one pipeline definition against S3 (the emulator or AWS) with local jobs."""

    def __init__(
        self,
        definition: Mapping[str, Any],
        pipeline_name: str,
        state_dir: Path,
        s3: Any,
        region: str,
        account: str,
        reporter: Reporter | None = None,
    ) -> None:
        """Check the definition and remember where runs and the cache live."""
        self.definition = dict(definition)
        self.pipeline_name = pipeline_name
        self.state_dir = Path(state_dir)
        self.s3 = s3
        self.region = region
        self.account = account
        self.reporter = reporter or QuietReporter()
        self.steps = flatten_steps(self.definition)
        names = set(self.steps)
        self.needs = {name: dependencies(flat, names) for name, flat in self.steps.items()}

    @property
    def runs_dir(self) -> Path:
        """Where execution folders live."""
        return self.state_dir / RUNS_FOLDER

    def run(self, overrides: Mapping[str, str] | None = None) -> RunRecord:
        """Start a new execution with these parameter overrides."""
        parameters = parse_parameters(self.definition, overrides)
        execution_id = new_execution_id()
        folder = self.runs_dir / execution_id
        folder.mkdir(parents=True, exist_ok=False)
        (folder / "definition.json").write_text(json.dumps(self.definition, indent=1))
        record = RunRecord(
            execution_id=execution_id,
            pipeline_name=self.pipeline_name,
            parameters=parameters,
            started_at=datetime.now(UTC).isoformat(timespec="microseconds"),
            folder=str(folder),
            steps={
                name: StepRecord(name, str(flat.spec["Type"])) for name, flat in self.steps.items()
            },
        )
        return self._execute(record)

    def resume(self, record: RunRecord) -> RunRecord:
        """Run an execution again from its first step that did not succeed."""
        if record.status == SUCCEEDED:
            raise PipelineError(f"execution {record.execution_id} already succeeded")
        for name, step in record.steps.items():
            if step.status != SUCCEEDED or step.type == "Condition":
                record.steps[name] = StepRecord(name, step.type)
        for name, flat in self.steps.items():
            record.steps.setdefault(name, StepRecord(name, str(flat.spec["Type"])))
        record.status = EXECUTING
        record.failure_reason = None
        return self._execute(record)

    def _context(self, record: RunRecord) -> Context:
        arn = f"arn:aws:sagemaker:{self.region}:{self.account}:pipeline/{self.pipeline_name}"
        context = Context(
            parameters=dict(record.parameters),
            execution={
                "PipelineExecutionId": record.execution_id,
                "PipelineExecutionArn": f"{arn}/execution/{record.execution_id}",
                "PipelineName": self.pipeline_name,
                "PipelineArn": arn,
                "StartDateTime": record.started_at,
                "CurrentDateTime": record.started_at,
            },
        )
        for name, step in record.steps.items():
            if step.status == SUCCEEDED:
                context.steps[name] = step.properties
                context.property_files[name] = step.property_files
        return context

    def _execute(self, record: RunRecord) -> RunRecord:
        started = time.perf_counter()
        context = self._context(record)
        self._save(record)
        pending = [name for name in self.steps if record.steps[name].status != SUCCEEDED]
        while pending and record.status == EXECUTING:
            ready = next((n for n in pending if all(d not in pending for d in self.needs[n])), None)
            if ready is None:
                raise PipelineError(f"steps {pending} depend on each other in a cycle")
            pending.remove(ready)
            step = record.steps[ready]
            if not self._should_run(ready, record):
                step.status = NOT_EXECUTED
                continue
            step.status = EXECUTING
            self._save(record)
            try:
                self._run_step(ready, step, context, record)
            except KeyboardInterrupt:
                # Recorded as failed, so `--resume` picks the execution up from this step.
                step.status, step.failure = FAILED, "interrupted"
                record.status, record.failure_reason = FAILED, f"{ready}: interrupted"
                self._save(record)
                raise
            if step.status == SUCCEEDED:
                context.steps[ready] = step.properties
                context.property_files[ready] = step.property_files
            else:
                record.status = FAILED
                record.failure_reason = f"{ready}: {step.failure}"
            self._save(record)
        if record.status == EXECUTING:
            record.status = SUCCEEDED
        record.seconds += time.perf_counter() - started
        self._save(record)
        return record

    def _should_run(self, name: str, record: RunRecord) -> bool:
        flat = self.steps[name]
        if any(record.steps[d].status != SUCCEEDED for d in self.needs[name]):
            return False
        if flat.parent is None:
            return True
        outcome = record.steps[flat.parent].properties.get("Outcome")
        return outcome == ("True" if flat.branch else "False")

    def _run_step(self, name: str, step: StepRecord, context: Context, record: RunRecord) -> None:
        spec = self.steps[name].spec
        self.reporter.step_started(name, step.type)
        began = time.perf_counter()
        try:
            if step.type == "Condition":
                self._condition(spec, step, context)
            elif step.type == "Fail":
                message = resolve(spec.get("Arguments", {}).get("ErrorMessage", ""), context)
                step.status = FAILED
                step.failure = str(message) or "the pipeline reached a fail step"
            else:
                self._job(spec, step, context, record)
        except (jobs.JobError, ExpressionError, PipelineError) as failed:
            step.status = FAILED
            step.failure = str(failed)
        except Exception as error:  # a crashing step fails its execution, recorded
            step.status = FAILED
            step.failure = f"{type(error).__name__}: {error}"
        step.seconds = time.perf_counter() - began
        self.reporter.step_finished(step)

    def _condition(self, spec: dict[str, Any], step: StepRecord, context: Context) -> None:
        outcomes = [evaluate(c, context) for c in spec["Arguments"].get("Conditions", [])]
        holds = all(o.holds for o in outcomes)
        step.conditions = [f"{o.text}: {'true' if o.holds else 'false'}" for o in outcomes]
        step.properties = {"Outcome": "True" if holds else "False"}
        step.status = SUCCEEDED

    # Jobs -------------------------------------------------------------------------------

    def _job(
        self, spec: dict[str, Any], step: StepRecord, context: Context, record: RunRecord
    ) -> None:
        arguments = resolve(spec.get("Arguments", {}), context)
        cache = spec.get("CacheConfig", {})
        key = None
        if cache.get("Enabled"):
            key = self._cache_key(spec, arguments, context)
            hit = self._cache_lookup(step.name, key, duration_seconds(cache.get("ExpireAfter")))
            if hit is not None:
                step.properties, step.property_files = hit["properties"], hit["property_files"]
                step.cached, step.status = True, SUCCEEDED
                return
        folder = Path(record.folder) / step.name
        if folder.exists():
            shutil.rmtree(folder)
        container = jobs.Container(folder)
        log_path = Path(record.folder) / "logs" / f"{step.name}.log"
        if log_path.exists():
            log_path.unlink()
        step.log = str(log_path)
        job_name = f"pipelines-{record.execution_id}-{step.name}"[:63]

        def output(line: str) -> None:
            self.reporter.step_output(step.name, line)

        if step.type == "Processing":
            result = jobs.run_processing(arguments, container, self.s3, log_path, output)
            step.property_files = self._property_files(spec, arguments, container)
            kind, noun = "processing-job", "Processing"
        else:
            result = jobs.run_training(arguments, container, self.s3, job_name, log_path, output)
            kind, noun = "training-job", "Training"
        step.properties = {
            **arguments,
            **result.properties,
            f"{noun}JobName": job_name,
            f"{noun}JobArn": self._job_arn(kind, job_name),
            f"{noun}JobStatus": "Completed",
        }
        step.script_seconds = result.script_seconds
        produced = [{"Bucket": o.bucket, "Key": o.key, "ETag": o.etag} for o in result.objects]
        step.status = SUCCEEDED
        if key is not None:
            self._cache_store(step, key, produced)

    def _job_arn(self, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account}:{kind}/{name.lower()}"

    @staticmethod
    def _property_files(
        spec: dict[str, Any], arguments: dict[str, Any], container: jobs.Container
    ) -> dict[str, Any]:
        outputs = {
            o["OutputName"]: o["S3Output"]["LocalPath"]
            for o in arguments.get("ProcessingOutputConfig", {}).get("Outputs", [])
        }
        files: dict[str, Any] = {}
        for item in spec.get("PropertyFiles", []):
            name, output = item["PropertyFileName"], item["OutputName"]
            if output not in outputs:
                raise jobs.JobError(f"property file {name}: the job has no output {output!r}")
            path = container.host_path(outputs[output]) / item["FilePath"]
            try:
                files[name] = json.loads(path.read_text())
            except FileNotFoundError:
                raise jobs.JobError(
                    f"property file {name}: the script wrote no {item['FilePath']} "
                    f"to output {output!r}"
                ) from None
            except json.JSONDecodeError as exc:
                raise jobs.JobError(f"property file {name}: not JSON ({exc})") from None
        return files

    # Cache ------------------------------------------------------------------------------

    def _cache_key(self, spec: dict[str, Any], arguments: dict[str, Any], context: Context) -> str:
        """Arguments with execution variables left symbolic, and inputs by content (ETags)."""
        symbolic = Context(
            parameters=context.parameters,
            execution=context.execution,
            steps=context.steps,
            property_files=context.property_files,
            symbolic_execution=True,
        )
        keyed = resolve(spec.get("Arguments", {}), symbolic)
        for resolved_item, keyed_item in zip(
            arguments.get("ProcessingInputs", []), keyed.get("ProcessingInputs", []), strict=True
        ):
            keyed_item["S3Input"]["S3Uri"] = self._content(resolved_item["S3Input"]["S3Uri"])
        for resolved_item, keyed_item in zip(
            arguments.get("InputDataConfig", []), keyed.get("InputDataConfig", []), strict=True
        ):
            source = keyed_item["DataSource"]["S3DataSource"]
            source["S3Uri"] = self._content(resolved_item["DataSource"]["S3DataSource"]["S3Uri"])
        document = {"Type": spec["Type"], "Arguments": keyed, "Files": spec.get("PropertyFiles")}
        return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()

    def _content(self, uri: str) -> list[list[str]]:
        _, key = jobs.split_s3_uri(uri)
        objects = jobs.list_prefix(self.s3, uri)
        return sorted([jobs.relative_name(o.key, key), o.etag] for o in objects)

    def _cache_path(self, step_name: str, key: str) -> Path:
        return self.state_dir / CACHE_FOLDER / self.pipeline_name / step_name / f"{key}.json"

    def _cache_lookup(
        self, step_name: str, key: str, expiry: float | None
    ) -> dict[str, Any] | None:
        path = self._cache_path(step_name, key)
        if not path.is_file():
            return None
        entry: dict[str, Any] = json.loads(path.read_text())
        if expiry is not None and time.time() - float(entry["stored_at"]) > expiry:
            return None
        for item in entry["objects"]:
            try:
                head = self.s3.head_object(Bucket=item["Bucket"], Key=item["Key"])
            except Exception:  # any miss (deleted, emulator reset) means re-run
                return None
            if str(head["ETag"]).strip('"') != item["ETag"]:
                return None
        return entry

    def _cache_store(self, step: StepRecord, key: str, objects: list[dict[str, str]]) -> None:
        path = self._cache_path(step.name, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        entry = {
            "stored_at": time.time(),
            "properties": step.properties,
            "property_files": step.property_files,
            "objects": objects,
        }
        path.write_text(json.dumps(entry, indent=1, default=str))

    def _save(self, record: RunRecord) -> None:
        path = Path(record.folder) / "run.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(record.to_json())
        temporary.replace(path)


def load_run(state_dir: Path, execution_id: str | None = None) -> RunRecord:
    """An execution's record; without an id, the newest execution that did not succeed."""
    runs = Path(state_dir) / RUNS_FOLDER
    if execution_id:
        path = runs / execution_id / "run.json"
        if not path.is_file():
            raise PipelineError(f"no local execution {execution_id!r} under {runs}")
        return RunRecord.from_json(path.read_text())
    records = [RunRecord.from_json(p.read_text()) for p in runs.glob("*/run.json")]
    failed = [r for r in records if r.status != SUCCEEDED]
    if not failed:
        raise PipelineError("no failed local execution to resume")
    return max(failed, key=lambda r: r.started_at + r.execution_id)
