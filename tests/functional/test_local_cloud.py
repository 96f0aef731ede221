"""The local cloud for real: Keystone, Placement, Glance, Neutron, Nova on
libvirt LXC, MariaDB and RabbitMQ from `container-ci cloud up`, then the nova
target's shipped scenarios and the Tempest plugin's compute API tests against
it, then `down`, after which nothing of it may remain.

One xdist group: the cloud listens on fixed loopback ports, so one worker
brings it up once, runs these tests in order, and takes it down. A cloud
that was already up before the session (a developer's) is used and left up."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import libvirt
import pytest

from container_ci.cloud import lifecycle, processes
from container_ci.cloud.layout import CLOUD_NAME, Layout
from container_ci.cloud.services import SERVICES
from tests.helpers import run_cli

pytestmark = [pytest.mark.xdist_group("local-cloud"), pytest.mark.functional]


def openstack(layout: Layout, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(layout.bin("openstack")), "--os-cloud", CLOUD_NAME, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def running(layout: Layout) -> list[str]:
    return [s.name for s in SERVICES if processes.read_pid(layout.pidfile(s.name))]


def nova_domains() -> list[str]:
    conn = libvirt.open("lxc:///")
    try:
        return [d.name() for d in conn.listAllDomains(0) if d.name().startswith("nova-cci-")]
    finally:
        conn.close()


@pytest.fixture(scope="module")
def local_cloud() -> Iterator[Layout]:
    layout = Layout.default()
    was_up = len(running(layout)) == len(SERVICES)
    up = run_cli("cloud", "up", timeout=900)
    assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
    try:
        yield layout
    finally:
        if not was_up:
            down = run_cli("cloud", "down", timeout=900)
            assert down.returncode == 0, down.stdout[-2000:] + down.stderr[-2000:]
            assert running(layout) == [], "processes of the cloud still run after down"
            assert lifecycle.stray_processes(layout) == []
            assert lifecycle.loop_devices(layout) == []
            assert nova_domains() == []


def test_every_service_is_healthy_and_the_api_answers(local_cloud: Layout):
    status = run_cli("cloud", "status")
    assert status.returncode == 0, status.stdout
    assert f"{len(SERVICES)}/{len(SERVICES)} healthy" in status.stdout
    listed = openstack(local_cloud, "server", "list", "-f", "json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []


def test_a_second_up_starts_nothing(local_cloud: Layout):
    pids = {s.name: processes.read_pid(local_cloud.pidfile(s.name)) for s in SERVICES}
    again = run_cli("cloud", "up", timeout=900)
    assert again.returncode == 0, again.stdout + again.stderr
    assert ": started" not in again.stdout
    assert {s.name: processes.read_pid(local_cloud.pidfile(s.name)) for s in SERVICES} == pids


def test_nova_target_passes_every_shipped_scenario(local_cloud: Layout, tmp_path: Path):
    out = tmp_path / "out"
    done = run_cli(
        "run", "--target", "nova", "--cloud", CLOUD_NAME, "--output", out, "--plain",
        "--no-record", timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    results = {r["scenario"]: r for r in summary["results"]}
    assert results["suspend-resume"]["status"] == "skipped"
    assert "Nova's support matrix" in results["suspend-resume"]["message"]
    assert results["lifecycle"]["status"] == "passed"
    assert {r["status"] for r in results.values()} <= {"passed", "skipped"}
    # Nothing left behind: no server, no domain.
    listed = openstack(local_cloud, "server", "list", "--all-projects", "-f", "json")
    assert json.loads(listed.stdout) == []
    assert nova_domains() == []


def test_tempest_compute_tests_pass_or_skip_by_the_matrix(local_cloud: Layout, tmp_path: Path):
    out = tmp_path / "tempest"
    done = run_cli(
        "tempest", "--suite", "compute", "--compute-driver", "libvirt-lxc",
        "--regex", r"^tempest_plugin\.tests\.api\.compute", "--output", out,
        "--workspace", tmp_path / "ws", "--no-record",
        env={"OS_CLOUD": None}, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "using the local cloud" in done.stdout
    stream = (out / "tempest.subunit").read_bytes()
    results = subprocess.run(
        [str(Path(sys.executable).parent / "subunit2csv")],
        input=stream,
        capture_output=True,
        check=True,
    ).stdout.decode()
    statuses: dict[str, int] = {}
    for line in results.splitlines()[1:]:
        status = line.split(",")[1]
        statuses[status] = statuses.get(status, 0) + 1
    assert statuses.get("success", 0) >= 6, results
    assert "fail" not in statuses, results
    for reason in _skip_reasons(done.stdout):
        assert "Nova's support matrix" in reason, reason


def _skip_reasons(output: str) -> list[str]:
    return [line.split("SKIPPED:", 1)[1] for line in output.splitlines() if "SKIPPED:" in line]
