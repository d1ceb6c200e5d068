"""MLflow tracking of one pipeline execution, logged by the evaluate step.

The evaluate step is the one step that runs in every execution that trained a model and sees
every step's output (prepare's data report, train's metrics from model.tar.gz, its own
evaluation), so it logs the execution as one MLflow run: parameters (training
hyperparameters, gate limits), per-epoch training and validation metrics (MLflow ``step`` =
epoch), the evaluation metrics, each gate's outcome, and the data report, the pictures,
evaluation.json and the run report as artifacts. Outputs of cached steps are tagged with the
execution that produced them (``reused.<step>``).

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
from dataclasses import dataclass, field
from typing import Any

EXPERIMENT = "mnist-pipeline"
SERVER_WAIT_S = 60.0  # a server that refuses connections this long is not starting
REQUEST_TIMEOUT_S = 20.0  # a server that does not answer should cost seconds, not minutes
# MLflow's limits per log-batch request: 1,000 metrics, 100 params, 100 tags.
BATCH = 100
PARAM_LENGTH = 6000  # MLflow's limit on a parameter value's length


class TrackingError(RuntimeError):
    """The tracking server refused a request or could not be reached; the message says which."""


@dataclass
class TrackedRun:
    """What to log for one execution; plain data gathered by the evaluate step."""

    run_name: str
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)  # train's, one per epoch
    tags: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # artifact path -> bytes

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


def _number(value: Any) -> bool:
    return isinstance(value, int | float)


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


def log_run(uri: str, run: TrackedRun, experiment: str = EXPERIMENT) -> str | None:
    """Log ``run`` to the tracking server at ``uri``; returns the MLflow run id, or None.

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
    if uri.startswith(("http://", "https://")):
        run_id = RestTracking(uri).log(run, experiment)
    else:
        run_id = _log_with_client(uri, run, experiment)
    print(
        f"MLflow run {run_id} in experiment {experiment} at {_shown(uri)} "
        f"(logged in {time.monotonic() - began:.1f} s)",
        flush=True,
    )
    return run_id


class RestTracking:
    """One MLflow tracking server over its REST API (``/api/2.0/mlflow/...``).

    Credentials as the MLflow client takes them: ``MLFLOW_TRACKING_TOKEN`` (bearer), else
    ``MLFLOW_TRACKING_USERNAME`` and ``MLFLOW_TRACKING_PASSWORD``, else ``user:password@`` in
    the URI (basic).
    """

    def __init__(self, uri: str, wait_s: float = SERVER_WAIT_S) -> None:
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

    def log(self, run: TrackedRun, experiment: str) -> str:
        """Create the run, log everything, mark it finished; returns its id."""
        experiment_id = self.experiment_id(experiment)
        now = int(time.time() * 1000)
        created = self.call(
            "POST",
            "/api/2.0/mlflow/runs/create",
            {
                "experiment_id": experiment_id,
                "run_name": run.run_name,
                "start_time": now,
                "tags": [{"key": k, "value": v} for k, v in run.tags.items()],
            },
        )["run"]["info"]
        run_id = str(created["run_id"])
        metrics = [
            {"key": key, "value": value, "timestamp": now, "step": step}
            for key, value, step in run.metric_points()
        ]
        params = [{"key": k, "value": v} for k, v in run.param_values().items()]
        for start in range(0, max(len(metrics), len(params), 1), BATCH):
            self.call(
                "POST",
                "/api/2.0/mlflow/runs/log-batch",
                {
                    "run_id": run_id,
                    "metrics": metrics[start : start + BATCH],
                    "params": params[start : start + BATCH],
                },
            )
        if run.files:
            self.upload(str(created.get("artifact_uri", "")), run_id, run.files)
        self.call(
            "POST",
            "/api/2.0/mlflow/runs/update",
            {"run_id": run_id, "status": "FINISHED", "end_time": int(time.time() * 1000)},
        )
        return run_id

    def experiment_id(self, name: str) -> str:
        """The experiment's id, created when missing (another run may create it meanwhile)."""
        for _ in range(2):
            found = self.call(
                "GET",
                "/api/2.0/mlflow/experiments/get-by-name",
                query={"experiment_name": name},
                missing_ok=True,
            )
            if found:
                return str(found["experiment"]["experiment_id"])
            created = self.call(
                "POST", "/api/2.0/mlflow/experiments/create", {"name": name}, missing_ok=True
            )
            if created:
                return str(created["experiment_id"])
        raise TrackingError(f"experiment {name!r} can neither be found nor created")

    def upload(self, artifact_uri: str, run_id: str, files: dict[str, bytes]) -> None:
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


def _error_of(exc: Any) -> dict[str, Any]:
    """MLflow's error document ({"error_code", "message"}) from an HTTPError, or {}."""
    try:
        document = json.loads(exc.read() or b"{}")
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _log_with_client(uri: str, run: TrackedRun, experiment: str) -> str:
    """Log through the MLflow client: ARNs (the plugin signs the requests), sqlite, others."""
    # A server that does not answer should cost seconds, not MLflow's minutes of retries.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(int(REQUEST_TIMEOUT_S)))
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    experiment_id = found.experiment_id if found else client.create_experiment(experiment)
    created = client.create_run(experiment_id, run_name=run.run_name, tags=run.tags)
    run_id = str(created.info.run_id)
    now = int(created.info.start_time or time.time() * 1000)
    metrics = [Metric(key, value, now, step) for key, value, step in run.metric_points()]
    params = [Param(key, value) for key, value in run.param_values().items()]
    for start in range(0, max(len(metrics), len(params), 1), BATCH):
        client.log_batch(
            run_id, metrics=metrics[start : start + BATCH], params=params[start : start + BATCH]
        )
    if run.files:
        _log_files(client, run_id, run.files)
    client.set_terminated(run_id)
    return run_id


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
