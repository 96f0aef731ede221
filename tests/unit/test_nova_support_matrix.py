"""The compute-driver rows are seeded from Nova's own support matrix (read
from ../shared/fixtures, never copied) and must not drift from it."""

from __future__ import annotations

from pathlib import Path

import pytest
from shared_fixtures import shared_fixtures

from container_ci.errors import BadInput
from container_ci.scenarios.loader import load_capabilities
from container_ci.scenarios.model import OPERATIONS, compute_driver_row
from container_ci.scenarios.nova_support_matrix import (
    read_support_matrix,
    render_rows,
    seed_row,
)

REPO = Path(__file__).resolve().parents[2]
SUPPORT_MATRIX = shared_fixtures() / "nova" / "support-matrix.ini"
MATRIX = load_capabilities(REPO / "scenarios" / "capabilities.yaml")

needs_fixture = pytest.mark.skipif(
    not SUPPORT_MATRIX.exists(), reason=f"{SUPPORT_MATRIX} is not on this machine"
)


@needs_fixture
@pytest.mark.parametrize("driver", ["libvirt-lxc", "libvirt-kvm-x86"])
def test_seeded_rows_equal_novas_support_matrix(driver):
    seeded = seed_row(read_support_matrix(SUPPORT_MATRIX), driver, str(SUPPORT_MATRIX))
    assert MATRIX.rows[compute_driver_row(driver)] == seeded


@needs_fixture
def test_libvirt_lxc_gaps_are_the_ones_nova_declares():
    row = seed_row(read_support_matrix(SUPPORT_MATRIX), "libvirt-lxc", "x")
    unsupported = {op for op, cap in row.items() if not cap.supported}
    assert unsupported == {"console", "exec", "suspend", "resume", "snapshot"}
    assert row["snapshot"].reason == (
        'Nova\'s support matrix marks "Save snapshot of instance disk" '
        "(operation.snapshot) missing for libvirt-lxc"
    )


@needs_fixture
def test_rendered_rows_load_back_as_the_same_matrix(tmp_path):
    parser = read_support_matrix(SUPPORT_MATRIX)
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


@needs_fixture
def test_unknown_driver_names_the_known_ones():
    with pytest.raises(BadInput, match="no driver 'hyperv'.*libvirt-lxc"):
        seed_row(read_support_matrix(SUPPORT_MATRIX), "hyperv", "support-matrix.ini")


def test_unreadable_support_matrix_is_bad_input(tmp_path):
    broken = tmp_path / "support-matrix.ini"
    broken.write_text("[driver.x]\ntitle=a\ntitle=b\n")
    with pytest.raises(BadInput, match="cannot read Nova's support matrix"):
        read_support_matrix(broken)
