"""The report's compute drivers side by side: which job is whose driver, and
the same tests' outcomes on each, from streams ingested as the real runs'
are (python-subunit, the runner's own result files)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from container_ci.commands.run import default_job as run_job
from container_ci.scenarios import catalogue, loader
from container_ci.stability.drivers import compare_drivers, job_driver
from container_ci.stability.ingest.sources import ingest_path
from container_ci.stability.report import driver_comparison, job_reports, write_reports
from container_ci.tempest_run import default_job as tempest_job
from tests.fakes.stability_data import ACTIONS, SERVERS, T0, subunit_stream
from tests.helpers import run_cli

DRIVERS = ["docker", "libvirt-lxc"]
LIST = f"{SERVERS}.test_create_server.ServersTestJSON.test_list_servers[id-9a438d88]"
HARD = f"{ACTIONS}.test_reboot_server_hard[id-2cb1baf6]"
SUSPEND = f"{ACTIONS}.test_suspend_resume_server[id-0d8ee21e]"
VCPUS = f"{SERVERS}.test_create_server.ServersTestJSON.test_verify_created_server_vcpus"


@pytest.mark.parametrize(
    ("job", "driver"),
    [
        ("tempest-docker", "docker"),
        ("tempest-upstream-libvirt-lxc", "libvirt-lxc"),
        ("tempest-full-compute-docker", "docker"),
        ("container-ci-nova-libvirt-lxc", "libvirt-lxc"),
        ("nova-docker-tempest-local", "docker"),
        ("nova-lxc-tempest-local", "libvirt-lxc"),  # the driver's last part, unambiguous
        ("container-ci-local", None),
        ("container-service-tempest-local", None),
        ("tempest-container-service", None),
        ("compare-docker-libvirt-lxc", None),  # two drivers: neither
        ("dockerish-lxcish", None),  # parts, not substrings
    ],
)
def test_a_jobs_driver_is_the_one_its_name_says(job, driver):
    assert job_driver(job, DRIVERS) == driver


def test_the_matrix_names_the_drivers_the_default_jobs_end_with():
    drivers = loader.load_capabilities(catalogue.default_matrix()).compute_drivers()
    assert set(DRIVERS) <= set(drivers)
    for driver in drivers:
        for suite in ("compute", "upstream-compute", "full-compute"):
            assert job_driver(tempest_job(suite, driver), drivers) == driver
        assert job_driver(run_job(["nova"], driver), drivers) == driver
    assert job_driver(tempest_job("container-service", "libvirt-lxc"), drivers) is None


def test_run_jobs_keep_local_and_cloud_targets_apart():
    assert run_job(["docker", "libvirt-lxc"], "") == "container-ci-local"
    assert run_job(["nova"], "docker") == "container-ci-nova-docker"
    assert run_job(["nova"], "") == "container-ci-nova"
    assert run_job(["container-service"], "libvirt-lxc") == "container-ci-container-service"


def ingest_stream(store, tmp_path, job, results, hours=0):
    path = tmp_path / f"{job}-{hours}.subunit"
    path.write_bytes(subunit_stream(results, T0 + timedelta(hours=hours)))
    return list(ingest_path(store, path, job))


@pytest.fixture
def two_drivers(store, tmp_path):
    """libvirt-lxc: upstream twice and the plugin once; docker: the full
    suite twice, the vCPU test excluded there, hard reboot fixed between."""
    ingest_stream(
        store,
        tmp_path,
        "tempest-upstream-libvirt-lxc",
        [(LIST, "success"), (HARD, "skip"), (SUSPEND, "skip"), (VCPUS, "success")],
    )
    ingest_stream(
        store,
        tmp_path,
        "tempest-upstream-libvirt-lxc",
        [(LIST, "success"), (HARD, "success"), (SUSPEND, "skip"), (VCPUS, "success")],
        hours=2,
    )
    ingest_stream(
        store,
        tmp_path,
        "tempest-full-compute-docker",
        [(LIST, "success"), (HARD, "fail"), (SUSPEND, "skip")],
        hours=1,
    )
    ingest_stream(
        store,
        tmp_path,
        "tempest-full-compute-docker",
        [(LIST, "success"), (HARD, "fail"), (SUSPEND, "skip")],
        hours=3,
    )
    ingest_stream(store, tmp_path, "container-ci-local", [("container_ci.boot.docker", "success")])
    return store


def test_the_same_tests_on_two_drivers_side_by_side(two_drivers):
    with two_drivers.session() as session:
        comparison = compare_drivers(session, DRIVERS)
    assert comparison.drivers == DRIVERS
    assert comparison.jobs == {
        "docker": ["tempest-full-compute-docker"],
        "libvirt-lxc": ["tempest-upstream-libvirt-lxc"],
    }
    assert sorted(comparison.tests) == sorted([LIST, HARD, SUSPEND])
    assert comparison.alone == {"docker": 0, "libvirt-lxc": 1}  # the vCPU test
    assert comparison.totals() == {
        "docker": {"tests": 3, "pass": 1, "skip": 1, "fail": 1},
        "libvirt-lxc": {"tests": 3, "pass": 2, "skip": 1, "fail": 0},
    }
    differing = comparison.differing()
    assert list(differing) == [HARD]
    lxc, docker = differing[HARD]["libvirt-lxc"], differing[HARD]["docker"]
    assert (lxc.last, lxc.runs, lxc.passed, lxc.skipped) == ("pass", 2, 1, 1)
    assert (docker.last, docker.runs, docker.failed) == ("fail", 2, 2)
    assert "AssertionError" in docker.reason
    suspend = comparison.tests[SUSPEND]["docker"]
    assert suspend.reason == "test_suspend_resume_server[id-0d8ee21e] is not supported here"


def test_the_comparison_is_in_every_report_format(two_drivers, tmp_path):
    written = write_reports(
        tmp_path / "reports",
        job_reports(two_drivers),
        two_drivers.safe_url,
        driver_comparison(two_drivers, DRIVERS),
    )
    markdown = written["markdown"].read_text()
    assert "## Compute drivers side by side" in markdown
    assert "| docker | 3 | 1 | 1 | 1 | 0 |" in markdown
    assert "| libvirt-lxc | 3 | 2 | 1 | 0 | 1 |" in markdown
    assert "### Tests whose outcome differs (1)" in markdown
    drivers = json.loads(written["drivers"].read_text())
    assert list(drivers["differing"]) == [HARD]
    assert drivers["totals"]["docker"]["fail"] == 1
    html = written["html"].read_text()
    assert "Compute drivers side by side" in html
    assert '<td class="fail">fail (0/2 passed): ' in html
    assert isinstance(json.loads(written["json"].read_text()), list)  # per job, as before


def test_one_driver_has_nothing_to_compare(store, tmp_path):
    ingest_stream(store, tmp_path, "tempest-docker", [(LIST, "success")])
    comparison = driver_comparison(store, DRIVERS)
    assert comparison.drivers == ["docker"] and comparison.tests == {}
    written = write_reports(tmp_path / "r", job_reports(store), store.safe_url, comparison)
    assert "side by side" not in written["markdown"].read_text()
    assert "side by side" not in written["html"].read_text()


def test_report_command_prints_the_comparison(two_drivers, tmp_path):
    done = run_cli(
        "stability", "--db", two_drivers.url, "report", "--output", str(tmp_path / "out")
    )
    assert done.returncode == 0, done.stderr
    assert "drivers side by side: docker 3 test(s): 1 passed, 1 skipped, 1 failed; " in done.stdout
    assert "1 differ" in done.stdout
    assert (tmp_path / "out" / "drivers.json").exists()


def test_a_class_skipped_in_setupclass_counts_test_by_test(store, tmp_path):
    """Tempest skips a whole class on libvirt-lxc (snapshots): one
    `setUpClass (...)` result there, each test passing on docker."""
    images = "tempest.api.compute.images.test_images.ImagesTestJSON"
    tests = [f"{images}.test_create_image_from_paused_server[id-71bcb732]",
             f"{images}.test_create_image_from_stopped_server[id-aaacd1d0]"]  # fmt: skip
    ingest_stream(store, tmp_path, "tempest-upstream-libvirt-lxc",
                  [(f"setUpClass ({images})", "skip"), (LIST, "success")])  # fmt: skip
    docker = [(tests[0], "success"), (tests[1], "success"), (LIST, "success")]
    ingest_stream(store, tmp_path, "tempest-full-compute-docker", docker, hours=1)
    comparison = driver_comparison(store, DRIVERS)
    assert sorted(comparison.tests) == sorted([*tests, LIST])
    for test in tests:
        lxc = comparison.tests[test]["libvirt-lxc"]
        assert (lxc.last, lxc.reason) == ("skip", "ImagesTestJSON) is not supported here")
    assert comparison.alone == {"docker": 0, "libvirt-lxc": 0}
    assert list(comparison.differing()) == tests
