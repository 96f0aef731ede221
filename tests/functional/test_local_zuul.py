"""The local Zuul for real: `container-ci zuul up` (installing what is
missing), the smoke job through `container-ci zuul enqueue` to SUCCESS with a
log_url that serves its output, the builds API listing it, an enqueue of a
job the pipeline does not run refused, the stability loop (builds of a
short job ingested from the builds API, `stability decide --apply`
promoting it in a clone of this repository, the commit loaded, the job in
`check` as Zuul's API says; a devstack job in the same buildset ended
NODE_FAILURE at once, not run here), then `down`, after which no process,
port or build directory of it may remain.

One xdist group: the local Zuul listens on fixed loopback ports. A Zuul
that was already up before the test (a developer's) is used and left up."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from container_ci.cloud import processes
from container_ci.localzuul import lifecycle
from container_ci.localzuul.layout import CONFIG_PROJECT, PORTS, Layout
from container_ci.localzuul.services import SERVICES
from container_ci.localzuul.tenant import SMOKE_JOB
from tests.helpers import REPO, run_cli

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


@pytest.mark.skipif(
    lifecycle.upstream_default(REPO) is None,
    reason="no upstream repositories: the experimental jobs (devstack, tox parents) do not load",
)
def test_an_enqueue_of_a_job_the_pipeline_does_not_run_is_refused(local_zuul: Layout):
    refused = run_cli("zuul", "enqueue", "--pipeline", "experimental", "--job", SMOKE_JOB)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "does not run zuul-local-smoke" in refused.stderr


PROBE = "container-ci-promotion-probe"
DEVSTACK_PROBE = "container-ci-devstack-probe"
# Where `zuul up` finds them with none named: beside this checkout or the
# repository it was cloned from (CI's clean clone is elsewhere).
UPSTREAM = lifecycle.upstream_default(REPO) or REPO.parent / "shared" / "upstream"
API = f"http://127.0.0.1:{PORTS['zuul-web']}/api/tenant/local"

# What the clone adds: a short job on this machine's node, and a devstack
# job (its nodeset devstack's own), both in experimental only; the
# repository's experimental template (the tempest jobs) is not applied.
PROBE_JOBS = f"""\
- job:
    name: {PROBE}
    description: A short job for the promotion loop's test.
    nodeset: ubuntu-noble
    run: jobs/playbooks/promotion-probe.yaml

- job:
    name: {DEVSTACK_PROBE}
    parent: devstack
    description: A devstack job; the local Zuul must give it no node.
"""
PROBE_PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: Something short on the node
      ansible.builtin.command: "true"
"""
PROJECT = f"""\
- project:
    experimental:
      jobs:
        - {PROBE}:
            voting: false
        - {DEVSTACK_PROBE}:
            voting: false
    check:
      jobs:
        - container-ci-tox-pep8
"""
# The policy, lowered: 3 green runs promote (3 of 3 has a Wilson lower
# bound of 0.44).
POLICY = f"""\
stages: [experimental, check-non-voting, check-voting, gate]
infrastructure_results: [NODE_FAILURE, RETRY_LIMIT, POST_FAILURE, TIMED_OUT]
promote:
  experimental:
    min_runs: 3
    window_days: 1
    min_pass_rate_lower_bound: 0.40
    max_flaky_tests: 0
    max_unclassified_signatures: 0
demote: {{}}
classified_signatures: {{}}
jobs:
  {PROBE}: experimental
"""


def api(path: str) -> object:
    with urllib.request.urlopen(API + path, timeout=30) as response:  # noqa: S310 - loopback
        return json.loads(response.read().decode())


def pipeline_jobs(pipeline: str) -> set[str]:
    """The jobs openstack/container-ci runs in `pipeline`, as Zuul's API says."""
    project = api("/project/openstack/container-ci")
    assert isinstance(project, dict)
    names: set[str] = set()
    for config in project["configs"]:
        for entry in config["pipelines"]:
            if entry["name"] == pipeline:
                names |= {job[0]["name"] for job in entry["jobs"]}
    return names


