"""Interrupted runs leave nothing behind: SIGINT/SIGTERM clean up before exit;
after SIGKILL, `container-ci sweep` removes what the run left."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest
from conftest import cli, cli_process, owned

from container_ci.targets.registry import LOCAL_TARGETS

SLOW_SCENARIO = """\
name: slow
description: boots a few instances on each target, then runs a long command
steps:
  - op: boot
    instance: fleet
    image: base
    count: 2
  - op: boot
    instance: fleet-one
    image: base
  - op: snapshot
    instance: fleet-one
    image: snap
  - op: exec
    instance: fleet
    command: [sleep, "60"]
    timeout: 120
  - op: delete
    instance: fleet
"""


def slow_scenario(tmp_path: Path) -> Path:
    path = tmp_path / "slow.yaml"
    path.write_text(SLOW_SCENARIO)
    return path


def wait_for_line(log: Path, text: str, count: int, process, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.read_text().count(text) >= count:
            return
        assert process.poll() is None, f"run ended early:\n{log.read_text()}"
        time.sleep(0.1)
    pytest.fail(f"{text!r} x{count} not seen in {timeout}s:\n{log.read_text()}")


def start_slow_run(tmp_path: Path, run_id: str):
    log = tmp_path / "run.log"
    process = cli_process(
        "run",
        "--scenario",
        str(slow_scenario(tmp_path)),
        "--run-id",
        run_id,
        "--output",
        str(tmp_path / "out"),
        "--concurrency",
        "2",
        output=log,
    )
    # Both targets have booted and snapshotted: the long exec is running.
    wait_for_line(log, "snapshot fleet-one PASSED", 2, process)
    time.sleep(0.5)
    return process, log


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


@pytest.mark.exclusive
def test_sigkill_then_sweep_leaves_nothing(tmp_path: Path, run_id: str):
    process, log = start_slow_run(tmp_path, run_id)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    left = owned(run_id)
    assert all(left.values()), f"a SIGKILLed run should leave resources on both targets: {left}"
    swept = cli("sweep")  # default scope: runs whose process is gone
    assert swept.returncode == 0, swept.stdout + swept.stderr
    for name in LOCAL_TARGETS:
        assert f"{name}: removed" in swept.stdout
    assert owned(run_id) == {name: [] for name in LOCAL_TARGETS}, swept.stdout
