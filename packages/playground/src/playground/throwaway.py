"""A throwaway local stack for tests and benchmarks: started on free ports, gone afterwards.

The same pieces `make up` runs, nothing else: the project's journalled emulator
(``python -m localaws.emulator``, see `localaws.emulator`) with a temporary state folder,
bootstrapped like `make up` (buckets, model bucket CORS, model package group), and on request
the get_models API gateway and the built site as the same background services. Every process
listens on a free loopback port, so several stacks (and a developer's `make up`) can run side by
side.

    with throwaway_stack() as local:
        os.environ.update(local.environment)   # or monkeypatch.setenv for each item
        boto3.client("s3").list_buckets()      # reaches the throwaway emulator

Between tests, `ThrowawayStack.reset` empties the emulator (moto's reset, which the journal
follows by clearing itself) and bootstraps it again, in about 0.1 s instead of a restart.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import requests

from localaws.background import BackgroundService, free_port
from mlops_settings import Settings
from playground import stack
from playground.stack import EMULATOR_HOOKS

START_TIMEOUT_S = 120.0
RESET_PATH = "/moto-api/reset"


def foreign_variables(environ: Mapping[str, str]) -> list[str]:
    """Names in ``environ`` that would send AWS clients elsewhere: profiles, endpoint overrides.

    A throwaway stack's environment must win over a developer's shell (``AWS_PROFILE`` or
    ``AWS_ENDPOINT_URL_S3`` pointing at a real account or another emulator).
    """
    return [k for k in environ if k.startswith("AWS_PROFILE") or "ENDPOINT_URL" in k]


@dataclass
class ThrowawayStack:
    """A running throwaway stack: its settings, environment and services."""

    settings: Settings
    emulator: BackgroundService
    services: list[BackgroundService] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The emulator's base URL, e.g. ``http://127.0.0.1:41234``."""
        return self.emulator.url

    @property
    def environment(self) -> dict[str, str]:
        """Variables that make `Settings()` and boto3 in any process use this stack.

        ``PLAYGROUND_*`` (target, ports, state folder) plus ``AWS_ENDPOINT_URL``, the
        region and the emulator's dummy credentials. Remove `foreign_variables` first.
        """
        settings = self.settings
        return {
            "PLAYGROUND_TARGET": "local",
            "PLAYGROUND_EMULATOR_PORT": str(settings.emulator_port),
            "PLAYGROUND_API_PORT": str(settings.api_port),
            "PLAYGROUND_SITE_PORT": str(settings.site_port),
            "PLAYGROUND_STATE_DIR": str(settings.state_dir),
            **settings.aws_environment(),
        }

    def activate(self, environ: os._Environ[str] | dict[str, str] | None = None) -> None:
        """Point ``environ`` (default: this process's) at the stack; for scripts and benches.

        Tests use ``monkeypatch`` with `environment` and `foreign_variables` instead, so the
        change is undone after each test.
        """
        target = os.environ if environ is None else environ
        for key in foreign_variables(target):
            del target[key]
        target.update(self.environment)

    def reset(self) -> None:
        """Empty the emulator (and its journal), then create the bootstrap resources again."""
        requests.post(f"{self.url}{RESET_PATH}", timeout=30).raise_for_status()
        stack.bootstrap(self.settings, empty=True)

    def start_api(self) -> str:
        """Start the API gateway (`playground serve api`) on this stack; returns its URL."""
        from playground.services import api_service

        return self._start(api_service(self.settings))

    def start_site(self) -> str:
        """Start the built site (`playground site serve`) pointed at the API; returns its URL.

        Raises:
            ServiceError: the site is not built (`make web-build`), with the log's tail.
        """
        from playground.services import site_service

        return self._start(site_service(self.settings))

    def _start(self, service: BackgroundService) -> str:
        self.services.append(service)
        service.start(START_TIMEOUT_S, env=self._service_environment())
        return service.url

    def _service_environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in foreign_variables(os.environ)}
        return {**env, **self.environment}

    def stop_services(self) -> None:
        """Stop the API and the site (the emulator keeps running)."""
        while self.services:
            self.services.pop().stop()

    def stop(self) -> None:
        """Stop every service, the emulator last."""
        self.stop_services()
        self.emulator.stop()


@contextlib.contextmanager
def throwaway_stack(
    *, api: bool = False, site: bool = False, state_dir: Path | None = None
) -> Iterator[ThrowawayStack]:
    """Start the emulator (and the API, the site) on free ports; stop and delete on exit.

    Args:
        api: also start the API gateway.
        site: also start the site (implies nothing about the API; start both for the app).
        state_dir: where the emulator's journal, pids and logs go (kept afterwards); by
            default a temporary folder that is deleted on exit.

    Raises:
        ServiceError: a service did not become ready within 120 s; the message ends with
            its log.
    """
    owned = state_dir is None
    root = (
        Path(tempfile.mkdtemp(prefix="playground-throwaway-")) if state_dir is None else state_dir
    )
    settings = Settings(
        target="local",
        emulator_port=free_port(),
        api_port=free_port(),
        site_port=free_port(),
        state_dir=root,
    )
    settings = settings.model_copy(update={"endpoint_url": settings.emulator_url})
    local = ThrowawayStack(settings, stack.emulator_service(settings))
    try:
        local.emulator.start(
            START_TIMEOUT_S, env={**local._service_environment(), **EMULATOR_HOOKS}
        )
        stack.bootstrap(settings)
        if api:
            local.start_api()
        if site:
            local.start_site()
        yield local
    finally:
        local.stop()
        if owned:
            shutil.rmtree(root, ignore_errors=True)
