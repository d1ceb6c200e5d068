"""MLflow tracking of one pipeline execution, as it happened.

The evaluate step is the one step that runs in every execution that trained a model and sees
every step's output (prepare's data report, train's metrics from model.tar.gz, its own
evaluation), so it logs the execution as one MLflow run: parameters (training
hyperparameters, gate limits), per-epoch training and validation metrics (MLflow ``step`` =
epoch), the evaluation metrics, each gate's outcome, and the data report, the pictures,
evaluation.json and the run report as artifacts. Outputs of cached steps are tagged with the
execution that produced them (``reused.<step>``). The dataset version it trained on is the
run's MLflow dataset input (name, digest, source).

The run is the execution's: it starts when the execution started (SageMaker's
``Execution.StartDateTime``), and it ends when the execution ends, as its runner saw it:
`close_execution` logs each step's time, the end time and the status (FAILED with the
reason), and creates a FAILED run for an execution that failed before evaluate. Logging that
breaks off after the run exists marks it FAILED with the reason rather than leaving it
RUNNING; an experiment deleted in the UI is restored, with a warning the step prints.

The tracking URI is an ``http(s)://`` MLflow server (locally the one `make up` starts), any
URI MLflow accepts (``sqlite:///...``), or a SageMaker managed tracking server ARN, which
needs the ``sagemaker-mlflow`` plugin. With no URI, or an ARN without the plugin, nothing is
logged and one line says so.

An ``http(s)://`` server is spoken to over MLflow's REST API
(https://mlflow.org/docs/latest/rest-api.html) with the standard library: importing the
MLflow client takes 2-3 s of the step (it pulls in pandas, SQLAlchemy and MLflow's GenAI
modules), the dozen requests of a run take well under a second. Artifacts go through the
server's artifact proxy when the run's artifact URI is ``mlflow-artifacts:`` (a server started
with ``--serve-artifacts``, as the local one is); any other artifact store, an ARN and every
other URI go through the MLflow client. A local server that is still starting (connection
refused) is waited for, up to ``SERVER_WAIT_S``: `make up` launches it without waiting.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import time
import urllib.parse
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

EXPERIMENT = "mnist-pipeline"
SERVER_WAIT_S = 60.0  # a server that refuses connections this long is not starting
REQUEST_TIMEOUT_S = 20.0  # a server that does not answer should cost seconds, not minutes
# MLflow's limits per log-batch request: 1,000 metrics, 100 params, 100 tags.
BATCH = 100
PARAM_LENGTH = 6000  # MLflow's limit on a parameter value's length
TAG_LENGTH = 5000  # what we keep of a failure reason in a tag (MLflow allows 8,000)
DIGEST_LENGTH = 36  # MLflow's datasets table keeps a digest of at most 36 characters
# MLflow's run statuses (mlflow.entities.RunStatus).
RUNNING, FINISHED, FAILED = "RUNNING", "FINISHED", "FAILED"
EXECUTION_TAG = "pipeline_execution_id"  # the tag that names a run's execution
STEP_METRIC = "step_seconds."  # + the step's name: its time in the execution, in seconds
CLOSED_TAG = "execution_status"  # set when the execution's end closed the run


class TrackingError(RuntimeError):
    """The tracking server refused a request or could not be reached; the message says which."""


@dataclass(frozen=True)
class DatasetInput:
    """A dataset version as an MLflow dataset input (mlflow.entities.Dataset).

    ``digest``: at most ``DIGEST_LENGTH`` characters (longer ones are cut); ``source``: a URI,
    ``source_type`` its MLflow source type (``s3`` for an S3 URI, as
    mlflow.data.artifact_dataset_sources registers it); ``profile``: a JSON-able summary.
    """

    name: str
    digest: str
    source: str
    source_type: str = "s3"
    profile: dict[str, Any] = field(default_factory=dict)
    context: str = "training"  # the mlflow.data.context tag: what the run used it for

    def as_rest(self) -> dict[str, Any]:
        """The DatasetInput message of MLflow's REST API (``runs/log-inputs``)."""
        return {
            "tags": [{"key": "mlflow.data.context", "value": self.context}],
            "dataset": {
                "name": self.name,
                "digest": self.digest[:DIGEST_LENGTH],
                "source_type": self.source_type,
                "source": json.dumps({"uri": self.source}),
                "profile": json.dumps(self.profile, sort_keys=True),
            },
        }


