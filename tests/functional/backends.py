"""What the functional tests ask the real backends, and the slow run that
the interruption tests stop half-way."""

from __future__ import annotations

import contextlib
import fcntl
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from container_ci import paths
from container_ci.naming import Owner
from container_ci.targets.registry import LOCAL_TARGETS, target_factory
from tests.helpers import start_cli


def owned(run_id: str) -> dict[str, list[str]]:
    """What each backend still holds for `run_id` (instances and images)."""
    found: dict[str, list[str]] = {}
    for name in LOCAL_TARGETS:
        target = target_factory(name)(Owner.current("probe"))
        target.connect()
        try:
            found[name] = [f"{r.kind} {r.name}" for r in target.list_owned() if r.run_id == run_id]
        finally:
            target.close()
    return found


def sweep_run(run_id: str) -> None:
    for name in LOCAL_TARGETS:
        target = target_factory(name)(Owner.current("probe"))
        target.connect()
        try:
            target.sweep(run_id=run_id)
        finally:
            target.close()


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


def wait_for_line(
    log: Path, text: str, count: int, process: subprocess.Popen[str], timeout: float = 120
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.read_text().count(text) >= count:
            return
        assert process.poll() is None, f"run ended early:\n{log.read_text()}"
        time.sleep(0.1)
    pytest.fail(f"{text!r} x{count} not seen in {timeout}s:\n{log.read_text()}")


def start_slow_run(
    tmp_path: Path, run_id: str, targets: Sequence[str] = LOCAL_TARGETS
) -> tuple[subprocess.Popen[str], Path]:
    """`container-ci run` of the slow scenario in the background, returned
    once every target has booted and snapshotted: the long exec is running."""
    scenario = tmp_path / "slow.yaml"
    scenario.write_text(SLOW_SCENARIO)
    log = tmp_path / "run.log"
    process = start_cli(
        "run", "--scenario", scenario, "--run-id", run_id, "--output", tmp_path / "out",
        "--concurrency", "2", *(arg for name in targets for arg in ("--target", name)),
        output=log,
    )  # fmt: skip
    wait_for_line(log, "snapshot fleet-one PASSED", len(targets), process)
    time.sleep(0.5)
    return process, log


@contextlib.contextmanager
def sharing_backends(exclusive: bool = False) -> Iterator[None]:
    """Tests share the daemons (pytest-xdist runs them in parallel). A test
    marked `exclusive` (stopping dockerd, leaving a SIGKILLed run's resources
    for a sweep that any other run's start-up sweep would take first) runs
    alone: it waits for every holder of the shared lock, and they for it."""
    lock_path = paths.data_dir() / "functional-tests.lock"
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
