"""Strict mode's cost per request, and the emulator's start time against its history.

1. Strict-mode cost: one journalled emulator (`localaws.emulator`'s app, served over
   loopback HTTP from this process) serves the request mix of one pipeline run in rounds,
   strict mode on and off in turn: S3 PUTs of a run's sizes (model-size objects included),
   HEADs, GETs and a listing, a model package create, update, describe and list, an IAM
   GetRole. Prints the median wall time per round each way, their ratio (target <= 1.2),
   and the time spent inside the validator per request.
   With ``--pipeline`` it also times one full local pipeline run (Epochs=1; the model gate
   fails before registration, so both runs do the same work) against each emulator.
2. Start time against history: a strict emulator fills up with 1, 10 and 100 runs of that
   shape (39 journalled changes and about 3 MB a run, each run's bodies distinct), written
   through boto3 as a pipeline would. At each point it prints the time from process start to
   ready after kill -9 (snapshot plus the journal's tail), after a clean stop (snapshot only)
   and without any snapshot (the whole journal replayed, as after a moto, botocore or Python
   upgrade), and the sizes on disk. Each point also adds a 9 MB multipart upload (a dataset
   version). Targets at 100 runs: <= 2 s with a snapshot, <= 30 s without.

The run shape comes from a local run of the pipeline (Epochs=1): 37 S3 PUTs from 2 bytes to
1.3 MB (prepared splits 1.3 MB + 2 x 165 KB, the checkpoint 431 KB, the ONNX model 71 KB, step
code bundles, reports), one CreateModelPackage and one UpdateModelPackage.

Prints figures, asserts nothing. Run: ``uv run python bench/emulator_strict.py [--pipeline]``.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from localaws import snapshot
from localaws.background import free_port
from mlops_settings import Settings
from playground import stack

# Sizes (bytes) of the S3 objects one pipeline run writes, from a real local run.
RUN_OBJECT_SIZES = [
    26650, 6661, 679, 11763, 4304, 2446, 5553, 225, 2, 8933, 264, 17363, 19877, 11573, 653,
    269, 1498, 662, 6767, 10379, 354, 663, 11071, 15959, 4168, 9674, 3612, 5820, 14321,
    1321888, 164805, 165343, 23175, 431078, 33272, 29236, 71394,
]  # fmt: skip
ROUNDS = 8
HISTORY_POINTS = (1, 10, 100)
START_TIMEOUT_S = 600.0


def client(url: str, service: str) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - the emulator's dummy
        config=Config(retries={"max_attempts": 1}, read_timeout=120),
    )


def settings_for(state: Path, strict: bool) -> Settings:
    os.environ.update(
        {
            "PLAYGROUND_EMULATOR_PORT": str(free_port()),
            "PLAYGROUND_STATE_DIR": str(state),
            "PLAYGROUND_EMULATOR_STRICT": "true" if strict else "false",
        }
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    return Settings()


def package_request(settings: Settings, run: int) -> dict[str, Any]:
    return {
        "ModelPackageGroupName": settings.model_package_group,
        "ModelApprovalStatus": "PendingManualApproval",
        "CustomerMetadataProperties": {
            "sha256": f"{run:064x}",
            "size_bytes": "71394",
            "input_shape": "N 1 28 28",
            "pipeline_execution_id": f"run-{run}",
        },
        "InferenceSpecification": {
            "Containers": [
                {"Image": "img", "ModelDataUrl": f"s3://{settings.model_bucket}/{run}/model.tar.gz"}
            ],
            "SupportedContentTypes": ["application/octet-stream"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    }


def one_run(settings: Settings, run: int, reads: bool) -> None:
    """The journalled changes of one pipeline run (39), plus its reads when ``reads``."""
    url = settings.emulator_url
    s3, sagemaker = client(url, "s3"), client(url, "sagemaker")
    stamp = f"{run:08d}".encode()
    for index, size in enumerate(RUN_OBJECT_SIZES):
        body = (stamp * (size // len(stamp) + 1))[:size] if size >= 8 else os.urandom(size)
        key = f"pipelines/mnist/executions/{run}/step-{index:02d}.bin"
        s3.put_object(Bucket=settings.data_bucket, Key=key, Body=body)
        if reads:
            s3.head_object(Bucket=settings.data_bucket, Key=key)
            s3.get_object(Bucket=settings.data_bucket, Key=key)["Body"].read()
    arn = sagemaker.create_model_package(**package_request(settings, run))["ModelPackageArn"]
    sagemaker.update_model_package(
        ModelPackageArn=arn,
        ModelApprovalStatus="Rejected",
        ApprovalDescription=f"run {run}: gate failed (accuracy 0.96, needs 0.985)",
    )
    if reads:
        s3.list_objects_v2(Bucket=settings.data_bucket, Prefix=f"pipelines/mnist/executions/{run}/")
        sagemaker.describe_model_package(ModelPackageName=arn)
        sagemaker.list_model_packages(ModelPackageGroupName=settings.model_package_group)
        try:
            client(url, "iam").get_role(RoleName=settings.sagemaker_role_name)
        except client(url, "iam").exceptions.NoSuchEntityException:
            pass


def start_time(settings: Settings) -> float:
    started = time.monotonic()
    stack.emulator_service(settings).start(START_TIMEOUT_S)
    return time.monotonic() - started


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][:1]
    except (OSError, IndexError):
        return "Z"


def size_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 1e6
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6
    return 0.0


def bench_cost(root: Path) -> None:
    """One journalled emulator in this process, strict mode switched on and off by round.

    The same server for both halves keeps the machine's noise (other processes on shared
    cores) out of the ratio as far as it can; the time spent inside the validator itself is
    measured too, which noise cannot inflate much.
    """
    import logging
    import threading

    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    from localaws.emulator import build_app

    print("== strict-mode cost per request (one pipeline run's request mix, over HTTP)")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = build_app(root / "cost", strict=True)
    app.replay()
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings_for(root / "cost-settings", True)  # state folder and strict setting
    os.environ["PLAYGROUND_EMULATOR_PORT"] = str(port)
    settings = Settings()
    stack.bootstrap(settings)
    spent = [0.0, 0]
    check = app.strict.check

    def timed_check(request: Any) -> Any:
        started = time.perf_counter()
        try:
            return check(request)
        finally:
            spent[0] += time.perf_counter() - started
            spent[1] += 1

    app.strict.check = timed_check  # type: ignore[method-assign]
    one_run(settings, 10_000, reads=True)  # warm-up: models loaded, patterns compiled
    spent[:] = [0.0, 0]
    times: dict[bool, list[float]] = {False: [], True: []}
    requests_per_round = len(RUN_OBJECT_SIZES) * 3 + 2 + 4
    try:
        for round_number in range(ROUNDS * 2):
            strict = round_number % 2 == 1
            app.strict.enabled = strict
            started = time.perf_counter()
            one_run(settings, round_number, reads=True)
            times[strict].append(time.perf_counter() - started)
    finally:
        server.shutdown()
    off, on = statistics.median(times[False]), statistics.median(times[True])
    per_check = spent[0] / max(spent[1], 1) * 1000
    print(f"  requests per round: {requests_per_round}, rounds: {ROUNDS} each way")
    print(f"  strict off: median {off * 1000:.0f} ms per round")
    print(f"  strict on:  median {on * 1000:.0f} ms per round")
    print(f"  ratio on/off: {on / off:.3f} (target <= 1.2)")
    print(
        f"  inside the validator: {per_check:.2f} ms per request, "
        f"{per_check * requests_per_round / (off * 1000):.1%} of a strict-off round"
    )


def bench_pipeline(root: Path) -> None:
    print("== full local pipeline run (Epochs=1), strict off vs on")
    results = {}
    for strict in (False, True):
        settings = settings_for(root / f"pipeline-{strict}", strict)
        env = {**os.environ, **settings.aws_environment()}
        stack.start(settings)
        try:
            subprocess.run(["playground", "data", "seed"], env=env, check=True, capture_output=True)
            started = time.perf_counter()
            subprocess.run(
                ["playground", "pipeline", "run", "--param", "Epochs=1"],
                env=env,
                capture_output=True,
                check=False,
            )
            results[strict] = time.perf_counter() - started
            refused = stack.status(settings).violations
        finally:
            stack.stop(settings)
        print(f"  strict {'on ' if strict else 'off'}: {results[strict]:.1f} s ({refused} refused)")
    print(f"  ratio on/off: {results[True] / results[False]:.3f} (target <= 1.2)")


def bench_history(root: Path) -> None:
    print("== emulator start time against history (strict on)")
    settings = settings_for(root / "history", True)
    stack.start(settings)
    paths = stack.StackPaths.of(settings)
    service = stack.emulator_service(settings)
    written = 0
    header = "runs  after kill -9  after stop  no snapshot  journal MB  blobs MB  snapshot MB"
    print("  " + header)
    try:
        for point in HISTORY_POINTS:
            generating = time.monotonic()
            while written < point:
                one_run(settings, written, reads=False)
                written += 1
            # A new dataset version at each point: 9 MB through boto3's managed transfer,
            # a multipart upload (random UploadIds that every replay must give back).
            client(settings.emulator_url, "s3").upload_fileobj(
                io.BytesIO(f"{point:08d}".encode() * (9 * 1024 * 1024 // 8)),
                settings.data_bucket,
                f"raw/mnist/{point}/train-images-idx3-ubyte.gz",
            )
            generated = time.monotonic() - generating
            pid = service.read_pid()
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
                while os.path.exists(f"/proc/{pid}") and _state(pid) != "Z":
                    time.sleep(0.02)
            after_kill = start_time(settings)  # the pid file is stale: start waits for the port
            service.stop()  # SIGTERM: a snapshot of everything
            after_stop = start_time(settings)
            service.stop()
            kept = paths.root / "snapshot.kept"
            shutil.copy(paths.root / snapshot.SNAPSHOT_NAME, kept)
            (paths.root / snapshot.SNAPSHOT_NAME).unlink()
            no_snapshot = start_time(settings)
            service.stop()
            os.replace(kept, paths.root / snapshot.SNAPSHOT_NAME)
            print(
                f"  {point:>4}  {after_kill:>11.2f} s  {after_stop:>8.2f} s  {no_snapshot:>9.2f} s"
                f"  {size_mb(paths.journal):>10.2f}  {size_mb(paths.root / 'blobs'):>8.1f}"
                f"  {size_mb(paths.root / snapshot.SNAPSHOT_NAME):>11.2f}"
                f"   (history written in {generated:.0f} s)"
            )
            start_time(settings)
    finally:
        stack.stop(settings)
    print("  target at 100 runs: <= 2 s with a snapshot (kill -9, stop), <= 30 s without")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pipeline", action="store_true", help="also time a full pipeline run")
    parser.add_argument("--skip-history", action="store_true")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="emulator-bench-"))
    try:
        bench_cost(root)
        if args.pipeline:
            bench_pipeline(root)
        if not args.skip_history:
            bench_history(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
