"""Interrupted runs leave nothing behind: SIGINT/SIGTERM clean up before exit;
after SIGKILL, `container-ci sweep` removes what the run left."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from container_ci.targets.registry import LOCAL_TARGETS
from tests.functional.backends import owned, start_slow_run
from tests.helpers import run_cli


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_mid_run_cleans_up(tmp_path: Path, run_id: str, signum, code):
    process, log = start_slow_run(tmp_path, run_id)
    assert any(owned(run_id).values()), "the run should hold resources before the signal"
    started = time.monotonic()
    process.send_signal(signum)
    returncode = process.wait(timeout=120)
    elapsed = time.monotonic() - started
    output = log.read_text()
    assert returncode == code, output
    assert elapsed < 60, f"cleanup after {signum.name} took {elapsed:.0f}s"
    assert owned(run_id) == {name: [] for name in LOCAL_TARGETS}, output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["interrupted"] == signum.name
    assert {pair["status"] for pair in summary["results"]} == {"error"}


# In the local cloud's group, on the worker that holds the shared lock for a
# whole cloud module (15 minutes and more): on the other worker its exclusive
# lock waited behind such a module past pytest's timeout (measured).
@pytest.mark.xdist_group("local-cloud")
@pytest.mark.exclusive
def test_sigkill_then_sweep_leaves_nothing(tmp_path: Path, run_id: str):
    process, log = start_slow_run(tmp_path, run_id)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    left = owned(run_id)
    assert all(left.values()), f"a SIGKILLed run should leave resources on both targets: {left}"
    swept = run_cli("sweep")  # default scope: runs whose process is gone
    assert swept.returncode == 0, swept.stdout + swept.stderr
    for name in LOCAL_TARGETS:
        assert f"{name}: removed" in swept.stdout
    assert owned(run_id) == {name: [] for name in LOCAL_TARGETS}, swept.stdout
