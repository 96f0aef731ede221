"""The cloud targets (`nova`, `container-service`) offline: the real
openstacksdk/keystoneauth code talks HTTP to a loopback server answering in
the APIs' recorded shapes (fake_cloud.py); only the cloud is not real."""

from __future__ import annotations

import json
import socket

import pytest

from tests.fakes.cloud import FakeCloud
from tests.helpers import run_cli


@pytest.fixture
def cloud(tmp_path, monkeypatch):
    # The fake cloud settles at once: poll it briskly (a real cloud: once a second).
    monkeypatch.setattr("container_ci.targets.nova.POLL_INTERVAL", 0.02)
    monkeypatch.setattr("container_ci.targets.container_service.POLL_INTERVAL", 0.02)
    with FakeCloud() as fake:
        clouds = tmp_path / "clouds.yaml"
        clouds.write_text(fake.clouds_yaml("fake"))
        monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
        monkeypatch.delenv("OS_CLOUD", raising=False)
        yield fake


def run(tmp_path, target: str, scenario: str, *args: str) -> tuple[int, dict]:
    """One scenario file on `target` against the fake cloud; (exit code, summary)."""
    output = tmp_path / "out"
    done = run_cli(
        "run",
        "--no-record",
        "--plain",
        "--output",
        output,
        "--target",
        target,
        "--cloud",
        "fake",
        "--scenario",
        scenario,
        *args,
        in_process=True,
    )
    return done.returncode, json.loads((output / "summary.json").read_text())


def steps_of(summary: dict) -> dict[str, tuple[str, str]]:
    (pair,) = summary["results"]
    return {step["name"]: (step["status"], step["message"]) for step in pair["steps"]}


def test_nova_lifecycle_skips_what_the_drivers_row_lacks(cloud, tmp_path):
    code, summary = run(tmp_path, "nova", "lifecycle")
    assert code == 0, summary
    steps = steps_of(summary)
    # The row was found by asking the cloud: hypervisor type LXC -> libvirt-lxc.
    assert steps["console shows the boot marker"][0] == "skipped"
    assert "nova/libvirt-lxc does not support console" in steps["console shows the boot marker"][1]
    assert steps["agent check (exec inside the guest)"][0] == "skipped"
    for name in (
        "boot vm",
        "reboot vm",
        "stop vm",
        "start vm",
        "pause vm",
        "unpause vm",
        "delete vm",
    ):
        assert steps[name][0] == "passed", (name, steps[name])
    assert "console not checked" in steps["reboot vm"][1]
    assert cloud.servers == {}, "the run left servers behind"


def test_nova_snapshot_on_a_driver_with_snapshots(cloud, tmp_path):
    cloud.hypervisor_type = "QEMU"
    images = {image["name"] for image in cloud.images.values()}
    code, summary = run(tmp_path, "nova", "snapshot")
    assert code == 0, summary
    assert summary["targets"][0]["version"].endswith("driver libvirt-kvm-x86")
    assert all(status != "failed" for status, _ in steps_of(summary).values())
    (pair,) = summary["results"]
    snapshots = [step for step in pair["steps"] if step["op"] == "snapshot"]
    assert snapshots and all(step["status"] == "passed" for step in snapshots)
    assert cloud.servers == {}
    assert {image["name"] for image in cloud.images.values()} == images


def test_explicit_compute_driver_and_a_missing_image(cloud, tmp_path):
    code, summary = run(tmp_path, "nova", "bad-image", "--compute-driver", "libvirt-kvm-x86")
    assert code == 0, summary
    assert not any(path.endswith("os-hypervisors/detail") for _method, path in cloud.requests)


def test_a_compute_driver_without_a_row_makes_the_target_unavailable(cloud, tmp_path):
    cloud.hypervisor_type = "ironic"
    code, summary = run(tmp_path, "nova", "lifecycle")
    assert code == 3
    assert "no capabilities declared for 'nova/ironic'" in summary["results"][0]["message"]


def test_container_service_lifecycle(cloud, tmp_path):
    code, summary = run(tmp_path, "container-service", "lifecycle")
    steps = steps_of(summary)
    assert code == 0, steps
    assert steps["exec reports a failing command's exit code"][0] == "passed"
    assert cloud.containers == {}


