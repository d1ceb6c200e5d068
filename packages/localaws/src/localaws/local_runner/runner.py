"""The executor: run a SageMaker pipeline definition (its JSON) on this machine, step by step.

Processing and training steps run their scripts as subprocesses (`jobs`); condition steps
evaluate their conditions on property files (`expressions`); a fail step fails the execution
with its message. The step graph (`graph`) decides the order and which branch runs, the cache
(`cache`) reuses unchanged steps, and the records (`records`) keep each execution on disk so a
failed one can be resumed.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from localaws.local_runner import jobs, on_behalf
from localaws.local_runner.cache import StepCache, cache_key, duration_seconds
from localaws.local_runner.expressions import Context, ExpressionError, evaluate, resolve
from localaws.local_runner.graph import PipelineError, StepGraph, parse_parameters
from localaws.local_runner.records import (
    EXECUTING,
    FAILED,
    NOT_EXECUTED,
    RUNS_FOLDER,
    SUCCEEDED,
    RunRecord,
    StepRecord,
    new_execution_id,
)

__all__ = ["LocalRunner", "QuietReporter", "Reporter"]


# (role ARN, job ARN) -> the role session's AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
# AWS_SESSION_TOKEN (see `localaws.credentials`).
JobCredentials = Callable[[str, str], Mapping[str, str]]


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
        job_credentials: JobCredentials | None = None,
    ) -> None:
        """Check the definition and remember where runs and the cache live.

        With ``job_credentials``, each job runs as its ``RoleArn``: the runner downloads its
        inputs and uploads its outputs with that role's keys, and the script gets them, as
        SageMaker does on the job role's behalf.
        """
        self.definition = dict(definition)
        self.pipeline_name = pipeline_name
        self.state_dir = Path(state_dir)
        self.s3 = s3
        self.region = region
        self.account = account
        self.reporter = reporter or QuietReporter()
        self.job_credentials = job_credentials
        self.graph = StepGraph(self.definition)
        self.steps = self.graph.steps
        self.cache = StepCache(self.state_dir, pipeline_name, s3)

    @property
    def runs_dir(self) -> Path:
        """Where execution folders live."""
        return self.state_dir / RUNS_FOLDER

    def run(
        self, overrides: Mapping[str, str] | None = None, execution_id: str | None = None
    ) -> RunRecord:
        """Start a new execution with these parameter overrides.

        Args:
            overrides: parameter name -> value; the definition's defaults for the others.
            execution_id: the id to run under, for a caller that records it before the run
                starts (`new_execution_id`); a new one when None.

        Raises:
            PipelineError: a bad parameter; FileExistsError: a run with that id exists.
        """
        parameters = parse_parameters(self.definition, overrides)
        execution_id = execution_id or new_execution_id()
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
        record.save()
        pending = [name for name in self.steps if record.steps[name].status != SUCCEEDED]
        while pending and record.status == EXECUTING:
            ready = self.graph.next_ready(pending)
            pending.remove(ready)
            step = record.steps[ready]
            succeeded = {n for n, s in record.steps.items() if s.status == SUCCEEDED}
            outcomes = {n: s.properties.get("Outcome") for n, s in record.steps.items()}
            if not self.graph.should_run(ready, succeeded, outcomes):
                step.status = NOT_EXECUTED
                continue
            step.status = EXECUTING
            record.save()
            try:
                self._run_step(ready, step, context, record)
            except KeyboardInterrupt:
                # Recorded as failed, so `--resume` picks the execution up from this step.
                step.status, step.failure = FAILED, "interrupted"
                record.status, record.failure_reason = FAILED, f"{ready}: interrupted"
                record.save()
                raise
            if step.status == SUCCEEDED:
                context.steps[ready] = step.properties
                context.property_files[ready] = step.property_files
            else:
                record.status = FAILED
                record.failure_reason = f"{ready}: {step.failure}"
            record.save()
        if record.status == EXECUTING:
            record.status = SUCCEEDED
        record.seconds += time.perf_counter() - started
        record.save()
        return record

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

    def _job(
        self, spec: dict[str, Any], step: StepRecord, context: Context, record: RunRecord
    ) -> None:
        arguments = resolve(spec.get("Arguments", {}), context)
        cache = spec.get("CacheConfig", {})
        key = None
        if cache.get("Enabled"):
            key = cache_key(step.type, arguments)
            hit = self.cache.lookup(step.name, key, duration_seconds(cache.get("ExpireAfter")))
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

        kind = "processing-job" if step.type == "Processing" else "training-job"
        s3, credentials, job_log = self.s3, None, None
        if self.job_credentials is not None and arguments.get("RoleArn"):
            credentials = dict(
                self.job_credentials(str(arguments["RoleArn"]), self._job_arn(kind, job_name))
            )
            # What SageMaker does as the role before the script: pull the image, open the log.
            keys = on_behalf.RoleKeys(credentials, self.s3.meta.endpoint_url, self.region)
            on_behalf.pull_image(keys, on_behalf.job_image(step.type, arguments))
            job_log = on_behalf.JobLog(keys, step.type, job_name)
            job_log.open()
            s3 = keys.client("s3")

            def output(line: str) -> None:
                self.reporter.step_output(step.name, line)
                job_log.line(line)

        try:
            if step.type == "Processing":
                result = jobs.run_processing(
                    arguments, container, s3, log_path, output, credentials
                )
                step.property_files = self._property_files(spec, arguments, container)
            else:
                result = jobs.run_training(
                    arguments, container, s3, job_name, log_path, output, credentials
                )
        except BaseException:
            if job_log is not None:
                with contextlib.suppress(jobs.JobError):  # the job's own failure says more
                    job_log.close()
            raise
        if job_log is not None:
            job_log.close()  # a refused last write fails the job, as any refused write does
        noun = step.type
        step.properties = {
            **arguments,
            **result.properties,
            f"{noun}JobName": job_name,
            f"{noun}JobArn": self._job_arn(kind, job_name),
            f"{noun}JobStatus": "Completed",
        }
        step.script_seconds = result.script_seconds
        step.script_cpu_seconds = result.script_cpu_seconds
        produced = [{"Bucket": o.bucket, "Key": o.key, "ETag": o.etag} for o in result.objects]
        step.status = SUCCEEDED
        if key is not None:
            self.cache.store(step, key, produced)

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
