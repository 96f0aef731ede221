"""End to end through the container service: what a container writes survives
a stop and a start, and a reboot, and exec and logs see the same container."""

from tempest.lib import decorators

from tempest_plugin.tests.api.container_service import base


class ContainerServiceLifecycleScenario(base.BaseContainerServiceTest):
    @decorators.attr(type=["slow"])
    @decorators.idempotent_id("e4839f1b-2c3a-4b5f-8d7e-8f9a0b1c2d37")
    def test_file_survives_stop_start_and_reboot(self) -> None:
        container = self.create_container(command=["sh", "-c", "echo started; sleep 3600"])
        uuid = container["uuid"]
        client = self.containers_client
        client.start_container(uuid)
        self.wait_for_status(uuid, "Running")
        written = client.execute_command(uuid, "sh -c 'echo cci-marker > /root/marker'")
        self.assertEqual(0, written["exit_code"])
        client.stop_container(uuid)
        self.wait_for_status(uuid, "Stopped")
        client.start_container(uuid)
        self.wait_for_status(uuid, "Running")
        client.reboot_container(uuid)
        self.wait_for_status(uuid, "Running")
        read = client.execute_command(uuid, "cat /root/marker")
        self.assertEqual((0, "cci-marker"), (read["exit_code"], read["output"].strip()))
        self.assertIn("started", client.get_container_logs(uuid).data)
