"""Long-running local services (emulator, API gateway, site) as background processes.

Each service has a folder with a pid file and a log file; it is "ready" when an HTTP GET on
its health URL answers 200 (and, when the body is JSON with a ``ready`` field, that is true).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import requests


class ServiceError(RuntimeError):
    """A service cannot be started or reached; the message says why and what to do."""


def port_in_use(host: str, port: int) -> bool:
    """Whether something accepts TCP connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def pid_alive(pid: int, marker: bytes) -> bool:
    """Whether ``pid`` is still our process (its command line holds ``marker``)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path(f"/proc/{pid}")
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = (proc / "cmdline").read_bytes()
    except (FileNotFoundError, IndexError):
        return True  # no /proc (not Linux): trust the signal check
    if state in ("Z", "X"):
        return False  # exited, waiting to be reaped
    # An empty command line means the process is exiting (its port may still be open); any
    # other command line belongs to a recycled pid, so our process is gone.
    return not cmdline or marker in cmdline


class ServiceGoneError(ServiceError):
    """The process a ``start`` found, not ready yet, exited while it waited."""


@dataclass(frozen=True)
class ServiceState:
    """What a status check found."""

    running: bool
    ready: bool
    pid: int | None
    health: dict[str, object] | None


@dataclass(frozen=True)
class BackgroundService:
    """One named service: how to start it, where it listens, where its files are."""

    name: str
    folder: Path
    command: Sequence[str]
    host: str
    port: int
    health_path: str = "/"
    marker: bytes = b"playground"
    port_variable: str = ""

    @property
    def url(self) -> str:
        """Base URL of the service."""
        return f"http://{self.host}:{self.port}"

    @property
    def pid_file(self) -> Path:
        """The pid file."""
        return self.folder / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        """The service's log."""
        return self.folder / f"{self.name}.log"

    def read_pid(self) -> int | None:
        """The recorded pid, if any."""
        try:
            return int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def health(self, timeout: float = 2.0) -> dict[str, object] | None:
        """The health answer (a dict; empty when the body is not JSON), or None."""
        try:
            response = requests.get(f"{self.url}{self.health_path}", timeout=timeout)
        except requests.RequestException:
            return None
        if response.status_code != 200:
            return None
        try:
            body = response.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    def state(self) -> ServiceState:
        """Whether it runs and answers."""
        pid = self.read_pid()
        running = pid is not None and pid_alive(pid, self.marker)
        health = self.health() if running else None
        ready = health is not None and health.get("ready", True) is True
        return ServiceState(running, ready, pid if running else None, health)

    def log_tail(self, lines: int = 15) -> str:
        """The last lines of the log, for error messages."""
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def start(
        self, timeout: float, env: dict[str, str] | None = None, wait: bool = True
    ) -> ServiceState:
        """Start in the background unless already running; wait until ready.

        With ``wait=False`` it returns once the process is launched (a later ``start`` waits
        for it), so a slow service can start while other work goes on.
        """
        current = self.state()
        if current.running:
            if wait and not current.ready:
                try:
                    self.wait_ready(current.pid, timeout)
                except ServiceGoneError:
                    # Killed a moment ago, its exit still under way when we looked: start anew.
                    return self.start(timeout, env, wait)
            return self.state()
        stale = self.pid_file.exists()
        self.pid_file.unlink(missing_ok=True)
        # A process killed a moment ago may still hold its port while its threads exit.
        grace = time.monotonic() + (5.0 if stale else 0.0)
        while port_in_use(self.host, self.port):
            if time.monotonic() < grace:
                time.sleep(0.1)
                continue
            hint = (
                f", or choose another port with {self.port_variable}" if self.port_variable else ""
            )
            raise ServiceError(
                f"port {self.port} on {self.host} is already in use by another program "
                f"(needed by the {self.name}); stop it{hint}"
            )
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(
                list(self.command),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # keeps running after the CLI exits
                env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"},
            )
        self.pid_file.write_text(f"{process.pid}\n")
        if wait:
            self.wait_ready(process.pid, timeout, process)
        return self.state()

    def wait_ready(
        self, pid: int | None, timeout: float, process: subprocess.Popen[bytes] | None = None
    ) -> None:
        """Poll the health URL until ready; raise with the log's tail if it dies or stalls."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                raise ServiceError(
                    f"the {self.name} exited with code {process.returncode}; its log "
                    f"({self.log_file}) ends with:\n{self.log_tail()}"
                )
            health = self.health(timeout=1.0)
            if health is not None and health.get("ready", True) is True:
                return
            if process is None and pid is not None and not pid_alive(pid, self.marker):
                raise ServiceGoneError(f"the {self.name} (pid {pid}) exited before it was ready")
            time.sleep(0.1)
        raise ServiceError(
            f"the {self.name} (pid {pid}) did not become ready within {timeout:.0f} s; "
            f"see {self.log_file}:\n{self.log_tail()}"
        )

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop it (SIGTERM, then SIGKILL); returns whether it was running."""
        pid = self.read_pid()
        if pid is None or not pid_alive(pid, self.marker):
            self.pid_file.unlink(missing_ok=True)
            return False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and pid_alive(pid, self.marker):
            time.sleep(0.05)
        if pid_alive(pid, self.marker):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        while time.monotonic() < deadline + 5 and port_in_use(self.host, self.port):
            time.sleep(0.05)  # its last threads are still closing the socket
        self.pid_file.unlink(missing_ok=True)
        return True
