"""The driver x operation matrix from streams ingested as real runs are:
outcomes per operation and driver, skips apart, declared gaps as gaps."""

from __future__ import annotations

import json

import pytest

from container_ci.errors import BadInput
from container_ci.scenarios import catalogue, loader
from container_ci.stability.operations import load_patterns, operation_matrix
from container_ci.stability.report import job_reports, operations_by_driver, write_reports
from tests.fakes.stability_data import ACTIONS, SERVERS, T0, subunit_stream

MATRIX = loader.load_capabilities(catalogue.default_matrix())
REBOOT = f"{ACTIONS}.test_reboot_server_soft[id-4640e3ef]"
SUSPEND = f"{ACTIONS}.test_suspend_resume_server[id-0d8ee21e]"
CREATE = f"{SERVERS}.test_create_server.ServersTestJSON.test_list_servers[id-9a438d88]"
IMAGES = "setUpClass (tempest.api.compute.images.test_images.ImagesTestJSON)"
SNAPSHOT = "tempest.api.compute.images.test_images.ImagesTestJSON.test_create_image[id-1]"


def ingest(store, tmp_path, job, results, hours=0):
    from datetime import timedelta

    from container_ci.stability.ingest.sources import ingest_path

    path = tmp_path / f"{job}-{hours}.subunit"
    path.write_bytes(subunit_stream(results, T0 + timedelta(hours=hours)))
    list(ingest_path(store, path, job))


def test_outcomes_per_operation_and_driver(store, tmp_path):
    ingest(
        store,
        tmp_path,
        "tempest-upstream-libvirt-lxc",
        [(CREATE, "success"), (REBOOT, "success"), (SUSPEND, "skip"), (IMAGES, "skip")],
    )
    ingest(
        store,
        tmp_path,
        "tempest-full-compute-docker",
        [(CREATE, "success"), (REBOOT, "fail"), (SUSPEND, "skip"), (SNAPSHOT, "success")],
    )
    ingest(store, tmp_path, "tempest-full-compute-docker",
           [(CREATE, "success"), (REBOOT, "success"), (SUSPEND, "skip"), (SNAPSHOT, "success")],
           hours=1)  # fmt: skip
    with store.session() as session:
        matrix = operation_matrix(session, MATRIX)
    assert matrix.drivers == ["docker", "libvirt-lxc"]
    cells = matrix.cells
    assert (cells["boot"]["docker"].ran, cells["boot"]["docker"].passed) == (2, 2)
    assert cells["reboot"]["docker"].state == "fail"
    assert cells["reboot"]["docker"].text == "1/2 passed (50%)"
    assert cells["reboot"]["libvirt-lxc"].state == "pass"
    # Declared gaps are gaps, with the matrix's reason, though their tests skipped.
    assert cells["suspend"]["libvirt-lxc"].state == "gap"
    assert "Suspend instance" in cells["suspend"]["libvirt-lxc"].gap
    assert cells["suspend"]["docker"].state == "gap"
    assert cells["snapshot"]["libvirt-lxc"].state == "gap"
    assert cells["snapshot"]["docker"].text == "2/2 passed (100%)"
    assert cells["pause"]["docker"].state == "not-run"


def test_the_matrix_is_in_every_report_format(store, tmp_path):
    ingest(store, tmp_path, "tempest-full-compute-docker", [(REBOOT, "success")])
    written = write_reports(tmp_path / "r", job_reports(store), store.safe_url,
                            operations=operations_by_driver(store, MATRIX))  # fmt: skip
    assert "| reboot | 1/1 passed (100%) |" in written["markdown"].read_text()
    assert '<td class="pass">1/1 passed (100%)</td>' in written["html"].read_text()
    document = json.loads(written["operations"].read_text())
    assert document["operations"]["reboot"]["docker"]["state"] == "pass"
    assert document["operations"]["suspend"]["docker"]["state"] == "gap"


def test_every_operation_of_the_matrix_has_tests_by_name():
    from container_ci.scenarios.model import COMPUTE_API_FEATURES

    named = set(load_patterns())
    assert set(COMPUTE_API_FEATURES) <= named
    assert {"boot", "reboot", "stop", "start", "pause", "suspend", "snapshot", "console",
            "rebuild", "delete"} <= named  # fmt: skip


def test_a_regex_that_does_not_compile_is_bad_input(tmp_path):
    path = tmp_path / "ops.yaml"
    path.write_text("boot:\n  - 'test_(create'\n")
    with pytest.raises(BadInput, match="boot: a regex does not compile"):
        load_patterns(path)
