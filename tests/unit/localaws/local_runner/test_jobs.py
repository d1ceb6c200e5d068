import os
import sys
from importlib import metadata
from pathlib import Path

import pytest

from localaws.local_runner import jobs

# The end of the runproc.sh the SDK's FrameworkProcessor generates (sagemaker 3.x).
RUNPROC = """#!/bin/bash
set -e
cd /opt/ml/processing/input/code/
if [ -f sourcedir.tar.gz ]; then
    tar -xzf sourcedir.tar.gz
fi
if [[ -f 'requirements.txt' ]]; then
    python3 /opt/ml/processing/input/code/install_requirements.py requirements.txt
fi

python3 evaluate.py "$@"
"""


def test_the_script_a_runproc_runs_is_found(tmp_path: Path):
    runproc = tmp_path / "runproc.sh"
    runproc.write_text(RUNPROC)
    assert jobs._entry_script_from_runproc(runproc) == (["python3"], "evaluate.py")
    runproc.write_text("#!/bin/bash\necho hello\n")
    with pytest.raises(jobs.JobError, match="no line runs a Python script"):
        jobs._entry_script_from_runproc(runproc)


def test_container_paths_map_into_the_job_folder(tmp_path: Path):
    container = jobs.Container(tmp_path / "job")
    host = container.host_path("/opt/ml/processing/input/raw")
    assert host == tmp_path / "job/opt/ml/processing/input/raw"
    assert container.map_argument("/opt/ml/model") == str(tmp_path / "job/opt/ml/model")
    assert container.map_argument("--epochs") == "--epochs"
    with pytest.raises(jobs.JobError, match="is not under /opt/ml"):
        container.host_path("/etc/passwd")


def test_s3_prefix_inputs_land_like_sagemaker_puts_them():
    assert jobs.relative_name("a/b/model.tar.gz", "a/b/model.tar.gz") == "model.tar.gz"
    assert jobs.relative_name("raw/mnist/x.gz", "raw/mnist") == "x.gz"
    assert jobs.relative_name("raw/mnist/sub/x.gz", "raw/mnist/") == "sub/x.gz"
    with pytest.raises(jobs.JobError, match="is not an s3:// URI"):
        jobs.split_s3_uri("/local/path")


def test_requirements_are_checked_against_this_environment(tmp_path: Path):
    requirements = tmp_path / "requirements.txt"
    numpy = metadata.version("numpy")
    requirements.write_text(f"# comment\nnumpy=={numpy}\n")
    jobs.check_requirements(requirements)
    requirements.write_text("numpy<1.0\n")
    with pytest.raises(jobs.JobError, match=rf"numpy<1.0 \(installed: {numpy}\)"):
        jobs.check_requirements(requirements)
    requirements.write_text("not a requirement ===\n")
    with pytest.raises(jobs.JobError, match="cannot parse"):
        jobs.check_requirements(requirements)


def test_unsupported_entrypoints_are_named(tmp_path: Path):
    container = jobs.Container(tmp_path)
    arguments = {"AppSpecification": {"ContainerEntrypoint": ["java", "-jar", "x.jar"]}}
    with pytest.raises(jobs.JobError, match="unsupported container entrypoint"):
        jobs.processing_command(arguments, container)


def test_a_script_s_cpu_time_is_measured_apart_from_its_wall_time(tmp_path: Path):
    # A script that sleeps half a second and then works for a while: the wall time holds
    # both, the CPU time only the work (what a shared machine's load hardly changes).
    script = "import time\ntime.sleep(0.5)\nend = time.process_time() + 0.3\n"
    script += "while time.process_time() < end: pass\nprint('done')\n"
    lines: list[str] = []
    took = jobs.run_script(
        [sys.executable, "-c", script], tmp_path, dict(os.environ), tmp_path / "log", lines.append
    )
    assert lines == ["done"]
    assert took.wall >= 0.8
    assert 0.3 <= took.cpu < took.wall - 0.4
    assert "CPU s]" in (tmp_path / "log").read_text()


def test_a_failing_script_still_fails_with_its_last_lines(tmp_path: Path):
    with pytest.raises(jobs.JobError, match="exited with code 3:\nbroken"):
        jobs.run_script(
            [sys.executable, "-c", "import sys; print('broken'); sys.exit(3)"],
            tmp_path,
            dict(os.environ),
            tmp_path / "log",
        )
