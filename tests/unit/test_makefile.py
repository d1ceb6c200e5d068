"""The Makefile as a new user meets it: missing tools named at once, every target in `make help`.

The prerequisite tests run the real `make test` with a PATH holding only chosen tools (links
to this machine's bash, make, Python, node and npm, and stand-ins for the others), so they pass
the same on a machine that lacks terraform or chromium.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAKEFILES = [ROOT / "Makefile", *sorted((ROOT / "mk").glob("*.mk"))]
TARGET = re.compile(r"^([a-zA-Z0-9_-]+):(?!=)")
# Generous for a loaded machine: the check itself takes well under a second.
WITHIN_S = 20.0


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is needed to run make")
    return found


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """A PATH folder with bash, make, env, this Python (3.11) as python3, and node/npm if any."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in ("bash", "make", "env"):
        (folder / name).symlink_to(_tool(name))
    (folder / "python3").symlink_to(Path(sys.executable).resolve())
    for name in ("node", "npm"):
        found = shutil.which(name)
        if found:
            (folder / name).symlink_to(Path(found).resolve())
    return folder


def _stand_in(folder: Path, name: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)


def _make(bin_dir: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    environment = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "CHROMIUM_PATH",
            "FIREFOX_PATH",
            "WEBKIT_MINIBROWSER",
            "DISPLAY",
            "MAKEFLAGS",
            "MAKELEVEL",
            "MFLAGS",
        )
    }
    environment.update({"PATH": str(bin_dir), **env})
    started = time.monotonic()
    done = subprocess.run(
        [str(bin_dir / "make"), *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done, time.monotonic() - started


def test_make_test_without_terraform_and_chromium_names_both_at_once(bin_dir: Path) -> None:
    if not (bin_dir / "node").exists():
        _stand_in(bin_dir, "node")  # an old or missing node is named, but is not under test
    done, seconds = _make(bin_dir, "test")

    assert done.returncode != 0
    assert seconds < WITHIN_S
    message = done.stderr
    assert "make test cannot run: this machine lacks" in message
    assert "terraform: https://developer.hashicorp.com/terraform/install" in message
    assert "apt-get install chromium" in message
    assert "CHROMIUM_PATH" in message
    assert "devcontainer" in message
    assert "Python 3.11" not in message  # present, so not named
    # It stopped before anything ran: no sync, no npm, no pytest.
    assert done.stdout == ""


# The three browsers' programs: Chromium, Firefox ESR, WebKitGTK's driver and Xvfb's runner.
BROWSERS = ("chromium", "firefox-esr", "WebKitWebDriver", "xvfb-run")


def _minibrowser(tmp_path: Path) -> str:
    """A stand-in MiniBrowser (WebKitGTK's lives outside PATH), for WEBKIT_MINIBROWSER."""
    _stand_in(tmp_path, "MiniBrowser")
    return str(tmp_path / "MiniBrowser")


def test_all_tools_present_lets_make_test_past_the_check(bin_dir: Path, tmp_path: Path) -> None:
    for name in ("terraform", *BROWSERS, "node", "npm"):
        if not (bin_dir / name).exists():
            _stand_in(bin_dir, name)
    done, _ = _make(bin_dir, "prerequisites", WEBKIT_MINIBROWSER=_minibrowser(tmp_path))

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_a_chromium_path_that_is_not_a_program_is_named(bin_dir: Path, tmp_path: Path) -> None:
    for name in ("terraform", *BROWSERS, "node", "npm"):
        if not (bin_dir / name).exists():
            _stand_in(bin_dir, name)
    wrong = tmp_path / "no-such-browser"
    done, _ = _make(
        bin_dir,
        "prerequisites",
        CHROMIUM_PATH=str(wrong),
        WEBKIT_MINIBROWSER=_minibrowser(tmp_path),
    )

    assert done.returncode != 0
    assert f"CHROMIUM_PATH={wrong} is not an executable" in done.stderr
    assert "terraform" not in done.stderr


def test_make_test_without_firefox_and_webkit_names_what_to_install(
    bin_dir: Path, tmp_path: Path
) -> None:
    for name in ("terraform", "chromium", "node", "npm"):
        if not (bin_dir / name).exists():
            _stand_in(bin_dir, name)
    done, _ = _make(bin_dir, "prerequisites", WEBKIT_MINIBROWSER=str(tmp_path / "none"))

    assert done.returncode == 2
    assert "apt-get install firefox-esr" in done.stderr
    assert "apt-get install webkit2gtk-driver xvfb" in done.stderr
    assert "chromium" not in done.stderr.replace("the browser tests", "")


def test_make_up_does_not_ask_for_terraform_or_chromium(bin_dir: Path) -> None:
    # Node 22 and npm stand-ins, and no terraform or chromium on PATH at all.
    for name, script in (("node", "echo 22"), ("npm", "exit 0")):
        (bin_dir / name).unlink(missing_ok=True)
        (bin_dir / name).write_text(f"#!/bin/sh\n{script}\n")
        (bin_dir / name).chmod(0o755)
    done, _ = _make(bin_dir, "-n", "up")

    assert done.returncode == 0, done.stderr
    assert "terraform" not in done.stderr
    assert "chromium" not in done.stderr
    assert "playground up" in done.stdout  # past the check, on to starting the stack


def test_help_lists_every_target_with_a_line() -> None:
    targets = {
        match.group(1)
        for path in MAKEFILES
        for line in path.read_text().splitlines()
        if (match := TARGET.match(line))
    }
    shown = subprocess.run(
        ["make", "-C", str(ROOT), "--no-print-directory", "help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    listed = dict(
        re.findall(r"^  make (\S+) +(\S.*)$", shown, flags=re.MULTILINE),
    )
    assert {"lambda", "check", "test", "unit-test", "web-model"} <= targets
    assert sorted(targets - set(listed)) == []
    assert all(listed[t].strip() for t in targets)
