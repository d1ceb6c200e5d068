"""What SageMaker Pipelines and EventBridge would do, done by the emulator: run executions.

moto records a pipeline execution but runs no step, and routes S3 events to SQS, logs and event
buses but not to SageMaker pipelines. This module is the missing hop, as WSGI middleware around
the journalled emulator (one line in `emulator.main`):

- ``StartPipelineExecution`` is answered by moto (and journalled), then the execution is handed
  to the local runner in a background process (``python -m localaws.pipeline_worker``), so
  the emulator stays responsive. A repeated ``ClientRequestToken`` returns the first
  execution's ARN and starts nothing (SageMaker's idempotency).
- An S3 ``Object Created`` event that matches an enabled EventBridge rule whose target is a
  pipeline starts an execution with the target's ``SageMakerPipelineParameters``, passed as
  the static values they are (as in AWS: only EventBridge Pipes read JSON paths from the event
  into target parameters). Its token comes from
  the rule, the target and the object (bucket, key, ETag, version id), so a repeated delivery of
  the same event starts nothing new.
- A rule with a schedule expression (``rate(...)``/``cron(...)``, UTC) fires at its times.
- ``DescribePipelineExecution`` and ``ListPipelineExecutions`` report the runner's status,
  ``ListPipelineExecutionSteps`` (not in moto) the steps, from records the worker keeps under
  ``<state dir>/emulator/pipeline-executions/`` (with its log).

Nothing here runs while the journal replays: replayed requests never reach the middleware, and
events moto raises during the replay are dropped (the executions they started are on record).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import logging
import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from cronsim import CronSim, CronSimError

from localaws.credentials import assume_role_as_service
from localaws.execution import ExecutionRecord, Status, now
from localaws.wsgi import call_app, read_body

log = logging.getLogger("localaws.emulator.pipelines")

EXECUTIONS_FOLDER = "pipeline-executions"
TOKENS_FILE = "tokens.json"
_PIPELINE_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:([a-z0-9-]+):(\d{12}):pipeline/([\w-]+)$")
_TARGET_PREFIX = "SageMaker."
EXECUTING, SUCCEEDED, FAILED = Status.EXECUTING, Status.SUCCEEDED, Status.FAILED

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def _now() -> str:
    return now()


def write_json(path: Path, value: Any) -> None:
    """Replace a JSON file atomically (readers never see half of it)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.write_text(json.dumps(value, indent=1, default=str))
    temporary.replace(path)


def execution_id(arn: str) -> str:
    """`arn:...:pipeline/<name>/execution/<id>` -> `<id>`."""
    return arn.rsplit("/", 1)[-1]


