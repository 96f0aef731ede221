"""The plugin loads in real Tempest, lists every test with no cloud present,
carries unique idempotent ids, and skips exactly what the matrix declares."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

from container_ci.scenarios.loader import load_capabilities
from container_ci.scenarios.model import compute_driver_row
from tempest_plugin.capabilities import unsupported_reason
from tempest_plugin.tests.api.compute import test_lowest_common_denominator as lcd

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]
MATRIX = load_capabilities(REPO / "scenarios" / "capabilities.yaml")


def plugin_tests() -> dict[str, str]:
    """Test method name -> the operation it exercises (from @requires)."""
    found = {}
    for name, member in inspect.getmembers(lcd.LowestCommonDenominatorTest):
        if name.startswith("test_"):
            found[name] = member.container_ci_op
    return found


def test_tempest_lists_the_plugin():
    done = subprocess.run(
        [BIN / "tempest", "list-plugins"], capture_output=True, text=True, check=True
    )
    assert "tempest_plugin.plugin:ContainerCITempestPlugin" in done.stdout
    assert "container-ci" in done.stdout


def test_tempest_lists_every_plugin_test_without_a_cloud(tmp_path):
    # Tempest registers workspaces in ~/.tempest: give it a home of its own.
    env = dict(os.environ, HOME=str(tmp_path))
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
    listed = {
        line.split(".")[-1].split("[")[0]
        for line in done.stdout.split()
        if "tempest_plugin" in line
    }
    assert listed == set(plugin_tests())
    assert all("[id-" in line for line in done.stdout.split() if "tempest_plugin" in line)


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
            "test_console_output",
            "test_suspend_resume",
            "test_snapshot_and_boot_from_it",
        }
        assert "(operation.suspend) missing for libvirt-lxc" in skipped["test_suspend_resume"]


def test_unknown_driver_skips_with_a_clear_reason():
    reason = unsupported_reason("hyperv", "boot")
    assert reason and "no capabilities declared for compute driver 'hyperv'" in reason
