"""Functional tests run against the real Docker Engine and real libvirt LXC.

They fail (never skip) when a backend does not answer: `tools/run-tests` runs
`container-ci setup` first, so an unreachable backend is a real problem.
Every test gets its own run id, and its teardown asserts that nothing
labelled with that id remains on either backend."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from container_ci import paths
from container_ci.naming import Owner
from container_ci.provision import probes
from container_ci.targets.registry import LOCAL_TARGETS, target_factory

REPO = Path(__file__).resolve().parents[2]
# Runs record into a store of the test session's own, never the user's.
os.environ.setdefault(
    "CONTAINER_CI_DB", f"sqlite:///{tempfile.gettempdir()}/cci-functional-{os.getppid()}.sqlite"
)
SCENARIOS = REPO / "scenarios"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/functional" in str(item.fspath):
            item.add_marker(pytest.mark.functional)


@pytest.fixture
def backend_lock(request) -> Iterator[None]:
    """Tests share the daemons (pytest-xdist runs them in parallel). A test
    marked `exclusive` (stopping dockerd, leaving a SIGKILLed run's resources
    for a sweep that any other run's start-up sweep would take first) runs alone."""
    lock_path = paths.data_dir() / "functional-tests.lock"
    exclusive = request.node.get_closest_marker("exclusive") is not None
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture
def backends(backend_lock) -> None:
    """Both daemons answer. Checked under the lock, per test: a test that
    stops dockerd (exclusive) must not make a concurrent check fail."""
    problems = []
    if not probes.docker_answers():
        problems.append("the Docker Engine does not answer")
    if not probes.libvirt_answers():
        problems.append("libvirtd (lxc:///) does not answer")
    if problems:
        pytest.fail("; ".join(problems) + ": run `container-ci setup` (tools/run-tests does)")


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


@pytest.fixture
def run_id(backends) -> Iterator[str]:
    """A fresh run id; afterwards nothing labelled with it may remain."""
    value = f"t{uuid.uuid4().hex[:10]}"
    yield value
    left = owned(value)
    sweep_run(value)
    assert left == {name: [] for name in LOCAL_TARGETS}, f"run {value} left resources behind"


def cli(*args: str, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess[str]:
    """Run `container-ci` as a user would, from the repo root."""
    return subprocess.run(
        [sys.executable, "-m", "container_ci.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
        check=False,
        **kwargs,
    )


def cli_process(*args: str, output: Path) -> subprocess.Popen:
    """Start `container-ci` in the background, its stdout in `output`."""
    handle = open(output, "w")  # noqa: SIM115 - owned by the process
    return subprocess.Popen(
        [sys.executable, "-m", "container_ci.cli", *args],
        cwd=REPO,
        stdout=handle,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
