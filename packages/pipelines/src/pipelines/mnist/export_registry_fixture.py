"""Export the registry entry fixture, contracts/fixtures/registry-entry.json.

The entry is what the real register step writes: `code/register.py` runs as its container
would (a subprocess in the code folder, /opt/ml in a temporary folder) on a small trained
model (tests/fixtures/web/model.onnx) against an AWS emulator, and the model package it
created is read back. The Lambda's parser and the `playground models` CLI are tested on this
file, so the writer and the readers cannot drift apart. Run after a change to the writer:

    uv run python -m pipelines.mnist.export_registry_fixture

Without `--endpoint-url` a moto server is started on a free port for the run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from pipelines.mnist.code.idx import NUM_CLASSES
from pipelines.mnist.pipeline import CODE_DIR

REPO = Path(__file__).resolve().parents[5]
MODEL = REPO / "tests/fixtures/web/model.onnx"
DEFAULT_OUTPUT = REPO / "contracts/fixtures/registry-entry.json"
REGION = "us-east-1"
GROUP = "mnist"
BUCKET = "mnist-playground-models"
# Fixed provenance, so that the same writer gives the same bytes.
GIT_COMMIT = "0123456789abcdef0123456789abcdef01234567"
EXECUTION_ID = "fixture0exec"
ACCURACY = 0.9891
DATASET_HASH = hashlib.sha256(b"registry-entry fixture dataset").hexdigest()
# Per-digit figures as evaluation.json holds them (support is not copied to the registry).
PER_CLASS = {
    str(digit): {"precision": 0.98 + digit / 1000, "recall": 0.97 + digit / 500, "support": 100}
    for digit in range(NUM_CLASSES)
}
# The fields the writer sets; the rest (ARN, version, times, status details) are SageMaker's.
WRITTEN_FIELDS = (
    "ModelPackageGroupName",
    "ModelPackageDescription",
    "InferenceSpecification",
    "ModelMetrics",
    "ModelApprovalStatus",
    "CustomerMetadataProperties",
)


def register_inputs(opt_ml: Path, model: bytes) -> None:
    """The register job's inputs under `opt_ml`: model, evaluation report, data manifest."""
    evaluation = {
        "dataset_hash": DATASET_HASH,
        "metrics": {"accuracy": {"value": ACCURACY}, "per_class": PER_CLASS},
        "model": {"sha256": hashlib.sha256(model).hexdigest(), "quantized": False},
        # Three people's corrections among the test images, two classified right.
        "feedback": {"test_count": 3, "test_correct": 2, "test_accuracy": 2 / 3},
    }
    for folder, name, data in (
        ("processing/model", "model.onnx", model),
        ("processing/evaluation", "evaluation.json", json.dumps(evaluation).encode()),
        (
            "processing/manifest",
            "manifest.json",
            json.dumps({"dataset_hash": DATASET_HASH}).encode(),
        ),
    ):
        (opt_ml / folder).mkdir(parents=True, exist_ok=True)
        (opt_ml / folder / name).write_bytes(data)


def _create_target(endpoint_url: str) -> None:
    import boto3

    s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint_url)
    sagemaker = boto3.client("sagemaker", region_name=REGION, endpoint_url=endpoint_url)
    if BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=BUCKET)
    groups = sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"]
    if GROUP not in {g["ModelPackageGroupName"] for g in groups}:
        sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)


def written_entry(endpoint_url: str, model_path: Path = MODEL) -> dict[str, Any]:
    """Run register.py against the emulator at `endpoint_url`; the entry it wrote.

    The emulator must not hold a version of the same model in GROUP already (register.py
    would reuse it).

    Raises:
        RuntimeError: register.py failed (its output is in the message).
    """
    import boto3

    _create_target(endpoint_url)
    with tempfile.TemporaryDirectory() as folder:
        opt_ml = Path(folder) / "opt_ml"
        register_inputs(opt_ml, model_path.read_bytes())
        env = {
            **os.environ,
            "OPT_ML": str(opt_ml),
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
            "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        }
        env.pop("PYTHONPATH", None)
        done = subprocess.run(
            [
                sys.executable,
                "register.py",
                *("--model-package-group", GROUP, "--model-bucket", BUCKET),
                *("--git-commit", GIT_COMMIT, "--pipeline-execution-id", EXECUTION_ID),
                *("--approval-status", "Approved", "--region", REGION),
            ],
            cwd=CODE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"register.py failed:\n{done.stdout}\n{done.stderr}")
        arn = done.stdout.strip().splitlines()[-1]
    sagemaker = boto3.client("sagemaker", region_name=REGION, endpoint_url=endpoint_url)
    package: dict[str, Any] = dict(sagemaker.describe_model_package(ModelPackageName=arn))
    return {field: package[field] for field in WRITTEN_FIELDS if field in package}


def render(entry: dict[str, Any]) -> str:
    """The fixture file's text."""
    return json.dumps(entry, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the fixture; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--endpoint-url", help="an emulator to use (default: start one)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    if args.endpoint_url:
        entry = written_entry(args.endpoint_url)
    else:
        from moto.server import ThreadedMotoServer

        # moto's documented dummy credentials, for a server of our own; not secrets.
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            entry = written_entry(f"http://{host}:{port}")
        finally:
            server.stop()
    args.output.write_text(render(entry))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