@dataclass(frozen=True)
class RunEnd:
    """How a run ends: its status, why when it failed, and when (epoch ms; None: now)."""

    status: str = FINISHED
    reason: str = ""
    ended_at_ms: int | None = None


@dataclass
class TrackedRun:
    """What to log for one execution; plain data gathered by the evaluate step.

    ``started_at_ms``: the execution's start (epoch ms), the run's start; None: now.
    ``ending``: None leaves the run RUNNING, for the execution's later steps to end it.
    ``warnings`` is filled while logging (a deleted experiment restored, say).
    """

    run_name: str
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)  # train's, one per epoch
    tags: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # artifact path -> bytes
    started_at_ms: int | None = None
    dataset: DatasetInput | None = None
    ending: RunEnd | None = field(default_factory=RunEnd)
    warnings: list[str] = field(default_factory=list)

    def metric_points(self) -> list[tuple[str, float, int]]:
        """(key, value, step) for every number, None and text left out.

        The evaluation's metrics at step 0, then each epoch's training and validation
        figures at step = epoch.
        """
        points = [(k, float(v), 0) for k, v in self.metrics.items() if _number(v)]
        for record in self.history:
            epoch = int(record["epoch"])
            points += [
                (k, float(v), epoch) for k, v in record.items() if k != "epoch" and _number(v)
            ]
        return points

    def param_values(self) -> dict[str, str]:
        """Parameters as MLflow keeps them: strings of at most ``PARAM_LENGTH`` characters."""
        return {key: str(value)[:PARAM_LENGTH] for key, value in self.params.items()}


@dataclass(frozen=True)
class ExecutionFacts:
    """An execution as its runner recorded it, for `close_execution`.

    Times in epoch ms; ``step_seconds`` each step's time (a cached step's lookup included);
    ``failed`` with ``reason`` when the execution did not succeed. ``final`` False: the end
    as the last step saw it (register's, in AWS), which the runner's own end may correct.
    """

    execution_id: str
    started_at_ms: int
    ended_at_ms: int
    failed: bool
    reason: str = ""
    step_seconds: dict[str, float] = field(default_factory=dict)
    final: bool = True


def dataset_input(manifest: dict[str, Any], manifest_sha256: str) -> DatasetInput:
    """A dataset version's manifest (contracts: docs/aws.md, "Data versions") as a dataset input.

    Name ``mnist``, digest the version id (itself a digest of the files' SHA-256s), source the
    manifest's S3 URI, profile the counts and the manifest's own SHA-256.
    """
    prefix = str(manifest.get("prefix", "")).strip("/")
    objects = list(manifest.get("objects", []))
    return DatasetInput(
        name="mnist",
        digest=str(manifest["dataset_version"]),
        source=f"s3://{manifest['bucket']}/{prefix}/manifest.json",
        profile={
            "dataset_version": str(manifest["dataset_version"]),
            "manifest_sha256": manifest_sha256,
            "files": len(objects),
            "digits": sum(int(o.get("count", 0)) for o in objects if "labels" in str(o["key"])),
            "feedback_samples": len((manifest.get("feedback") or {}).get("ids", [])),
        },
    )


