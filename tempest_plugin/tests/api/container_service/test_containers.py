"""The container service API: a container's whole life, placement on a given
host, a full host, and the errors for a missing host and a bad image."""

from tempest import config
from tempest.lib import decorators
from tempest.lib import exceptions as lib_exc

from tempest_plugin.tests.api.container_service import base

CONF = config.CONF


class ContainersTest(base.BaseContainerServiceTest):
    @decorators.idempotent_id("7d1c2e4a-5b6f-4a8e-9c0d-1e2f3a4b5c60")
    def test_create_start_exec_logs_stop_delete(self) -> None:
        container = self.create_container(
            command=["sh", "-c", "echo hello-from-container; sleep 3600"]
        )
        uuid = container["uuid"]
        self.containers_client.start_container(uuid)
        self.wait_for_status(uuid, "Running")
        executed = self.containers_client.execute_command(uuid, "echo exec-ok")
        self.assertEqual(0, executed["exit_code"])
        self.assertIn("exec-ok", executed["output"])
        failed = self.containers_client.execute_command(uuid, "sh -c 'exit 7'")
        self.assertEqual(7, failed["exit_code"])
        logs = self.containers_client.get_container_logs(uuid).data
        self.assertIn("hello-from-container", logs)
        self.containers_client.stop_container(uuid)
        self.wait_for_status(uuid, "Stopped")
        self.containers_client.delete_container(uuid)
        self.wait_for_deletion(uuid)

    @decorators.idempotent_id("8e2d3f5b-6c7a-4b9f-8d1e-2f3a4b5c6d71")
    def test_show_and_list(self) -> None:
        container = self.create_container()
        shown = self.containers_client.show_container(container["uuid"])
        self.assertEqual(container["name"], shown["name"])
        listed = self.containers_client.list_containers()["containers"]
        self.assertIn(container["uuid"], [c["uuid"] for c in listed])

    @decorators.attr(type=["negative"])
    @decorators.idempotent_id("9f3e4a6c-7d8b-4c0a-9e2f-3a4b5c6d7e82")
    def test_missing_container_is_not_found(self) -> None:
        self.assertRaises(
            lib_exc.NotFound,
            self.containers_client.show_container,
            "container-ci-no-such-container",
        )

    @decorators.attr(type=["negative"])
    @decorators.idempotent_id("a04f5b7d-8e9c-4d1b-8f3a-4b5c6d7e8f93")
    def test_bad_image_is_an_error(self) -> None:
        """Refused at once (4xx), or the container ends in Error saying why."""
        try:
            container = self.create_container(image=CONF.container_ci.missing_image, wait_for=None)
        except (lib_exc.NotFound, lib_exc.BadRequest):
            return
        container = self.wait_for_status(container["uuid"], "Error", allow_error=True)
        self.assertTrue(container["status_reason"], "an Error status must say why")


class ContainerPlacementTest(base.BaseContainerServiceAdminTest):
    @decorators.idempotent_id("b1506c8e-9f0d-4e2c-9a4b-5c6d7e8f9a04")
    def test_create_on_a_given_host(self) -> None:
        host = self.hosts_client.list_hosts()["hosts"][0]["hostname"]
        container = self.create_container(client=self.admin_containers_client, host=host)
        self.assertEqual(host, container["host"])

    @decorators.attr(type=["negative"])
    @decorators.idempotent_id("d3728e0a-1b2f-4a4e-9c6d-7e8f9a0b1c26")
    def test_create_on_a_missing_host_is_refused(self) -> None:
        self.assertRaises(
            (lib_exc.BadRequest, lib_exc.NotFound),
            self.admin_containers_client.create_container,
            image=CONF.container_ci.image,
            host="container-ci-no-such-host",
        )


@decorators.serial
class FullHostTest(base.BaseContainerServiceAdminTest):
    """Declaring a host full (disabling its service) changes where every
    test's containers go, and a create already scheduled there when it is
    disabled fails on the way (measured on Zun 18: a placement conflict,
    the container stays Creating): so no other test runs meanwhile
    (Tempest's serial lock; the others take it shared)."""

    @decorators.idempotent_id("c2617d9f-0a1e-4f3d-8b5c-6d7e8f9a0b15")
    def test_a_full_host_makes_the_service_use_another(self) -> None:
        hosts = [h["hostname"] for h in self.hosts_client.list_hosts()["hosts"]]
        if len(hosts) < 2:
            raise self.skipException("needs two container hosts to move to another")
        full = hosts[0]
        self.services_client.disable_service(full, disabled_reason="container-ci: declared full")
        self.addCleanup(self.services_client.enable_service, full)
        for _ in range(2):
            container = self.create_container(client=self.admin_containers_client)
            self.assertNotEqual(full, container["host"])