def git(clone: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(clone), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


@pytest.mark.skipif(not UPSTREAM.is_dir(), reason=f"no upstream repositories at {UPSTREAM}")
def test_a_promotion_lands_back_in_zuul(local_zuul: Layout):
    began = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="cci-zuul-loop-"))
    clone = scratch / "container-ci"
    db = f"sqlite:///{scratch / 'stability.sqlite'}"
    up_clone = ("zuul", "up", "--root", str(clone), "--upstream", str(UPSTREAM))
    try:
        git(scratch, "clone", "--quiet", str(REPO), str(clone))
        (clone / "zuul.d" / "probe.yaml").write_text(PROBE_JOBS)
        project = (clone / "zuul.d" / "project.yaml").read_text()
        kept = project[: project.index("- project:\n    templates:")]  # the template's definition
        (clone / "zuul.d" / "project.yaml").write_text(kept + PROJECT)
        (clone / "jobs" / "playbooks" / "promotion-probe.yaml").write_text(PROBE_PLAYBOOK)
        (clone / "jobs" / "promotion.yaml").write_text(POLICY)
        git(clone, "add", "-A")
        git(clone, "commit", "-qm", "the promotion loop's probe jobs")
        loaded = run_cli(*up_clone, timeout=600)
        assert loaded.returncode == 0, loaded.stdout + loaded.stderr
        assert "config error: openstack/container-ci" not in loaded.stdout, loaded.stdout
        assert PROBE in pipeline_jobs("experimental")
        assert PROBE not in pipeline_jobs("check")

        results = []
        for _ in range(3):
            done = run_cli(
                "zuul", "enqueue", "--pipeline", "experimental", "--job", PROBE,
                "--timeout", "300", timeout=400,
            )  # fmt: skip
            assert f"{DEVSTACK_PROBE} [devstack]: no node" in done.stdout, done.stdout
            results.append(done.stdout)
            lines = dict(line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line)
            assert lines[PROBE].startswith("SUCCESS "), done.stdout
            # devstack's nodeset has labels no provider offers: NODE_FAILURE
            # at once (no log_url: nothing ran), never this machine.
            assert lines[DEVSTACK_PROBE].startswith("NODE_FAILURE"), done.stdout
        devstack_builds = api(f"/builds?job_name={DEVSTACK_PROBE}&limit=3")
        assert isinstance(devstack_builds, list) and devstack_builds
        for build in devstack_builds:
            assert build["result"] == "NODE_FAILURE"
            assert build["nodeset"] == "openstack-single-node-noble"

        ingest = run_cli(
            "stability", "--db", db, "ingest-zuul", "--url", f"http://127.0.0.1:{PORTS['zuul-web']}",
            "--tenant", "local", "--project", "openstack/container-ci", "--job", PROBE, "--subunit",
        )  # fmt: skip
        assert ingest.returncode == 0, ingest.stdout + ingest.stderr
        stored = int(ingest.stdout.split(": ")[1].split()[0])
        assert stored >= 3, ingest.stdout
        decide = run_cli("stability", "--db", db, "decide", "--apply", "--root", str(clone))
        assert decide.returncode == 10, decide.stdout + decide.stderr
        assert f"PROMOTE {PROBE} (experimental -> check-non-voting)" in decide.stdout
        assert f"applied: {PROBE} experimental -> check-non-voting" in decide.stdout
        git(clone, "commit", "-qam", f"Promote {PROBE} to check (non-voting)")
        assert f"{PROBE}: check-non-voting" in (clone / "jobs" / "promotion.yaml").read_text()

        reloaded = run_cli(*up_clone, timeout=600)
        assert reloaded.returncode == 0, reloaded.stdout + reloaded.stderr
        assert "full-reconfigure" in reloaded.stdout
        assert PROBE in pipeline_jobs("check")
        assert PROBE not in pipeline_jobs("experimental")
    finally:
        restored = run_cli("zuul", "up", "--upstream", str(UPSTREAM), timeout=600)
        shutil.rmtree(scratch, ignore_errors=True)
        assert restored.returncode == 0, restored.stdout + restored.stderr
    assert PROBE not in pipeline_jobs("check")  # this working tree again
    assert time.monotonic() - began < 360, "the loop's budget is about 5 minutes"


@pytest.mark.skipif(not UPSTREAM.is_dir(), reason=f"no upstream repositories at {UPSTREAM}")
def test_the_scheduler_reports_a_misspelt_attribute_at_its_line(local_zuul: Layout):
    """`zuul check --scheduler`: the checkout loaded into the real Zuul, and
    its configloader's error said as file:line, beside the offline check's."""
    scratch = Path(tempfile.mkdtemp(prefix="cci-zuul-check-"))
    clone = scratch / "container-ci"
    try:
        git(scratch, "clone", "--quiet", str(REPO), str(clone))
        jobs = clone / "zuul.d" / "jobs.yaml"
        text = jobs.read_text()
        assert "    timeout: 3600\n" in text
        jobs.write_text(text.replace("    timeout: 3600\n", "    timeuot: 3600\n", 1))
        lines = jobs.read_text().splitlines()
        typo = next(n for n, line in enumerate(lines, 1) if "timeuot" in line)
        stanza = max(n for n, line in enumerate(lines[:typo], 1) if line == "- job:")
        done = run_cli("zuul", "check", "--scheduler", "--upstream", str(UPSTREAM),
                       str(clone / "zuul.d"), timeout=900)  # fmt: skip
        assert done.returncode == 1, done.stdout + done.stderr
        found = [x for x in done.stdout.splitlines() if ": zuul-scheduler: " in x]
        assert found, done.stdout
        path, line, _rest = found[0].split(":", 2)
        assert path == str(jobs) and stanza <= int(line) <= typo, found
    finally:
        restored = run_cli("zuul", "up", "--upstream", str(UPSTREAM), timeout=600)
        shutil.rmtree(scratch, ignore_errors=True)
        assert restored.returncode == 0, restored.stdout + restored.stderr


def test_down_leaves_nothing(local_zuul: Layout):
    if WAS_UP[-1]:
        pytest.skip("the local Zuul ran before the tests: it is left up")
    down = run_cli("zuul", "down", timeout=600)
    assert down.returncode == 0, down.stdout + down.stderr
    assert leftovers(local_zuul) == {"processes": [], "strays": [], "ports": []}
    stopped = run_cli("zuul", "check", "--scheduler")
    assert stopped.returncode == 3, stopped.stdout + stopped.stderr
    assert len(stopped.stderr.strip().splitlines()) == 1
    missing = run_cli("zuul", "enqueue", "--pipeline", "experimental")
    assert missing.returncode == 3
    assert len(missing.stderr.strip().splitlines()) == 1
