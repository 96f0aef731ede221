"""`container-ci tempest`: the workspace and tempest.conf it prepares, from a
clouds.yaml entry (looked up in a loopback cloud) or a devstack's tempest.conf,
are what real Tempest reads: the plugin's tests list in that workspace."""

from __future__ import annotations

import configparser
import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from container_ci import tempest_conf, tempest_run
from container_ci.targets.cloud import CloudOptions
from tests.fakes.cloud import FakeCloud
from tests.helpers import run_cli


@contextlib.contextmanager
def serving(tmp_path, monkeypatch, **fake_options) -> Iterator[FakeCloud]:
    """A loopback cloud as clouds.yaml entry `devstack`."""
    with FakeCloud(**fake_options) as fake:
        clouds = tmp_path / "clouds.yaml"
        clouds.write_text(fake.clouds_yaml("devstack"))
        monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
        monkeypatch.setenv("HOME", str(tmp_path))  # tempest init registers workspaces there
        yield fake


@pytest.fixture
def cloud(tmp_path, monkeypatch):
    with serving(tmp_path, monkeypatch) as fake:
        yield fake


def compute_run(tmp_path) -> tempest_run.TempestRun:
    return tempest_run.TempestRun(
        suite="compute",
        compute_driver="libvirt-lxc",
        workspace=tmp_path / "ws",
        output=tmp_path / "out",
        cloud=CloudOptions(cloud="devstack"),
    )


def read_conf(path):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path)
    return parser


def test_config_from_a_cloud_entry(cloud, tmp_path):
    run = compute_run(tmp_path)
    conf = read_conf(tempest_run.write_config(run))
    base = next(i["id"] for i in cloud.images.values() if i["name"] == "cci-guest-base")
    alt = next(i["id"] for i in cloud.images.values() if i["name"] == "cci-guest-alt")
    assert (conf["compute"]["image_ref"], conf["compute"]["image_ref_alt"]) == (base, alt)
    assert conf["compute"]["flavor_ref"] == "c1"
    assert conf["identity"]["uri_v3"] == f"{cloud.url}/identity/v3"
    assert conf["auth"]["use_dynamic_credentials"] == "false"
    accounts = yaml.safe_load((tmp_path / "ws" / "etc" / "accounts.yaml").read_text())
    assert [(a["username"], a["project_name"], a["roles"]) for a in accounts] == [
        ("demo", "demo", ["member"])
    ]
    assert tempest_conf.concurrency(tmp_path / "ws" / "etc" / "tempest.conf") == 1
    assert conf["container_ci"]["compute_driver"] == "libvirt-lxc"
    assert conf["container_ci"]["container_service_available"] == "false"
    # What the catalog has, not Tempest's defaults (which assume Cinder, Swift).
    available = conf["service_available"]
    assert (available["nova"], available["glance"]) == ("true", "true")
    assert (available["cinder"], available["swift"], available["neutron"]) == (
        "false", "false", "false"
    )  # fmt: skip
    assert conf["validation"]["run_validation"] == "false"  # no network: nothing to log in to
    assert conf["compute-feature-enabled"]["rescue"] == "false"  # the matrix's libvirt-lxc rows
    assert conf["compute"]["max_microversion"].startswith("2.")
    # It holds the cloud's password: its owner's only.
    assert (tmp_path / "ws" / "etc" / "tempest.conf").stat().st_mode & 0o777 == 0o600
    listed = subprocess.run(
        [tempest_run.tempest_bin(), "run", "--list-tests", "--regex", run.test_regex],
        cwd=tmp_path / "ws",
        capture_output=True,
        text=True,
        check=False,
        env=tempest_run.tempest_env(),
    )
    assert listed.returncode == 0, listed.stderr
    tests = [line for line in listed.stdout.split() if line.startswith("tempest_plugin.")]
    assert tests and all(
        ".api.compute." in t or ".scenario.test_server_keeps_its_files." in t for t in tests
    )


def test_an_admin_entry_makes_dynamic_credentials(tmp_path, monkeypatch):
    """An admin user lets Tempest create a project per test class, so the
    run can use two workers; no accounts file is written."""
    with serving(tmp_path, monkeypatch, roles=("admin", "member", "reader")):
        conf_path = tempest_run.write_config(compute_run(tmp_path))
    auth = read_conf(conf_path)["auth"]
    assert auth["use_dynamic_credentials"] == "true"
    assert (auth["admin_username"], auth["admin_project_name"]) == ("demo", "demo")
    assert not (tmp_path / "ws" / "etc" / "accounts.yaml").exists()
    assert tempest_conf.concurrency(conf_path) == 2


def test_a_devstack_tempest_conf_gets_the_plugin_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    devstack = tmp_path / "tempest.conf"
    devstack.write_text("[compute]\nimage_ref = abc\n[container_ci]\ncompute_driver = kvm\n")
    run = tempest_run.TempestRun(
        suite="container-service",
        compute_driver="libvirt-lxc",
        workspace=tmp_path / "ws",
        output=tmp_path / "out",
        cloud=CloudOptions(),
        tempest_conf=devstack,
    )
    conf = read_conf(tempest_run.write_config(run))
    assert conf["compute"]["image_ref"] == "abc"
    assert conf["container_ci"]["compute_driver"] == "libvirt-lxc"
    assert conf["container_ci"]["container_service_available"] == "true"


def test_no_cloud_named_means_the_local_cloud(tmp_path, monkeypatch):
    """With neither --cloud/$OS_CLOUD nor --tempest-conf, the local cloud is
    brought up (its failure here stands in for the real thing, which the
    functional tests run) and nothing is run against any other cloud."""
    from container_ci.cloud import lifecycle
    from container_ci.errors import CloudError

    monkeypatch.delenv("OS_CLOUD", raising=False)
    monkeypatch.delenv("TEMPEST_CONF", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    calls = []

    def up(layout, say, nova_source=None, components=frozenset(), compute_driver=None):
        calls.append((layout.root, compute_driver))
        raise CloudError("keystone did not answer within 90s")

    monkeypatch.setattr(lifecycle, "up", up)
    done = run_cli(
        "tempest", "--compute-driver", "libvirt-lxc", "--workspace", tmp_path / "ws",
        in_process=True,
    )  # fmt: skip
    assert done.returncode == 3
    # The run's driver is the one the local cloud runs from then on.
    assert calls == [(tmp_path / ".local" / "share" / "container-ci" / "cloud", "libvirt-lxc")]
    assert "keystone did not answer" in done.stderr


def test_a_workspace_made_by_another_tempest_is_pointed_at_this_one(tmp_path, monkeypatch):
    """Made from .venv, then run from a tox env: discovery must use one install."""
    monkeypatch.setenv("HOME", str(tmp_path))
    workspace = tmp_path / "ws"
    tempest_run.ensure_workspace(workspace)
    stestr_conf = workspace / ".stestr.conf"
    other = "/elsewhere/venv/lib/python3.11/site-packages/tempest"
    stestr_conf.write_text(
        f"[DEFAULT]\ntest_path={other}/test_discover\ntop_dir={other}\ngroup_regex=([^\\.]*\\.)*\n"
    )
    tempest_run.ensure_workspace(workspace)
    conf = read_conf(stestr_conf)["DEFAULT"]
    import tempest

    assert conf["test_path"] == str(Path(tempest.__file__).parent / "test_discover")
    assert conf["group_regex"] == r"([^\.]*\.)*"
