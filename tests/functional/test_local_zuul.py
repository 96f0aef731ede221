"""The local Zuul for real: `container-ci zuul up` (installing what is
missing), the smoke job through `container-ci zuul enqueue` to SUCCESS with a
log_url that serves its output, the builds API listing it, the guard that
refuses an enqueue which would run tempest jobs here, then `down`, after
which no process, port or build directory of it may remain.

One xdist group: the local Zuul listens on fixed loopback ports. A Zuul
that was already up before the test (a developer's) is used and left up."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator

import pytest

from container_ci.cloud import processes
from container_ci.localzuul import lifecycle
from container_ci.localzuul.layout import CONFIG_PROJECT, PORTS, Layout
from container_ci.localzuul.services import SERVICES
from container_ci.localzuul.tenant import SMOKE_JOB
from tests.helpers import run_cli

pytestmark = [pytest.mark.xdist_group("local-zuul"), pytest.mark.functional]


def running(layout: Layout) -> list[str]:
    return [s.name for s in SERVICES if processes.read_pid(layout.pidfile(s.name))]


def listening_ports() -> set[int]:
    listed = subprocess.run(["ss", "-Hltn"], capture_output=True, text=True, check=True).stdout
    return {int(line.split()[3].rsplit(":", 1)[1]) for line in listed.splitlines() if line.strip()}


def leftovers(layout: Layout) -> dict[str, object]:
    return {
        "processes": running(layout),
        "strays": lifecycle.stray_processes(layout),
        "ports": sorted(listening_ports() & set(PORTS.values())),
    }


WAS_UP: list[bool] = []


@pytest.fixture(scope="module")
def local_zuul() -> Iterator[Layout]:
    layout = Layout.default()
    was_up = bool(running(layout))
    WAS_UP.append(was_up)
    try:
        up = run_cli("zuul", "up", timeout=1800)
        assert up.returncode == 0, up.stdout + up.stderr
        assert "tenant local: layout loaded" in up.stdout
        yield layout
    finally:
        if not was_up:
            down = run_cli("zuul", "down", timeout=600)
            assert down.returncode == 0, down.stdout + down.stderr


def test_a_second_up_starts_nothing(local_zuul: Layout):
    again = run_cli("zuul", "up", timeout=600)
    assert again.returncode == 0, again.stderr
    assert ": started (pid" not in again.stdout
    status = run_cli("zuul", "status")
    assert status.returncode == 0, status.stdout
    assert status.stdout.count(" running ") == len(SERVICES)


def test_the_smoke_job_succeeds_with_a_log_url(local_zuul: Layout):
    done = run_cli(
        "zuul", "enqueue", "--pipeline", "experimental", "--project", CONFIG_PROJECT,
        "--job", SMOKE_JOB, "--timeout", "600", timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith(f"{SMOKE_JOB}: "))
    _, result, log_url = line.split()
    assert result == "SUCCESS"
    with urllib.request.urlopen(log_url + "job-output.txt", timeout=10) as response:  # noqa: S310
        output = response.read().decode()
    assert "TASK [The node's hostname]" in output
    url = f"http://127.0.0.1:{PORTS['zuul-web']}/api/tenant/local/builds?job_name={SMOKE_JOB}"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310
        builds = json.loads(response.read().decode())
    assert any(b["log_url"] == log_url and b["result"] == "SUCCESS" for b in builds)


def test_an_enqueue_that_would_run_other_jobs_here_is_refused(local_zuul: Layout):
    refused = run_cli("zuul", "enqueue", "--pipeline", "experimental", "--job", SMOKE_JOB)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "does not run zuul-local-smoke" in refused.stderr


def test_down_leaves_nothing(local_zuul: Layout):
    if WAS_UP[-1]:
        pytest.skip("the local Zuul ran before the tests: it is left up")
    down = run_cli("zuul", "down", timeout=600)
    assert down.returncode == 0, down.stdout + down.stderr
    assert leftovers(local_zuul) == {"processes": [], "strays": [], "ports": []}
    missing = run_cli("zuul", "enqueue", "--pipeline", "experimental")
    assert missing.returncode == 3
    assert len(missing.stderr.strip().splitlines()) == 1
