"""Functional tests run against the real Docker Engine and real libvirt LXC.

They fail (never skip) when a backend does not answer: `tools/run-tests` runs
`container-ci setup` first, so an unreachable backend is a real problem.
Every test gets its own run id, and its teardown asserts that nothing
labelled with that id remains on either backend."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from container_ci.provision import probes
from container_ci.targets.registry import LOCAL_TARGETS
from tests.functional.backends import owned, sharing_backends, sweep_run

# Runs record into a store of the test process's own, never the user's,
# removed when that process ends. One per xdist worker: the controller
# does not load this file (its workers collect), so no process outlives
# both workers' use of a shared one (CI had left one per session in /tmp).
SESSION_STORE = Path(tempfile.gettempdir()) / (
    f"cci-functional-{os.getppid()}-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.sqlite"
)
OWN_STORE = "CONTAINER_CI_DB" not in os.environ
os.environ.setdefault("CONTAINER_CI_DB", f"sqlite:///{SESSION_STORE}")


def pytest_unconfigure(config: pytest.Config) -> None:
    if OWN_STORE:
        for suffix in ("", "-wal", "-shm", ".migrate-lock"):
            Path(f"{SESSION_STORE}{suffix}").unlink(missing_ok=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/functional" in str(item.path):
            item.add_marker(pytest.mark.functional)


@pytest.fixture
def backend_lock(request: pytest.FixtureRequest) -> Iterator[None]:
    with sharing_backends(request.node.get_closest_marker("exclusive") is not None):
        yield


@pytest.fixture
def backends(backend_lock: None) -> None:
    """Both daemons answer. Checked under the lock, per test: a test that
    stops dockerd (exclusive) must not make a concurrent check fail."""
    problems = []
    if not probes.docker_answers():
        problems.append("the Docker Engine does not answer")
    if not probes.libvirt_answers():
        problems.append("libvirtd (lxc:///) does not answer")
    if problems:
        pytest.fail("; ".join(problems) + ": run `container-ci setup` (tools/run-tests does)")


@pytest.fixture
def run_id(backends: None) -> Iterator[str]:
    """A fresh run id; afterwards nothing labelled with it may remain."""
    value = f"t{uuid.uuid4().hex[:10]}"
    yield value
    left = owned(value)
    sweep_run(value)
    assert left == {name: [] for name in LOCAL_TARGETS}, f"run {value} left resources behind"
