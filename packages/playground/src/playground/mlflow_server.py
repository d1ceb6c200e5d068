"""The local MLflow tracking server `make up` starts, in one process.

``python -m playground.mlflow_server --host H --port P --backend-store-uri URI
--artifacts-destination S3_URI`` serves what ``mlflow server --serve-artifacts --workers 1``
serves (MLflow's own FastAPI app under uvicorn, runs in the backend store, artifacts proxied to
the destination), but starts in about half the time: ``mlflow server`` imports MLflow in its
command-line process, creates the stores there, then starts uvicorn in a second process that
imports MLflow again, and by default starts a third, the job runner for MLflow's GenAI jobs
(none of which the pipeline uses). Here one process imports MLflow once, creates or upgrades
the database (``initialize_backend_stores``, MLflow's own step: it creates the tables on an
empty database and runs pending migrations on an older one), then serves, so /health answers
only once the stores are usable.

The server's settings reach MLflow's app the way ``mlflow server`` passes them to its worker:
the ``_MLFLOW_SERVER_*`` environment variables named in ``mlflow.server.constants``. Those are
MLflow's internal interface (pinned by uv.lock); tests/integration/playground/commands/test_up.py
logs a run with artifacts through this server, so a change there fails a test.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

# ``mlflow server --serve-artifacts`` gives runs this artifact root: the server's own proxy.
PROXIED_ARTIFACTS = "mlflow-artifacts:/"
# MLflow's documented opt-out of usage data (mlflow.environment_variables:
# MLFLOW_DISABLE_TELEMETRY, read by mlflow.telemetry.utils.is_telemetry_disabled, which also
# answers the UI's /ui-telemetry question): the playground promises to work offline.
TELEMETRY_OFF = {"MLFLOW_DISABLE_TELEMETRY": "true"}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The server's address, its backend store and where proxied artifacts go."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--backend-store-uri", required=True, help="e.g. sqlite:///mlflow.db")
    parser.add_argument("--artifacts-destination", required=True, help="e.g. s3://bucket/mlflow")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Create or upgrade the stores, then serve until SIGTERM (uvicorn's shutdown)."""
    args = parse_args(argv)
    # uvicorn first: importing mlflow.server checks for it to set up its security middleware
    # (allowed hosts, CORS), as in the worker `mlflow server` starts.
    import uvicorn
    from mlflow.server import constants

    os.environ.update(
        {
            constants.BACKEND_STORE_URI_ENV_VAR: args.backend_store_uri,
            constants.REGISTRY_STORE_URI_ENV_VAR: args.backend_store_uri,
            constants.ARTIFACT_ROOT_ENV_VAR: PROXIED_ARTIFACTS,
            constants.SERVE_ARTIFACTS_ENV_VAR: "true",
            constants.ARTIFACTS_DESTINATION_ENV_VAR: args.artifacts_destination,
            # No job runner process: it serves MLflow's GenAI jobs, which the pipeline never uses.
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
            **TELEMETRY_OFF,
        }
    )
    from mlflow.server.handlers import initialize_backend_stores

    initialize_backend_stores(args.backend_store_uri, args.backend_store_uri, PROXIED_ARTIFACTS)
    from mlflow.server.fastapi_app import app  # reads the variables above

    uvicorn.run(app, host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
