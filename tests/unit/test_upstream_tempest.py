"""The upstream compute suite's exclusions: every entry names real upstream
tests (listed by stestr from the installed Tempest) and says why; entries
tied to a capability follow the matrix; the feature flags Tempest reads
follow it too."""

from __future__ import annotations

import re

import pytest

from container_ci import tempest_conf, upstream_tempest
from container_ci.errors import BadInput
from container_ci.scenarios import catalogue


def matrix_with(tmp_path, lxc_console: str):
    """The shipped matrix with libvirt-lxc's console row replaced."""
    text = catalogue.default_matrix().read_text()
    start = text.index("compute_drivers:\n  libvirt-lxc:\n")
    console = text.index("    console:", start)
    exec_ = text.index("    exec:", console)
    path = tmp_path / "capabilities.yaml"
    path.write_text(text[:console] + f"    console: {lxc_console}\n" + text[exec_:])
    return path


def test_every_shipped_exclusion_matches_an_upstream_test_and_says_why():
    assert upstream_tempest.problems() == []
    for driver in ("libvirt-lxc", "libvirt-kvm-x86", "docker"):
        for exclusion in upstream_tempest.exclusions(driver, local_cloud=True):
            assert len(exclusion.reason.split()) >= 5, exclusion


def test_the_generated_list_is_what_tempest_run_reads(tmp_path):
    written = upstream_tempest.write_exclude_list(tmp_path, "libvirt-lxc", local_cloud=True)
    entries = [
        line.split("#", 1)[0].strip()
        for line in written.read_text().splitlines()
        if line.split("#", 1)[0].strip()
    ]
    assert entries, "libvirt-lxc has exclusions"
    tests = upstream_tempest.upstream_tests()
    for regex in entries:
        assert any(re.search(regex, test) for test in tests), regex
    # Nothing outside the suite is excluded by accident.
    assert all(regex.startswith(r"^tempest\.api\.compute\.") for regex in entries)


def test_a_needs_entry_follows_the_matrix(tmp_path):
    exclusions = tmp_path / "exclusions.yaml"
    exclusions.write_text(
        "- tests: ^tempest\\.api\\.compute\\.servers\\.test_server_actions\\.\n  needs: console\n"
    )
    lacking = matrix_with(tmp_path, "{unsupported: no serial console here}")
    chosen = upstream_tempest.exclusions("libvirt-lxc", False, exclusions, lacking)
    assert [(e.tests, e.reason) for e in chosen] == [
        (
            r"^tempest\.api\.compute\.servers\.test_server_actions\.",
            "console: no serial console here",
        )
    ]
    having = matrix_with(tmp_path, "supported")
    assert upstream_tempest.exclusions("libvirt-lxc", False, exclusions, having) == []


def test_a_local_cloud_entry_applies_only_against_the_local_cloud(tmp_path):
    exclusions = tmp_path / "exclusions.yaml"
    exclusions.write_text(
        "- tests: ^tempest\\.api\\.compute\\.admin\\.\n"
        "  cloud: local\n"
        "  reason: one compute host, so nothing to move a server to\n"
    )
    assert len(upstream_tempest.exclusions("libvirt-lxc", True, exclusions)) == 1
    assert upstream_tempest.exclusions("libvirt-lxc", False, exclusions) == []


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("- tests: '^x'\n  drivers: [libvirt-lxc]\n", r":2: \[0\]\.reason: is required"),
        ("- tests: '^x('\n  drivers: [a]\n  reason: r\n", r":2: \[0\]\.tests: does not compile"),
        ("- tests: '^x'\n  needs: teleport\n", r":3: \[0\]\.needs: 'teleport' is neither"),
        ("- tests: '^x'\n  drivers: [a]\n  cloud: local\n  reason: r\n", "exactly one of"),
        ("- tests: '^x'\n  driver: [a]\n  reason: r\n", r":3: \[0\]\.driver: unknown key"),
        ("- tests: '^x'\n  needs: console\n  reason: r\n", "takes its reason from the matrix"),
        ("- drivers: [a]\n  reason: r\n", r":2: \[0\]\.tests: is required"),
    ],
)
def test_a_bad_entry_is_named_by_file_line_and_field(tmp_path, entry, message):
    exclusions = tmp_path / "exclusions.yaml"
    exclusions.write_text("# comment\n" + entry)
    with pytest.raises(BadInput, match=message) as caught:
        upstream_tempest.exclusions("libvirt-lxc", True, exclusions)
    assert str(caught.value).startswith(f"{exclusions}:")


def test_feature_flags_follow_the_libvirt_lxc_rows():
    """What devstack turned off for LXC (rescue, resize, shelve, snapshot,
    suspend), and what the matrix adds with its reasons."""
    flags = tempest_conf.feature_flags("libvirt-lxc")["compute-feature-enabled"]
    off = {name for name, value in flags.items() if value == "false"}
    assert {"rescue", "resize", "shelve", "snapshot", "suspend"} <= off
    assert {"console_output", "config_drive", "live_migration", "cold_migration"} <= off
    assert flags["pause"] == "true"
    kvm = tempest_conf.feature_flags("libvirt-kvm-x86")["compute-feature-enabled"]
    assert set(kvm.values()) == {"true"}


def test_a_driver_without_feature_rows_is_bad_input(tmp_path):
    path = tmp_path / "capabilities.yaml"
    text = catalogue.default_matrix().read_text()
    path.write_text(text[: text.index("compute_api_features:")])
    with pytest.raises(BadInput, match="no compute_drivers and compute_api_features rows"):
        tempest_conf.feature_flags("libvirt-lxc", path)


def test_the_excluded_count_is_what_the_entries_match():
    """Four LXC tests and six Docker ones (doc/local_cloud.md); every
    excluded test is a real one."""
    tests = set(upstream_tempest.upstream_tests())
    lxc = upstream_tempest.excluded_tests("libvirt-lxc", local_cloud=True)
    assert len(lxc) == 4 and set(lxc) <= tests
    docker = upstream_tempest.excluded_tests("docker", local_cloud=True)
    assert len(docker) == 6
    assert sum("test_get_server_diagnostics" in test for test in docker) == 2
    assert set(docker) <= tests
