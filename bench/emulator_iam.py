"""IAM enforcement's cost per request: one pipeline run's request mix, signed as the job role.

One journalled emulator (`localaws.emulator`'s app, served over loopback HTTP from this
process) with the roles `make up` creates serves the S3 and SageMaker requests of one pipeline
run in rounds, enforcement on and off in turn, every request signed with a session of the
pipeline jobs' role (so each one is decided against the role's rendered policy and, for S3,
the bucket's policy). Prints the median wall time per round each way, their ratio (target
<= 1.1, issue 22), the time spent inside the permission layer per request and that time as a
share of a request (the figure the machine's load moves least).

Prints figures, asserts nothing. Run: ``uv run python bench/emulator_iam.py``.
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import boto3

sys.path.insert(0, str(Path(__file__).parent))
from emulator_strict import RUN_OBJECT_SIZES

from localaws.background import free_port
from localaws.credentials import assume_role_as_service
from localaws.emulator import build_app
from mlops_settings import Settings
from playground import roles, stack

ROUNDS = 8


def one_run(settings: Settings, s3: Any, sagemaker: Any, run: int) -> int:
    """The job role's requests of one pipeline run; returns how many it sent."""
    prefix = f"pipelines/{settings.pipeline_name}/executions/{run}"
    sent = 0
    for index, size in enumerate(RUN_OBJECT_SIZES):
        key = f"{prefix}/step-{index:02d}.bin"
        s3.put_object(Bucket=settings.data_bucket, Key=key, Body=os.urandom(min(size, 64)) * 1)
        s3.head_object(Bucket=settings.data_bucket, Key=key)
        s3.get_object(Bucket=settings.data_bucket, Key=key)["Body"].read()
        sent += 3
    s3.list_objects_v2(Bucket=settings.data_bucket, Prefix=f"{prefix}/")
    sagemaker.list_model_packages(ModelPackageGroupName=settings.model_package_group)
    sagemaker.describe_model_package_group(ModelPackageGroupName=settings.model_package_group)
    return sent + 3


def main() -> None:
    """Alternate enforcement on and off by round; print the medians and the ratio."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    root = Path(tempfile.mkdtemp(prefix="bench-iam-"))
    app = build_app(root / "emulator", strict=True, iam=False)
    app.replay()
    port = free_port()
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ.update({"PLAYGROUND_EMULATOR_PORT": str(port), "PLAYGROUND_STATE_DIR": str(root)})
    os.environ.pop("AWS_ENDPOINT_URL", None)
    settings = Settings()
    url = settings.emulator_url
    stack.bootstrap(settings)
    admin = boto3.client(
        "iam",
        region_name=settings.region,
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106
    )
    roles.install(settings, admin)
    session = assume_role_as_service(
        url,
        settings.region,
        f"arn:aws:iam::{roles.LOCAL_ACCOUNT}:role/{settings.sagemaker_role_name}",
        "sagemaker.amazonaws.com",
        "bench",
    )
    s3 = session.client("s3", settings.region, url)
    sagemaker = session.client("sagemaker", settings.region, url)
    spent = [0.0, 0]
    check = app.permission.check

    def timed_check(request: Any, region: str) -> Any:
        started = time.perf_counter()
        try:
            return check(request, region)
        finally:
            spent[0] += time.perf_counter() - started
            spent[1] += 1

    app.permission.check = timed_check  # type: ignore[method-assign]
    app.permission.enabled = True
    one_run(settings, s3, sagemaker, 10_000)  # warm-up: reference data and models loaded
    spent[:] = [0.0, 0]
    times: dict[bool, list[float]] = {False: [], True: []}
    per_round = 0
    try:
        for round_number in range(ROUNDS * 2):
            enforced = round_number % 2 == 1
            app.permission.enabled = enforced
            started = time.perf_counter()
            per_round = one_run(settings, s3, sagemaker, round_number)
            times[enforced].append(time.perf_counter() - started)
    finally:
        server.shutdown()
    off, on = statistics.median(times[False]), statistics.median(times[True])
    per_check = spent[0] / max(spent[1], 1) * 1000
    print("== IAM enforcement cost per request (a pipeline run's job-role requests, over HTTP)")
    print(f"  requests per round: {per_round}, rounds: {ROUNDS} each way")
    print(f"  enforcement off: median {off * 1000:.0f} ms per round")
    print(f"  enforcement on:  median {on * 1000:.0f} ms per round")
    print(f"  ratio on/off: {on / off:.3f} (target <= 1.1)")
    print(f"  inside the permission layer: {per_check:.2f} ms per request")
    # The round ratio moves with the machine's load (other processes take the cores between
    # rounds); the layer's own time against a request's time with enforcement off moves far less.
    per_request_off = off / max(per_round, 1) * 1000
    print(
        f"  the layer's own time as a share of a request: {per_check / per_request_off:.1%}"
        f" of {per_request_off:.1f} ms, a ratio of {1 + per_check / per_request_off:.3f}"
    )
    print(f"  denials: {app.permission.denials}")


if __name__ == "__main__":
    main()