def epoch_ms(moment: str) -> int | None:
    """An ISO 8601 time (SageMaker's ``Execution.StartDateTime``) in epoch ms; None if not one."""
    from datetime import UTC, datetime

    try:
        parsed = datetime.fromisoformat(moment.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def _number(value: Any) -> bool:
    return isinstance(value, int | float)


def _now_ms() -> int:
    return int(time.time() * 1000)


def why_not(uri: str) -> str | None:
    """The one line saying why nothing will be logged to ``uri``, or None when it can be."""
    if not uri:
        return "MLflow tracking: no tracking URI set (MlflowTrackingUri); not logging"
    if uri.startswith("arn:") and importlib.util.find_spec("sagemaker_mlflow") is None:
        return (
            "MLflow tracking: the sagemaker-mlflow plugin is not installed, so the managed "
            f"tracking server {uri} cannot be reached; not logging"
        )
    return None


def store_for(uri: str) -> Store:
    """The store that speaks to ``uri``: MLflow's REST API for http(s), else its client."""
    if uri.startswith(("http://", "https://")):
        return RestTracking(uri)
    return ClientTracking(uri)


def log_run(uri: str, run: TrackedRun, experiment: str = EXPERIMENT) -> str | None:
    """Log ``run`` to the tracking server at ``uri``; returns the MLflow run id, or None.

    A failure after the run was created marks it FAILED with the reason before raising, so
    no run stays RUNNING because its logging broke off.

    Raises:
        TrackingError: an ``http(s)://`` server refused a request or did not come up within
            ``SERVER_WAIT_S``.
        Exception: whatever the MLflow client raises for the other URIs. The caller decides
            whether that stops the step.
    """
    reason = why_not(uri)
    if reason:
        print(reason, flush=True)
        return None
    began = time.monotonic()
    run_id = store_for(uri).log(run, experiment)
    print(
        f"MLflow run {run_id} in experiment {experiment} at {_shown(uri)} "
        f"(logged in {time.monotonic() - began:.1f} s)",
        flush=True,
    )
    return run_id


def close_execution(uri: str, facts: ExecutionFacts, experiment: str = EXPERIMENT) -> str | None:
    """Make the execution's MLflow run end as the execution did; its run id, or None.

    Each run tagged with the execution's id and not yet closed (evaluate's; after a resume,
    the resumed attempt's) gets each step's time (``step_seconds.<step>``), the execution's
    end time and status: FAILED with the reason (tag ``failure_reason``) when the execution
    failed, or when its logging had failed; FINISHED otherwise; and the tag
    ``execution_status`` that marks it closed. An execution with no such run (it failed before
    evaluate: prepare's data checks, say) gets one, started when the execution started, so
    every execution shows in MLflow.

    Raises:
        TrackingError, Exception: as `log_run`.
    """
    if why_not(uri):
        return None
    store = store_for(uri)
    experiment_id = store.experiment_id(experiment)
    for warning in store.warnings:
        print(f"MLflow: {warning}", flush=True)
    found = store.find_runs(experiment_id, facts.execution_id)
    open_runs = [(run_id, status) for run_id, status, tags in found if CLOSED_TAG not in tags]
    if not open_runs:
        created = store.create_run(
            experiment_id,
            f"execution {facts.execution_id}",
            facts.started_at_ms,
            {EXECUTION_TAG: facts.execution_id},
        )
        open_runs = [(created, RUNNING)]
    steps = [(f"{STEP_METRIC}{name}", float(s), 0) for name, s in facts.step_seconds.items()]
    tags = {CLOSED_TAG: "Failed" if facts.failed else "Succeeded"} if facts.final else {}
    if facts.failed and facts.reason:
        tags["failure_reason"] = facts.reason[:TAG_LENGTH]
    for run_id, status in open_runs:
        store.log_batch(run_id, steps, {}, tags, facts.ended_at_ms)
        failed = facts.failed or status == FAILED
        store.end(run_id, FAILED if failed else FINISHED, facts.ended_at_ms)
    return open_runs[-1][0]


class Store(ABC):
    """One tracking store: what `log_run` and `close_execution` need of MLflow."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    @abstractmethod
    def experiment_id(self, name: str) -> str:
        """The experiment's id: found, restored when deleted (with a warning), or created."""

    @abstractmethod
    def create_run(self, experiment_id: str, name: str, start_ms: int, tags: dict[str, str]) -> str:
        """A new RUNNING run; its id."""

    @abstractmethod
    def log_batch(
        self,
        run_id: str,
        metrics: list[tuple[str, float, int]],
        params: dict[str, str],
        tags: dict[str, str],
        timestamp_ms: int,
    ) -> None:
        """Metrics (key, value, step), parameters and tags, in MLflow's batch limits."""

    @abstractmethod
    def log_dataset(self, run_id: str, dataset: DatasetInput) -> None:
        """The dataset as the run's input."""

    @abstractmethod
    def upload(self, run_id: str, artifact_uri: str, files: dict[str, bytes]) -> None:
        """The files as the run's artifacts."""

    @abstractmethod
    def end(self, run_id: str, status: str, end_ms: int) -> None:
        """Set the run's status and end time."""

    @abstractmethod
    def find_runs(
        self, experiment_id: str, execution_id: str
    ) -> list[tuple[str, str, dict[str, str]]]:
        """(run id, status, tags) of each run tagged with this execution, oldest first."""

    def log(self, run: TrackedRun, experiment: str) -> str:
        """Create the run, log everything, end it as ``run.ending`` says; returns its id.

        Anything failing after the run exists ends it FAILED with the reason, then raises.
        """
        experiment_id = self.experiment_id(experiment)
        run.warnings.extend(self.warnings)
        for warning in self.warnings:
            print(f"MLflow: {warning}", flush=True)
        start = run.started_at_ms or _now_ms()
        run_id, artifact_uri = self._created(experiment_id, run, start)
        try:
            self.log_batch(run_id, run.metric_points(), run.param_values(), {}, _now_ms())
            if run.dataset is not None:
                self.log_dataset(run_id, run.dataset)
            if run.files:
                self.upload(run_id, artifact_uri, run.files)
        except Exception as exc:
            reason = f"logging the run failed: {type(exc).__name__}: {exc}"
            try:
                self.log_batch(run_id, [], {}, {"failure_reason": reason[:TAG_LENGTH]}, _now_ms())
                self.end(run_id, FAILED, _now_ms())
            except Exception as again:  # the server is gone: say so, raise the first cause
                print(f"MLflow run {run_id} could not be marked FAILED: {again}", flush=True)
            raise
        if run.ending is not None:
            if run.ending.reason:
                reason = run.ending.reason[:TAG_LENGTH]
                self.log_batch(run_id, [], {}, {"failure_reason": reason}, _now_ms())
            self.end(run_id, run.ending.status, run.ending.ended_at_ms or _now_ms())
        return run_id

    @abstractmethod
    def _created(self, experiment_id: str, run: TrackedRun, start_ms: int) -> tuple[str, str]:
        """Create the run with its name and tags; (run id, artifact URI)."""


class RestTracking(Store):
    """One MLflow tracking server over its REST API (``/api/2.0/mlflow/...``).

    Credentials as the MLflow client takes them: ``MLFLOW_TRACKING_TOKEN`` (bearer), else
    ``MLFLOW_TRACKING_USERNAME`` and ``MLFLOW_TRACKING_PASSWORD``, else ``user:password@`` in
    the URI (basic).
    """

    def __init__(self, uri: str, wait_s: float = SERVER_WAIT_S) -> None:
        super().__init__()
        parts = urllib.parse.urlsplit(uri.rstrip("/"))
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"not an http(s) tracking server: {uri}")
        self.base = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"
        self.headers: dict[str, str] = {}
        token = os.environ.get("MLFLOW_TRACKING_TOKEN")
        user = os.environ.get("MLFLOW_TRACKING_USERNAME") or urllib.parse.unquote(
            parts.username or ""
        )
        password = os.environ.get("MLFLOW_TRACKING_PASSWORD") or urllib.parse.unquote(
            parts.password or ""
        )
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        elif user:
            pair = base64.b64encode(f"{user}:{password}".encode()).decode()
            self.headers["Authorization"] = f"Basic {pair}"
        self.wait_until = time.monotonic() + wait_s

    def _created(self, experiment_id: str, run: TrackedRun, start_ms: int) -> tuple[str, str]:
        created = self.call(
            "POST",
            "/api/2.0/mlflow/runs/create",
            {
                "experiment_id": experiment_id,
                "run_name": run.run_name,
                "start_time": start_ms,
                "tags": [{"key": k, "value": v} for k, v in run.tags.items()],
            },
        )["run"]["info"]
        return str(created["run_id"]), str(created.get("artifact_uri", ""))

    def create_run(self, experiment_id: str, name: str, start_ms: int, tags: dict[str, str]) -> str:
        """A new RUNNING run; its id."""
        return self._created(experiment_id, TrackedRun(name, tags=tags), start_ms)[0]

    def log_batch(
        self,
        run_id: str,
        metrics: list[tuple[str, float, int]],
        params: dict[str, str],
        tags: dict[str, str],
        timestamp_ms: int,
    ) -> None:
        """Metrics (key, value, step), parameters and tags, in MLflow's batch limits."""
        points = [
            {"key": key, "value": value, "timestamp": timestamp_ms, "step": step}
            for key, value, step in metrics
        ]
        pairs = [{"key": k, "value": v} for k, v in params.items()]
        labels = [{"key": k, "value": v} for k, v in tags.items()]
        for start in range(0, max(len(points), len(pairs), len(labels), 1), BATCH):
            self.call(
                "POST",
                "/api/2.0/mlflow/runs/log-batch",
                {
                    "run_id": run_id,
                    "metrics": points[start : start + BATCH],
                    "params": pairs[start : start + BATCH],
                    "tags": labels[start : start + BATCH],
                },
            )

    def log_dataset(self, run_id: str, dataset: DatasetInput) -> None:
        """The dataset as the run's input (``runs/log-inputs``)."""
        self.call(
            "POST",
            "/api/2.0/mlflow/runs/log-inputs",
            {"run_id": run_id, "datasets": [dataset.as_rest()]},
        )

    def end(self, run_id: str, status: str, end_ms: int) -> None:
        """Set the run's status and end time (``runs/update``)."""
        self.call(
            "POST",
            "/api/2.0/mlflow/runs/update",
            {"run_id": run_id, "status": status, "end_time": end_ms},
        )

    def find_runs(
        self, experiment_id: str, execution_id: str
    ) -> list[tuple[str, str, dict[str, str]]]:
        """(run id, status, tags) of each run tagged with this execution, oldest first."""
        found = self.call(
            "POST",
            "/api/2.0/mlflow/runs/search",
            {
                "experiment_ids": [experiment_id],
                "filter": f"tags.{EXECUTION_TAG} = '{_quoted(execution_id)}'",
                "max_results": 100,
                "order_by": ["attributes.start_time ASC"],
            },
        ).get("runs", [])
        return [
            (
                str(run["info"]["run_id"]),
                str(run["info"].get("status", RUNNING)),
                {t["key"]: t.get("value", "") for t in run.get("data", {}).get("tags", [])},
            )
            for run in found
        ]

    def experiment_id(self, name: str) -> str:
        """The experiment's id: found, restored when deleted (with a warning), or created.

        A deleted experiment keeps its name (MLflow refuses to create another by it until the
        deleted one is purged), so every later run would fail to log: it is restored instead.
        """
        for _ in range(2):
            found = self.call(
                "GET",
                "/api/2.0/mlflow/experiments/get-by-name",
                query={"experiment_name": name},
                missing_ok=True,
            )
            if found:
                experiment = found["experiment"]
                experiment_id = str(experiment["experiment_id"])
                if experiment.get("lifecycle_stage") == "deleted":
                    self.call(
                        "POST",
                        "/api/2.0/mlflow/experiments/restore",
                        {"experiment_id": experiment_id},
                    )
                    self.warnings.append(_restored(name, experiment_id))
                return experiment_id
            created = self.call(
                "POST", "/api/2.0/mlflow/experiments/create", {"name": name}, missing_ok=True
            )
            if created:
                return str(created["experiment_id"])
        raise TrackingError(f"experiment {name!r} can neither be found nor created")

    def upload(self, run_id: str, artifact_uri: str, files: dict[str, bytes]) -> None:
        """Put each file under the run's artifacts, through the server's proxy if it has one."""
        parts = urllib.parse.urlsplit(artifact_uri)
        if parts.scheme != "mlflow-artifacts":
            # Not proxied (s3://, a shared folder...): the MLflow client writes it directly.
            from mlflow.tracking import MlflowClient

            _log_files(MlflowClient(tracking_uri=self.base), run_id, files)
            return
        base = f"{urllib.parse.urlsplit(self.base).scheme}://{parts.netloc}" if parts.netloc else ""
        for name, data in files.items():
            path = urllib.parse.quote(f"{parts.path.rstrip('/')}/{name}")
            self.call(
                "PUT", f"/api/2.0/mlflow-artifacts/artifacts{path}", data=data, base=base or None
            )

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        query: dict[str, str] | None = None,
        data: bytes | None = None,
        base: str | None = None,
        missing_ok: bool = False,
    ) -> dict[str, Any]:
        """One request; its JSON answer, waiting for a server that is still starting.

        The answer is {} when empty, and for a missing or existing resource with
        ``missing_ok``. Connections refused are retried until the wait is over.

        Raises:
            TrackingError: an error answer (with MLflow's error code and message), no
                answer within ``REQUEST_TIMEOUT_S``, or connections refused until the wait
                is over.
        """
        # Here, not at the top: a step that logs nothing does not load the HTTP client.
        import urllib.error
        import urllib.request

        url = (base or self.base) + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        headers = dict(self.headers)
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif data is not None:
            headers["Content-Type"] = "application/octet-stream"
        # http(s) only: `log_run` sends nothing else here, and __init__ checks the scheme.
        request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
        while True:
            try:
                with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:  # noqa: S310
                    answer = response.read()
                return dict(json.loads(answer)) if answer.strip() else {}
            except urllib.error.HTTPError as exc:
                error = _error_of(exc)
                known = ("RESOURCE_DOES_NOT_EXIST", "RESOURCE_ALREADY_EXISTS")
                if missing_ok and error.get("error_code") in known:
                    return {}
                raise TrackingError(
                    f"{method} {path} answered {exc.code}: "
                    f"{error.get('error_code', '')} {error.get('message', exc.reason)}".strip()
                ) from None
            except urllib.error.URLError as exc:
                refused = isinstance(exc.reason, ConnectionRefusedError)
                if not refused or time.monotonic() > self.wait_until:
                    raise TrackingError(f"{method} {url}: {exc.reason}") from None
                time.sleep(0.2)
            except TimeoutError:
                raise TrackingError(
                    f"{method} {url}: no answer within {REQUEST_TIMEOUT_S:.0f} s"
                ) from None


