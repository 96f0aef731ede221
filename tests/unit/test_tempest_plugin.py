"""The plugin loads in real Tempest, lists every test with no cloud present,
carries unique idempotent ids, and skips exactly what the matrix declares."""

from __future__ import annotations

import subprocess
import sys
import unittest
from pathlib import Path

import pytest

from container_ci import tempest_run
from container_ci.scenarios import catalogue
from container_ci.scenarios.loader import load_capabilities
from container_ci.scenarios.model import compute_driver_row
from tempest_plugin.capabilities import unsupported_reason
from tests.helpers import REPO

BIN = Path(sys.executable).parent

MATRIX = load_capabilities(catalogue.default_matrix())


def plugin_test_cases() -> list[unittest.TestCase]:
    """Every test of the plugin, found the way stestr finds them."""
    suite = unittest.TestLoader().discover(
        str(REPO / "tempest_plugin" / "tests"), top_level_dir=str(REPO)
    )
    found: list[unittest.TestCase] = []
    pending: list = [suite]
    while pending:
        item = pending.pop()
        if isinstance(item, unittest.TestSuite):
            pending.extend(item)
        else:
            assert not isinstance(item, unittest.loader._FailedTest), item
            found.append(item)
    return found


def plugin_tests() -> dict[str, str]:
    """Test method name -> the operation it exercises (from @requires)."""
    found = {}
    for case in plugin_test_cases():
        op = getattr(getattr(type(case), case._testMethodName), "container_ci_op", None)
        if op:
            found[case._testMethodName] = op
    return found


def test_tempest_lists_the_plugin():
    done = subprocess.run(
        [BIN / "tempest", "list-plugins"], capture_output=True, text=True, check=True
    )
    assert "tempest_plugin.plugin:ContainerCITempestPlugin" in done.stdout
    assert "container-ci" in done.stdout


def test_tempest_lists_every_plugin_test_without_a_cloud(tmp_path):
    # Tempest registers workspaces in ~/.tempest and locks in <tmp>: give
    # it a home of its own, and the harness's temporary directory.
    env = dict(tempest_run.tempest_env(), HOME=str(tmp_path))
    init = subprocess.run(
        [BIN / "tempest", "init", str(tmp_path / "ws")],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert init.returncode == 0, init.stderr
    done = subprocess.run(
        [BIN / "tempest", "run", "--list-tests", "--regex", "tempest_plugin"],
        cwd=tmp_path / "ws",
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.split() if line.startswith("tempest_plugin.")]
    listed = {line.split("[")[0] for line in lines}
    own = {case.id().split("[")[0] for case in plugin_test_cases()}
    assert listed == own
    assert len(lines) == len(own) >= 20
    classes = {test_id.rsplit(".", 1)[0] for test_id in own}
    assert {name.rsplit(".", 1)[1] for name in classes} == {
        "LowestCommonDenominatorTest",
        "ContainersTest",
        "ContainerPlacementTest",
        "FullHostTest",
        "ContainerServiceLifecycleScenario",
        "ServerKeepsItsFilesScenario",
    }
    assert all("[id-" in line for line in lines)


def test_idempotent_ids_are_unique_and_checked_by_tempest():
    done = subprocess.run(
        [BIN / "check-uuid", "--package", "tempest_plugin.tests"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("driver", MATRIX.compute_drivers())
def test_skips_are_exactly_the_matrix_gaps(driver):
    skipped = {
        test: unsupported_reason(driver, op)
        for test, op in plugin_tests().items()
        if unsupported_reason(driver, op)
    }
    row = compute_driver_row(driver)
    expected = {
        test: MATRIX.capability(row, op).reason
        for test, op in plugin_tests().items()
        if not MATRIX.capability(row, op).supported
    }
    assert skipped == expected
    if driver == "libvirt-lxc":  # Nova's support matrix: no console log, suspend, snapshot
        assert set(skipped) == {
            "test_console_output_has_the_boot_marker",
            "test_suspend_resume",
            "test_snapshot_and_boot_from_it",
            "test_server_from_a_snapshot_has_the_file",
        }
        assert "(operation.suspend) missing for libvirt-lxc" in skipped["test_suspend_resume"]


def test_unknown_driver_skips_with_a_clear_reason():
    reason = unsupported_reason("hyperv", "boot")
    assert reason and "no capabilities declared for compute driver 'hyperv'" in reason


def test_service_clients_are_registered_for_tempest(tmp_path, monkeypatch):
    """What `get_service_clients` returns is what Tempest's registry takes:
    tests reach `os_primary.container_service.ContainersClient()`."""
    from tempest import config as tempest_config
    from tempest.lib.services import clients
    from tempest.tests.lib import fake_credentials

    from tempest_plugin.plugin import ContainerCITempestPlugin
    from tempest_plugin.services.container_service import ContainersClient, ServicesClient

    monkeypatch.setenv("TEMPEST_CONFIG_DIR", str(tmp_path))  # no tempest.conf: defaults
    tempest_config.CONF.set_config_path(str(tmp_path))
    (params,) = ContainerCITempestPlugin().get_service_clients()
    assert params["service"] == "container" and params["api_microversion"] == "1.40"
    # Tempest's own registry got them from the plugin manager when its
    # configuration loaded; ServiceClients adds every registered module.
    service_clients = clients.ServiceClients(
        fake_credentials.FakeKeystoneV3Credentials(), "http://127.0.0.1:5000/v3"
    )
    containers = service_clients.container_service.ContainersClient()
    assert isinstance(containers, ContainersClient)
    assert containers.api_microversion == "1.40"
    assert containers.service == "container"
    assert isinstance(service_clients.container_service.ServicesClient(), ServicesClient)


def test_the_decorated_tests_skip_for_libvirt_lxc_with_the_matrix_reason(monkeypatch):
    """Call each plugin test as Tempest would, configured for libvirt-lxc: the
    ones the matrix rules out raise Tempest's skip with the matrix's reason
    before touching the cloud; the others get past the skip into their body."""
    import testtools
    from tempest import config as tempest_config

    monkeypatch.setattr(tempest_config.CONF.container_ci, "compute_driver", "libvirt-lxc")
    row = compute_driver_row("libvirt-lxc")
    skipped, ran = {}, set()
    for case in plugin_test_cases():
        method = getattr(case, case._testMethodName)
        op = getattr(method, "container_ci_op", None)
        if op is None:
            continue
        try:
            method()
        except testtools.TestCase.skipException as exc:
            skipped[case._testMethodName] = str(exc)
        except Exception:  # noqa: BLE001 - past the skip: the body needs a cloud
            ran.add(case._testMethodName)
    expected = {
        test: MATRIX.capability(row, op).reason
        for test, op in plugin_tests().items()
        if not MATRIX.capability(row, op).supported
    }
    assert set(skipped) == set(expected)
    for test, message in skipped.items():
        assert message.endswith(expected[test]), message
    assert ran == set(plugin_tests()) - set(expected)
