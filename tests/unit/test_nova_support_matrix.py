"""The compute-driver rows are seeded from Nova's own support matrix (read
where tests/nova_files.py finds it, never copied) and must not drift from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from container_ci.errors import BadInput
from container_ci.scenarios import catalogue
from container_ci.scenarios.loader import load_capabilities
from container_ci.scenarios.model import OPERATIONS, compute_driver_row
from container_ci.scenarios.nova_support_matrix import (
    read_support_matrix,
    render_rows,
    seed_features,
    seed_row,
)
from tests.nova_files import nova_file


@pytest.fixture
def support_matrix() -> Path:
    return nova_file("support-matrix")


@pytest.mark.parametrize("driver", ["libvirt-lxc", "libvirt-kvm-x86"])
def test_seeded_rows_equal_novas_support_matrix(support_matrix, driver):
    seeded = seed_row(read_support_matrix(support_matrix), driver, str(support_matrix))
    matrix = load_capabilities(catalogue.default_matrix())
    assert matrix.rows[compute_driver_row(driver)] == seeded


@pytest.mark.parametrize("driver", ["libvirt-lxc", "libvirt-kvm-x86"])
def test_seeded_api_features_equal_the_matrix(support_matrix, driver):
    seeded = seed_features(read_support_matrix(support_matrix), driver, str(support_matrix))
    matrix = load_capabilities(catalogue.default_matrix())
    assert matrix.features[driver] == seeded


def test_config_drive_for_lxc_is_corrected_with_its_evidence(support_matrix):
    """Nova's matrix says complete; its LXC branch attaches no config drive."""
    parser = read_support_matrix(support_matrix)
    assert parser["guest.setup.configdrive"]["driver.libvirt-lxc"] == "complete"
    features = seed_features(parser, "libvirt-lxc", "x")
    assert not features["config_drive"].supported
    assert "_get_guest_storage_config" in features["config_drive"].reason
    assert features["shelve"].reason.startswith("shelving offloads a server by snapshotting")


def test_libvirt_lxc_gaps_are_the_ones_nova_declares(support_matrix):
    row = seed_row(read_support_matrix(support_matrix), "libvirt-lxc", "x")
    unsupported = {op for op, cap in row.items() if not cap.supported}
    assert unsupported == {"console", "exec", "suspend", "resume", "snapshot"}
    assert row["snapshot"].reason == (
        'Nova\'s support matrix marks "Save snapshot of instance disk" '
        "(operation.snapshot) missing for libvirt-lxc"
    )


def test_rendered_rows_load_back_as_the_same_matrix(support_matrix, tmp_path):
    parser = read_support_matrix(support_matrix)
    rows = {d: seed_row(parser, d, "x") for d in ("libvirt-lxc", "vmware")}
    matrix_file = tmp_path / "capabilities.yaml"
    matrix_file.write_text(
        "targets:\n  docker:\n"
        + "".join(f"    {op}: supported\n" for op in OPERATIONS)
        + render_rows(rows)
    )
    loaded = load_capabilities(matrix_file)
    assert loaded.compute_drivers() == ["libvirt-lxc", "vmware"]
    assert loaded.rows["nova/vmware"] == rows["vmware"]


def test_unknown_driver_names_the_known_ones(support_matrix):
    with pytest.raises(BadInput, match="no driver 'hyperv'.*libvirt-lxc"):
        seed_row(read_support_matrix(support_matrix), "hyperv", "support-matrix.ini")


def test_unreadable_support_matrix_is_bad_input(tmp_path):
    broken = tmp_path / "support-matrix.ini"
    broken.write_text("[driver.x]\ntitle=a\ntitle=b\n")
    with pytest.raises(BadInput, match="cannot read Nova's support matrix"):
        read_support_matrix(broken)
