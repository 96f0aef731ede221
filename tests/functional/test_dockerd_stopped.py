"""dockerd dies mid-run: the affected steps are infrastructure errors (not
driver failures), the run exits non-zero and does not hang; once dockerd is
back, a sweep leaves nothing behind."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from container_ci.provision import daemons, probes
from tests.functional.backends import owned, start_slow_run
from tests.helpers import run_cli


# In the local cloud's group, on the worker that holds the shared lock for a
# whole cloud module (15 minutes and more): on the other worker its exclusive
# lock waited behind such a module past pytest's timeout (measured).
@pytest.mark.xdist_group("local-cloud")
@pytest.mark.exclusive
def test_dockerd_stopped_mid_run(tmp_path: Path, run_id: str):
    if daemons.managed_pid("dockerd") is None:
        pytest.skip("dockerd was not started by `container-ci setup`: not ours to stop")
    process, log = start_slow_run(tmp_path, run_id, targets=("docker",))
    try:
        assert daemons.stop_managed("dockerd")
        started = time.monotonic()
        returncode = process.wait(timeout=300)
        elapsed = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
        restarted = run_cli("setup", "--target", "docker")
    output = log.read_text()
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert probes.docker_answers()
    assert returncode == 3, output
    assert elapsed < 240, f"the run took {elapsed:.0f}s to notice dockerd was gone"
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    [pair] = summary["results"]
    assert pair["status"] == "error", output
    errored = [step for step in pair["steps"] if step["status"] == "error"]
    assert errored, output
    assert "docker" in errored[0]["message"].lower()
    assert not [step for step in pair["steps"] if step["status"] == "failed"], output
    # dockerd is back with the run's stopped containers: the sweep takes them.
    swept = run_cli("sweep", "--run-id", run_id, "--target", "docker")
    assert swept.returncode == 0, swept.stdout
    assert owned(run_id)["docker"] == []