class ExecutionBook:
    """Records of the executions this emulator started, one JSON file each, plus tokens."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()

    def path(self, arn: str) -> Path:
        """The record file of an execution."""
        return self.folder / f"{execution_id(arn)}.json"

    def tokens(self) -> dict[str, str]:
        """ClientRequestToken -> execution ARN, for every execution started here."""
        path = self.folder / TOKENS_FILE
        return dict(json.loads(path.read_text())) if path.is_file() else {}

    def remember(self, token: str, arn: str) -> None:
        """Keep a token, so a retry with it returns this ARN."""
        tokens = self.tokens()
        tokens[token] = arn
        write_json(self.folder / TOKENS_FILE, tokens)

    def read(self, arn: str) -> ExecutionRecord | None:
        """An execution's record, with a dead worker's execution reported as failed."""
        path = self.path(arn)
        if not path.is_file():
            return None
        record = ExecutionRecord.read(path)
        if record.status == Status.EXECUTING and not _alive(record.pid):
            record.status = Status.FAILED
            record.failure_reason = "the local runner stopped before the execution ended"
        return record


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int):
        return True  # not started yet
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        waited = 0  # not our child (an emulator restart): ask the kernel
    except OSError:
        return False
    if waited == pid:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _read_request_body(environ: dict[str, Any]) -> bytes:

    return read_body(environ)


def _json_response(
    start_response: StartResponse,
    status: str,
    value: Any,
    headers: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    body = json.dumps(value, default=str).encode()
    kept = [(k, v) for k, v in headers or [] if k.lower() not in ("content-length", "content-type")]
    start_response(
        status,
        [*kept, ("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(body)))],
    )
    return [body]


def _epoch(text: str | None) -> float | None:
    return dt.datetime.fromisoformat(text).timestamp() if text else None


class PipelineMiddleware:
    """WSGI middleware: runs the executions moto only records; delivers pipeline targets."""

    def __init__(
        self,
        app: Any,
        url: str,
        runner_state_dir: Path,
        records_dir: Path,
        spawn: bool = True,
        tick_seconds: float = 1.0,
    ) -> None:
        """Wrap ``app`` (the journalled emulator) served at ``url``.

        Args:
            app: the JournalledApp; its ``ready`` is False while the journal replays.
            url: this emulator's own URL, for the worker and for deliveries (real HTTP).
            runner_state_dir: the settings' state folder, where the runner keeps runs and cache.
            records_dir: where execution records and tokens live: next to the journal, so a
                reset of the emulator forgets them with the executions they describe.
            spawn: start workers (tests of the bookkeeping alone may turn it off).
            tick_seconds: how often the scheduler looks at schedule rules.
        """
        self.app = app
        self.url = url
        self.runner_state_dir = Path(runner_state_dir)
        self.book = ExecutionBook(Path(records_dir))
        self.spawn = spawn
        self.tick_seconds = tick_seconds
        self.deliveries: queue.Queue[dict[str, Any]] = queue.Queue()
        self._start_lock = threading.Lock()
        self._schedule_state: dict[str, float] = {}
        self._workers: list[subprocess.Popen[bytes]] = []
        _install_event_hook(self)
        threading.Thread(target=self._deliver_forever, name="pipeline-targets", daemon=True).start()
        threading.Thread(target=self._schedule_forever, name="schedules", daemon=True).start()

    # WSGI ---------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Pass everything to the emulator; act on the SageMaker Pipelines calls."""
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        action = target.removeprefix(_TARGET_PREFIX) if target.startswith(_TARGET_PREFIX) else ""
        if str(environ.get("PATH_INFO", "")).rstrip("/") == "/moto-api/reset":
            with self._start_lock:
                answer = self._call_inner(environ)
                for path in self.book.folder.glob("*"):
                    path.unlink()
            start_response(answer[0], answer[1])
            return [answer[2]]
        if not action or not getattr(self.app, "ready", True):
            return self.app(environ, start_response)
        if action == "StartPipelineExecution":
            return self._start_execution(environ, start_response)
        if action in ("DescribePipelineExecution", "ListPipelineExecutions"):
            return self._rewrite(action, environ, start_response)
        if action == "ListPipelineExecutionSteps":
            return self._list_steps(environ, start_response)
        return self.app(environ, start_response)

    def _call_inner(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:

        return call_app(self.app, environ)

    def _start_execution(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        request_body = _read_request_body(environ)
        try:
            request = json.loads(request_body or b"{}")
        except json.JSONDecodeError:
            return self.app(environ, start_response)
        token = str(request.get("ClientRequestToken") or "")
        with self._start_lock:
            known = self.book.tokens().get(token) if token else None
            if known:
                # SageMaker: the same token is the same execution, never a second one.
                return _json_response(start_response, "200 OK", {"PipelineExecutionArn": known})
            environ["wsgi.input"] = io.BytesIO(request_body)
            status, headers, body = self._call_inner(environ)
            if not status.startswith("200"):
                start_response(status, headers)
                return [body]
            arn = str(json.loads(body)["PipelineExecutionArn"])
            record = ExecutionRecord(
                execution_arn=arn,
                execution_id=execution_id(arn),
                pipeline_name=str(request.get("PipelineName") or ""),
                parameters=list(request.get("PipelineParameters") or []),
                description=str(request.get("PipelineExecutionDescription") or ""),
                display_name=str(request.get("PipelineExecutionDisplayName") or ""),
                client_request_token=token,
                requested_at=_now(),
            )
            record.write(self.book.path(arn))
            if token:
                self.book.remember(token, arn)
        if self.spawn:
            self._launch(arn)
        start_response(status, headers)
        return [body]

    def _launch(self, arn: str) -> None:
        path = self.book.path(arn)
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("AWS_PROFILE", None)
        log_path = path.with_suffix(".log")
        with log_path.open("ab") as out:
            worker = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "localaws.pipeline_worker",
                    "--record",
                    str(path),
                    "--state-dir",
                    str(self.runner_state_dir),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        self._workers.append(worker)
        with self.book.lock:
            record = ExecutionRecord.read(path)
            record.pid = worker.pid
            record.log = str(log_path)
            record.write(path)
        log.info("execution %s: local runner started (pid %d)", execution_id(arn), worker.pid)

    def _rewrite(
        self, action: str, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        request_body = _read_request_body(environ)
        request = json.loads(request_body or b"{}")
        environ["wsgi.input"] = io.BytesIO(request_body)
        # Not while an execution is being started: moto would already list it (as
        # "Succeeded", its only status) before its record says "Executing".
        with self._start_lock:
            status, headers, body = self._call_inner(environ)
        if not status.startswith("200"):
            start_response(status, headers)
            return [body]
        answer = json.loads(body)
        if action == "DescribePipelineExecution":
            self._apply(answer, "FailureReason")
        else:
            summaries = answer.get("PipelineExecutionSummaries", [])
            for summary in summaries:
                self._apply(summary, "PipelineExecutionFailureReason")
            # SageMaker's default order is newest first; moto keeps insertion order.
            summaries.sort(
                key=lambda s: float(s.get("StartTime") or 0),
                reverse=request.get("SortOrder") != "Ascending",
            )
        return _json_response(start_response, status, answer, headers)

    def _apply(self, answer: dict[str, Any], reason_field: str) -> None:
        record = self.book.read(str(answer.get("PipelineExecutionArn", "")))
        if record is None:
            return
        answer["PipelineExecutionStatus"] = str(record.status)
        if record.failure_reason:
            answer[reason_field] = record.failure_reason
        elif reason_field in answer:
            answer[reason_field] = ""
        if record.ended_at and "LastModifiedTime" in answer:
            answer["LastModifiedTime"] = _epoch(record.ended_at)

    def _list_steps(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        request = json.loads(_read_request_body(environ) or b"{}")
        arn = str(request.get("PipelineExecutionArn", ""))
        record = self.book.read(arn)
        if record is None:
            return _json_response(
                start_response,
                "400 Bad Request",
                {"__type": "ResourceNotFound", "message": f"Pipeline execution {arn} not found"},
            )
        steps = []
        for name, step in record.steps.items():
            item: dict[str, Any] = {
                "StepName": name,
                "StepStatus": str(step.status),
                "StartTime": _epoch(step.started_at),
                "AttemptCount": 1,
                "Metadata": {},
            }
            if step.ended_at:
                item["EndTime"] = _epoch(step.ended_at)
            if step.failure:
                item["FailureReason"] = step.failure
            if step.cached:
                item["CacheHitResult"] = {"SourcePipelineExecutionArn": arn}
            steps.append(item)
        ascending = request.get("SortOrder") == "Ascending"
        steps.sort(key=lambda s: s["StartTime"] or 0, reverse=not ascending)
        return _json_response(start_response, "200 OK", {"PipelineExecutionSteps": steps})

    # Deliveries ---------------------------------------------------------------------------

    def deliver(self, rule: Any, event: dict[str, Any]) -> None:
        """Queue a start for each enabled pipeline target of a rule that matched an event."""
        if not getattr(self.app, "ready", True) or getattr(rule, "state", "") != "ENABLED":
            return
        for target in list(getattr(rule, "targets", [])):
            match = _PIPELINE_ARN.match(str(target.get("Arn", "")))
            if match:
                self.deliveries.put(
                    {"rule": rule.name, "rule_arn": rule.arn, "target": target, "event": event}
                )

    def _deliver_forever(self) -> None:
        while True:
            delivery = self.deliveries.get()
            try:
                self._start_for(delivery)
            except Exception:  # a failed delivery must not stop later ones
                log.exception("delivering rule %s to its pipeline failed", delivery.get("rule"))

    def _start_for(self, delivery: dict[str, Any]) -> str:
        import boto3

        target, event = delivery["target"], delivery["event"]
        region, _, pipeline = _PIPELINE_ARN.match(target["Arn"]).groups()  # type: ignore[union-attr]
        parameters = [
            {"Name": p["Name"], "Value": str(p["Value"])}
            for p in (target.get("SageMakerPipelineParameters") or {}).get("PipelineParameterList")
            or []
        ]
        detail = event.get("detail") or {}
        obj = detail.get("object") or {}
        if obj:
            what = f"s3://{(detail.get('bucket') or {}).get('name')}/{obj.get('key')}"
            identity = [what, obj.get("eTag"), obj.get("version-id")]
        else:
            what = f"schedule at {event.get('time')}"
            identity = [event.get("time")]
        token = hashlib.sha256(
            json.dumps([delivery["rule_arn"], target.get("Id"), *identity]).encode()
        ).hexdigest()
        role_arn = target.get("RoleArn")
        if role_arn:
            # EventBridge calls the target as the rule's role: it assumes the role as
            # events.amazonaws.com, under the role's trust policy, for this rule.
            session = assume_role_as_service(
                self.url,
                region,
                role_arn,
                "events.amazonaws.com",
                f"events-{delivery['rule']}"[:64],
                source_arn=delivery["rule_arn"],
            )
            client = session.client("sagemaker", region, self.url)
        else:
            client = boto3.client(
                "sagemaker",
                region_name=region,
                endpoint_url=self.url,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",  # noqa: S106 - the emulator's dummy
            )
        arn = str(
            client.start_pipeline_execution(
                PipelineName=pipeline,
                PipelineParameters=parameters,
                PipelineExecutionDescription=f"EventBridge rule {delivery['rule']}: {what}"[:3072],
                ClientRequestToken=token,
            )["PipelineExecutionArn"]
        )
        log.info("rule %s started %s (%s)", delivery["rule"], arn, what)
        return arn

    # Schedules ----------------------------------------------------------------------------

    def _schedule_forever(self) -> None:
        while True:
            time.sleep(self.tick_seconds)
            if not getattr(self.app, "ready", True):
                continue
            try:
                self.fire_due_schedules(time.time())
            except Exception:  # keep the clock running whatever one rule does
                log.exception("evaluating schedule rules failed")

    def fire_due_schedules(self, now: float) -> int:
        """Deliver every schedule rule due since the last look; returns how many fired."""
        fired = 0
        for rule in _rules():
            expression = getattr(rule, "scheduled_expression", None)
            if not expression or rule.state != "ENABLED":
                continue
            key = f"{rule.arn}|{expression}"
            last = self._schedule_state.setdefault(key, now)
            due = next_fire(expression, last)
            if due is not None and due <= now:
                self._schedule_state[key] = due
                stamp = dt.datetime.fromtimestamp(due, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                event = {
                    "version": "0",
                    "id": hashlib.sha256(f"{rule.arn}{due}".encode()).hexdigest()[:36],
                    "detail-type": "Scheduled Event",
                    "source": "aws.events",
                    "account": rule.account_id,
                    "time": stamp,
                    "region": rule.region_name,
                    "resources": [rule.arn],
                    "detail": {},
                }
                self.deliver(rule, event)
                fired += 1
        return fired


def _rules() -> list[Any]:
    from moto.events.models import events_backends

    found: list[Any] = []
    for _, regions in list(events_backends.items()):
        for _, backend in list(regions.items()):
            for bus in list(backend.event_buses.values()):
                found.extend(bus.rules.values())
    return found


_HOOKED: list[PipelineMiddleware] = []


def _install_event_hook(middleware: PipelineMiddleware) -> None:
    """Have moto's rules hand matched events to ``middleware`` before their own targets."""
    from moto.events.models import Rule

    _HOOKED[:] = [middleware]
    if getattr(Rule.send_to_targets, "_playground", False):
        return
    original: Any = Rule.send_to_targets

    def send_to_targets(self: Any, event: Any, transform_input: bool = True) -> None:
        # A schedule rule has no pattern (which moto reads as "matches all"): never an event.
        if _HOOKED and not self.scheduled_expression and self.event_pattern.matches_event(event):
            _HOOKED[0].deliver(self, event)
        original(self, event, transform_input)

    send_to_targets._playground = True  # type: ignore[attr-defined]
    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign,assignment]


# Schedule expressions -----------------------------------------------------------------------

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_WEEKDAY_NUMBER = re.compile(r"(?<![#/\d])([1-7])(?!\d)")
_LAST_YEAR = 2199  # EventBridge's year field: 1970-2199


def _cronsim_expression(fields: list[str]) -> str:
    """EventBridge's first five cron fields as cronsim reads them.

    EventBridge numbers the days of the week 1-7 = SUN-SAT and writes "no value" as ``?``;
    cron (and cronsim) numbers them 0-6 = SUN-SAT and writes ``*``. Numbers after ``#`` (the
    nth weekday) and ``/`` (a step) are not days and stay as they are.
    """
    minutes, hours, days, months, weekdays = (field.replace("?", "*") for field in fields[:5])
    weekdays = _WEEKDAY_NUMBER.sub(lambda m: str(int(m.group(1)) - 1), weekdays)
    return " ".join((minutes, hours, days, months, weekdays))


def _years(field: str) -> set[int] | None:
    """The years a cron expression's sixth field allows (None: any), e.g. `2027,2030-2032`."""
    if field in ("*", "?"):
        return None
    years: set[int] = set()
    for part in field.split(","):
        span, _, step = part.partition("/")
        first, _, last = span.partition("-")
        start = 1970 if first == "*" else int(first)
        end = int(last) if last else (_LAST_YEAR if step or first == "*" else start)
        years.update(range(start, end + 1, int(step or 1)))
    return years


def next_fire(expression: str, after: float) -> float | None:
    """The first time (epoch seconds, UTC) strictly after ``after`` the expression fires.

    ``rate(N minute(s)|hour(s)|day(s))`` fires every N units counted from ``after``;
    ``cron(minutes hours day-of-month month day-of-week year)`` as EventBridge reads it (UTC,
    day of week 1-7 = SUN-SAT or names, ``L``, ``W`` and ``#`` included; the rules are AWS's
    "Schedule expressions for rules" page), evaluated by cronsim. None when the expression
    is not understood or never fires again.
    """
    rate = _RATE.match(expression.strip())
    if rate:
        unit = rate.group(2).rstrip("s")
        return after + int(rate.group(1)) * _UNIT_SECONDS[unit]
    if not (expression.startswith("cron(") and expression.endswith(")")):
        return None
    fields = expression[5:-1].split()
    if len(fields) != 6:
        return None
    start = dt.datetime.fromtimestamp(after, dt.UTC).replace(second=0, microsecond=0)
    try:
        years = _years(fields[5])
        times = CronSim(_cronsim_expression(fields), start)
        for moment in times:
            if moment.year > _LAST_YEAR or (years is not None and moment.year > max(years)):
                return None
            if moment.timestamp() > after and (years is None or moment.year in years):
                return moment.timestamp()
    except (CronSimError, ValueError):
        return None
    return None


def wrap(app: WsgiApp, host: str, port: int, emulator_state_dir: Path) -> WsgiApp:
    """The emulator application with pipeline executions run locally (see the module text).

    The runner's runs and cache live in the settings' state folder, the parent of the
    emulator's own folder (`stack.StackPaths`); the execution records in the emulator's folder.
    """
    folder = Path(emulator_state_dir)
    return PipelineMiddleware(
        app, f"http://{host}:{port}", folder.parent, folder / EXECUTIONS_FOLDER
    )
