"""How bench/chaos judges a run's exit when the driver itself failed a
pair: a lost LXC monitor (container_ci.targets.lxc_monitor) is libvirt's
failure, reported as such; any other failure under a fault that is not the
driver's is still a wrong exit."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest

from container_ci.results.model import PairResult, PairStatus, RunResult, TargetInfo
from container_ci.results.summary import write_summary
from container_ci.targets.lxc_monitor import MONITOR_LOST
from tests.helpers import REPO

START = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
LOST = (
    f"step 5 (reboot vm): libvirt-lxc: reboot cci-x-lifecycle-vm: {MONITOR_LOST} to "
    "cci-x-lifecycle-vm (its controller, pid 4242, read the end of it at 12:00:01.050, "
    "50 ms after its start; ...): libvirtd hears nothing more of this guest, so it "
    "cannot complete a reboot"
)


@pytest.fixture(scope="module")
def chaos() -> ModuleType:
    """bench/chaos, a script without a .py suffix, loaded as a module."""
    loader = importlib.machinery.SourceFileLoader("bench_chaos", str(REPO / "bench" / "chaos"))
    spec = importlib.util.spec_from_loader("bench_chaos", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_chaos"] = module  # its dataclasses look their module up
    loader.exec_module(module)
    return module


def _summary(tmp_path: Path, *failures: str) -> Path:
    """A summary as the harness writes it: every shipped-like pair passed,
    but one failed pair per message."""
    pairs = [
        PairResult("lifecycle", "docker", PairStatus.PASSED, START, START + timedelta(seconds=2))
    ]
    pairs += [
        PairResult("lifecycle", "libvirt-lxc", PairStatus.FAILED, START, START, message=message)
        for message in failures
    ]
    run = RunResult(
        run_id="0000beef",
        started_at=START,
        finished_at=START + timedelta(seconds=5),
        pairs=pairs,
        targets=[TargetInfo("docker", True), TargetInfo("libvirt-lxc", True)],
    )
    path = tmp_path / "summary.json"
    write_summary(run, path)
    return path


@pytest.mark.parametrize(
    ("fault", "struck"),
    [("none", False), ("concurrent", False), ("libvirtd", True), ("dockerd", True)],
)
def test_a_lost_monitor_is_the_drivers_failure_not_a_wrong_exit(chaos, tmp_path, fault, struck):
    struck_at = START + timedelta(seconds=10) if struck else None
    problems, defects = chaos.exit_problems(fault, 1, struck_at, _summary(tmp_path, LOST), "r1")
    assert problems == []
    assert defects == [f"r1: lifecycle/libvirt-lxc: {LOST}"]


def test_any_other_failure_under_no_fault_is_still_a_wrong_exit(chaos, tmp_path):
    summary = _summary(tmp_path, LOST, "step 5 (reboot vm): console did not show 'boot=2'")
    problems, defects = chaos.exit_problems("none", 1, None, summary, "r1")
    assert problems == [
        "r1: failed pairs: lifecycle/libvirt-lxc: step 5 (reboot vm): console did not show 'boot=2'"
    ]
    assert len(defects) == 1


def test_without_a_defect_a_failure_is_a_wrong_exit_as_before(chaos, tmp_path):
    summary = _summary(tmp_path, "step 5 (reboot vm): console did not show 'boot=2'")
    problems, defects = chaos.exit_problems("none", 1, None, summary, "r1")
    assert problems[0] == "r1: exit 1, expected 0"
    assert defects == []


def test_a_signal_keeps_its_own_exit_whatever_failed_before_it(chaos, tmp_path):
    """A SIGTERM before the run finished: exit 143, never 1, even with the
    driver's failure in the results written on the way out."""
    struck_at = START + timedelta(seconds=1)  # before the summary's finish
    problems, _ = chaos.exit_problems("sigterm", 1, struck_at, _summary(tmp_path, LOST), "r1")
    assert problems[0] == "r1: exit 1, expected 143"
