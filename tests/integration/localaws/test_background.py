"""Background services: a start that finds the last process still exiting starts a new one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from localaws.background import BackgroundService, free_port

MARKER = b"background-test-marker"


def test_a_start_that_finds_a_killed_process_still_exiting_starts_a_new_one(
    tmp_path: Path,
) -> None:
    served = tmp_path / MARKER.decode()
    served.mkdir()
    port = free_port()
    service = BackgroundService(
        name="web",
        folder=tmp_path / "state",
        command=[
            sys.executable,
            "-m",
            "http.server",
            str(port),
            "--bind",
            "127.0.0.1",
            "--directory",
            str(served),
        ],
        host="127.0.0.1",
        port=port,
        marker=MARKER,
    )
    service.folder.mkdir()
    # The last process: ours by its command line, never answering, gone a moment later (as a
    # process killed with SIGKILL is while its exit is under way).
    dying = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(1.5)", MARKER.decode()]
    )
    service.pid_file.write_text(f"{dying.pid}\n")
    try:
        state = service.start(timeout=60)
        assert state.ready
        assert state.pid is not None
        assert state.pid != dying.pid
    finally:
        dying.kill()
        dying.wait()
        service.stop()
