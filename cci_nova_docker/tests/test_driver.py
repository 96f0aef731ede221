"""The Docker compute driver against the real Docker Engine (no Nova
services, no mock): what Nova's compute manager calls, on a container.

Needs Nova, so it runs in the local cloud's venv, where the driver runs:

    $STATE/venv/bin/python -m unittest cci_nova_docker.tests.test_driver

(tests/functional/test_local_cloud.py does, with PYTHONPATH set to this
repository). The image is the harness's guest (`container-ci setup` builds
`cci-guest:base`), tagged as the driver tags a Glance image it loaded, so no
Glance is needed; networking (plug_vifs) is left to the tests through Nova."""

from __future__ import annotations

import contextlib
import time
import unittest
import uuid

import docker
from nova import exception, objects
from nova.compute import power_state, task_states

from cci_nova_docker import driver

objects.register_all()
GUEST = "cci-guest:base"


def _instance() -> objects.Instance:
    unique = uuid.uuid4()
    return objects.Instance(
        uuid=str(unique),
        display_name="cci-driver-test",
        hostname="cci-driver-test",
        # instance.name comes from the template and the id: a test name instead.
        id=int(unique.int % 2**31),
        flavor=objects.Flavor(memory_mb=64, vcpus=1, root_gb=1),
        project_id="cci-test",
    )


class DockerDriverTest(unittest.TestCase):
    def setUp(self) -> None:
        self.client = docker.from_env()
        self.addCleanup(self.client.close)
        self.image_id = str(uuid.uuid4())
        self.client.images.get(GUEST).tag(f"{driver.IMAGE_REPOSITORY}/{self.image_id}", "latest")
        self.addCleanup(
            self.client.images.remove, f"{driver.IMAGE_REPOSITORY}/{self.image_id}:latest"
        )
        self.driver = driver.DockerDriver(virtapi=None)
        self.driver.init_host("cci-test")
        self.instance = _instance()
        self.addCleanup(self._remove, self.instance)

    def _remove(self, instance: objects.Instance) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            self.client.containers.get(instance.name).remove(force=True)

    def _spawn(self) -> None:
        meta = objects.ImageMeta.from_dict({"id": self.image_id, "properties": {}})
        self.driver.spawn(None, self.instance, meta, [], None, {}, network_info=[])

    def _state(self) -> int:
        return int(self.driver.get_info(self.instance).state)

    def _wait_for_console(self, text: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while True:
            output = self.driver.get_console_output(None, self.instance).decode()
            if text in output or time.monotonic() > deadline:
                return output
            time.sleep(0.2)

    def test_the_host_reports_what_the_resource_tracker_needs(self) -> None:
        resources = self.driver.get_available_resource(self.driver.get_available_nodes()[0])
        for key in ("vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used",
                    "local_gb_used", "hypervisor_version", "cpu_info"):  # fmt: skip
            self.assertIn(key, resources)
        self.assertEqual("docker", resources["hypervisor_type"])
        self.assertGreater(resources["memory_mb"], 0)
        self.assertGreater(resources["hypervisor_version"], 0)

    def test_a_server_lives_and_dies_as_nova_asks(self) -> None:
        self._spawn()
        self.assertEqual(power_state.RUNNING, self._state())
        self.assertIn(self.instance.name, self.driver.list_instances())
        self.assertIn(self.instance.uuid, self.driver.list_instance_uuids())
        self.assertIn("CCI-BOOT-OK boot=1", self._wait_for_console("CCI-BOOT-OK boot=1"))
        self.driver.pause(self.instance)
        self.assertEqual(power_state.PAUSED, self._state())
        self.driver.unpause(self.instance)
        self.assertEqual(power_state.RUNNING, self._state())
        for kind, boot in (("SOFT", 2), ("HARD", 3)):
            self.driver.reboot(None, self.instance, [], kind)
            self.assertEqual(power_state.RUNNING, self._state())
            self.assertIn(f"boot={boot}", self._wait_for_console(f"boot={boot}"), kind)
        self.driver.power_off(self.instance, timeout=1)
        self.assertEqual(power_state.SHUTDOWN, self._state())
        self.driver.power_on(None, self.instance, [])
        self.assertEqual(power_state.RUNNING, self._state())
        self.driver.destroy(None, self.instance, [])
        self.assertRaises(exception.InstanceNotFound, self.driver.get_info, self.instance)
        self.assertNotIn(self.instance.uuid, self.driver.list_instance_uuids())
        self.driver.destroy(None, self.instance, [])  # again: nothing to do, no error

    def test_a_snapshot_is_committed_and_its_save_goes_to_the_image(self) -> None:
        self._spawn()
        states: list[str] = []
        uploaded: dict[str, object] = {}

        class Images:
            def get(self, context: object, image_id: str) -> dict[str, str]:
                return {"name": "cci-driver-test-snapshot"}

            def update(self, context: object, image_id: str, metadata: dict[str, object],
                       data: object, purge_props: bool = True) -> None:  # fmt: skip
                uploaded.update(metadata, size=len(data.read()))  # type: ignore[attr-defined]

        original = driver.glance.API
        driver.glance.API = Images  # type: ignore[assignment,misc]  # Glance is not here
        self.addCleanup(setattr, driver.glance, "API", original)
        snapshot_id = str(uuid.uuid4())
        self.addCleanup(self.client.images.remove, f"{driver.IMAGE_REPOSITORY}/{snapshot_id}")
        self.driver.snapshot(
            None, self.instance, snapshot_id,
            lambda task_state, expected_state=None: states.append(task_state),
        )  # fmt: skip
        self.assertEqual([task_states.IMAGE_PENDING_UPLOAD, task_states.IMAGE_UPLOADING], states)
        self.assertEqual(("raw", "docker"), (uploaded["disk_format"], uploaded["container_format"]))
        self.assertGreater(uploaded["size"], 100_000)  # a docker save tarball of busybox
        self.client.images.get(f"{driver.IMAGE_REPOSITORY}/{snapshot_id}:latest")

    def test_a_missing_container_is_instance_not_found(self) -> None:
        self.assertRaises(exception.InstanceNotFound, self.driver.get_info, self.instance)
        self.assertRaises(exception.InstanceNotFound, self.driver.pause, self.instance)


if __name__ == "__main__":
    unittest.main()