def _restored(name: str, experiment_id: str) -> str:
    return (
        f"experiment {name!r} (id {experiment_id}) had been deleted; restored it so this and "
        "later runs are logged (delete its runs instead, or rename it to start afresh)"
    )


def _quoted(text: str) -> str:
    """A value for an MLflow search filter's single-quoted string."""
    return text.replace("\\", "\\\\").replace("'", "\\'")


class ClientTracking(Store):
    """Any other store through the MLflow client: ARNs (the plugin signs requests), sqlite."""

    def __init__(self, uri: str) -> None:
        super().__init__()
        # A server that does not answer should cost seconds, not MLflow's minutes of retries.
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(int(REQUEST_TIMEOUT_S)))
        # MLflow's documented opt-out (mlflow.environment_variables.MLFLOW_DISABLE_TELEMETRY):
        # the playground promises to work offline and sends no usage data.
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient(tracking_uri=uri)

    def experiment_id(self, name: str) -> str:
        """The experiment's id: found, restored when deleted (with a warning), or created."""
        found = self.client.get_experiment_by_name(name)
        if found is None:
            return str(self.client.create_experiment(name))
        if found.lifecycle_stage == "deleted":
            self.client.restore_experiment(found.experiment_id)
            self.warnings.append(_restored(name, found.experiment_id))
        return str(found.experiment_id)

    def _created(self, experiment_id: str, run: TrackedRun, start_ms: int) -> tuple[str, str]:
        created = self.client.create_run(
            experiment_id, start_time=start_ms, tags=run.tags, run_name=run.run_name
        )
        return str(created.info.run_id), str(created.info.artifact_uri)

    def create_run(self, experiment_id: str, name: str, start_ms: int, tags: dict[str, str]) -> str:
        """A new RUNNING run; its id."""
        return self._created(experiment_id, TrackedRun(name, tags=tags), start_ms)[0]

    def log_batch(
        self,
        run_id: str,
        metrics: list[tuple[str, float, int]],
        params: dict[str, str],
        tags: dict[str, str],
        timestamp_ms: int,
    ) -> None:
        """Metrics (key, value, step), parameters and tags, in MLflow's batch limits."""
        from mlflow.entities import Metric, Param, RunTag

        points = [Metric(key, value, timestamp_ms, step) for key, value, step in metrics]
        pairs = [Param(key, value) for key, value in params.items()]
        labels = [RunTag(key, value) for key, value in tags.items()]
        for start in range(0, max(len(points), len(pairs), len(labels), 1), BATCH):
            self.client.log_batch(
                run_id,
                metrics=points[start : start + BATCH],
                params=pairs[start : start + BATCH],
                tags=labels[start : start + BATCH],
            )

    def log_dataset(self, run_id: str, dataset: DatasetInput) -> None:
        """The dataset as the run's input."""
        from mlflow.entities import Dataset, InputTag
        from mlflow.entities import DatasetInput as MlflowDatasetInput

        rest = dataset.as_rest()["dataset"]
        self.client.log_inputs(
            run_id,
            datasets=[
                MlflowDatasetInput(
                    Dataset(
                        rest["name"],
                        rest["digest"],
                        rest["source_type"],
                        rest["source"],
                        profile=rest["profile"],
                    ),
                    tags=[InputTag("mlflow.data.context", dataset.context)],
                )
            ],
        )

    def upload(self, run_id: str, artifact_uri: str, files: dict[str, bytes]) -> None:
        """The files as the run's artifacts."""
        _log_files(self.client, run_id, files)

    def end(self, run_id: str, status: str, end_ms: int) -> None:
        """Set the run's status and end time."""
        self.client.set_terminated(run_id, status=status, end_time=end_ms)

    def find_runs(
        self, experiment_id: str, execution_id: str
    ) -> list[tuple[str, str, dict[str, str]]]:
        """(run id, status, tags) of each run tagged with this execution, oldest first."""
        runs = self.client.search_runs(
            [experiment_id],
            filter_string=f"tags.{EXECUTION_TAG} = '{_quoted(execution_id)}'",
            max_results=100,
            order_by=["attributes.start_time ASC"],
        )
        return [(str(r.info.run_id), str(r.info.status), dict(r.data.tags)) for r in runs]


def _error_of(exc: Any) -> dict[str, Any]:
    """MLflow's error document ({"error_code", "message"}) from an HTTPError, or {}."""
    try:
        document = json.loads(exc.read() or b"{}")
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _log_files(client: Any, run_id: str, files: dict[str, bytes]) -> None:
    """Every artifact in one upload: laid out in a folder, logged as its content."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="mlflow-") as work:
        for name, data in files.items():
            path = Path(work) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        client.log_artifacts(run_id, work)


def _shown(uri: str) -> str:
    return uri.split("@")[-1] if "@" in uri else uri


def as_json(document: Any) -> bytes:
    """A document as indented JSON bytes, for an artifact."""
    return (json.dumps(document, indent=2, default=str) + "\n").encode()