def test_container_service_missing_image(cloud, tmp_path):
    """As a real Zun: the create is accepted (202), the container goes to
    Error ("Image X could not be found."); the target says image-not-found
    and leaves nothing behind."""
    code, summary = run(tmp_path, "container-service", "bad-image")
    steps = steps_of(summary)
    assert code == 0, steps
    assert all(status == "passed" for status, _ in steps.values()), steps
    assert cloud.containers == {}
    assert ("POST", "/container/v1/containers") in cloud.requests


@pytest.mark.parametrize("role", ["member", "admin"])
def test_the_fake_container_service_answers_as_zun_did(tmp_path, role):
    """The fake's containers pass the plugin's schemas, and show the
    admin-only fields to an admin only, as the recording does."""
    import jsonschema
    import requests
    from tempest.lib.common import rest_client

    from container_ci.targets.container_service import CONTAINER_IMAGES
    from tempest_plugin.api_schema.container_service.v1 import containers as schema
    from tests.fakes import container_service_samples as samples

    def check(response_schema: dict, response: requests.Response) -> dict:
        assert response.status_code in response_schema["status_code"], response.text
        body = response.json()
        jsonschema.validate(
            body,
            response_schema["response_body"],
            cls=rest_client.JSONSCHEMA_VALIDATOR,
            format_checker=rest_client.FORMAT_CHECKER,
        )
        return body

    with FakeCloud(roles=(role,)) as fake, requests.Session() as http:
        api = f"{fake.url}/container/v1/containers"
        image = CONTAINER_IMAGES["base"]
        created = check(schema.create_container, http.post(api, json={"image": image}, timeout=10))
        shown = check(schema.show_container, http.get(f"{api}/{created['uuid']}", timeout=10))
        listed = check(schema.list_containers, http.get(api, timeout=10))["containers"]
        execute = f"{api}/{created['uuid']}/execute"
        check(schema.execute_command, http.post(execute, params={"command": "true"}, timeout=10))
        missing = http.get(f"{api}/container-ci-no-such", timeout=10)
    assert (created["status"], shown["status"]) == ("Creating", "Created")
    assert "links" not in listed[0]
    admin_only = set(samples.ADMIN_ONLY_FIELDS)
    for view in (created, shown, listed[0]):
        assert (admin_only <= view.keys()) if role == "admin" else not admin_only & view.keys()
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"] == "container.container-not-found"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_endpoint_is_one_clear_line(tmp_path):
    port = free_port()  # nothing listens there
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(FakeCloud.clouds_yaml_for(f"http://127.0.0.1:{port}", "devstack"))
    done = run_cli(
        "run",
        "--target",
        "nova",
        "--cloud",
        "devstack",
        "--scenario",
        "lifecycle",
        "--no-record",
        "--plain",
        "--output",
        tmp_path / "o",
        env={"OS_CLIENT_CONFIG_FILE": str(clouds), "HOME": str(tmp_path)},
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 3, output
    expected = (
        f"cloud 'devstack': cannot reach the identity endpoint "
        f"http://127.0.0.1:{port}/identity/v3: connection refused"
    )
    assert expected in output
    assert "Traceback" not in output


def test_unknown_cloud_is_bad_input(cloud, tmp_path):
    done = run_cli(
        "run", "--target", "nova", "--cloud", "nope", "--no-record", "--output", tmp_path,
        in_process=True,
    )  # fmt: skip
    assert done.returncode == 2
    assert "cloud 'nope'" in done.stderr


def test_servers_get_a_port_on_the_local_cloud_unless_told(monkeypatch):
    """On the local cloud (named, or none named) servers get a port on its
    network: a libvirt LXC server without one shares the host's network
    namespace. Elsewhere the default stays no network (any cloud has it)."""
    import argparse

    from container_ci.commands.options import add_cloud_options, cloud_options

    monkeypatch.delenv("OS_CLOUD", raising=False)
    parser = argparse.ArgumentParser()
    add_cloud_options(parser)

    def network(*argv: str) -> str:
        return cloud_options(parser.parse_args(argv)).network

    assert network() == "cci-net"
    assert network("--cloud", "container-ci-local") == "cci-net"
    assert network("--cloud", "devstack") == "none"
    assert network("--cloud", "container-ci-local", "--network", "none") == "none"
    assert network("--cloud", "devstack", "--network", "private") == "private"
