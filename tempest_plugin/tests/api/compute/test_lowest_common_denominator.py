"""What every Nova compute driver must do, container or VM, through the Nova
API. A test of an operation the configured driver lacks is skipped with the
capability matrix's reason."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from tempest import config
from tempest.api.compute import base
from tempest.common import waiters
from tempest.lib import decorators

from tempest_plugin.capabilities import requires

if TYPE_CHECKING:
    from tempest.lib.common import rest_client

CONF = config.CONF


class LowestCommonDenominatorTest(base.BaseV2ComputeTest):
    """One server per test: each operation starts from a clean ACTIVE server."""

    def _server(self) -> rest_client.ResponseBody:
        return self.create_test_server(wait_until="ACTIVE")

    @decorators.idempotent_id("5b0b3a37-3a52-4a0a-9d27-0f0e6c4d8b11")
    @requires("boot")
    def test_boot_show_and_list(self) -> None:
        server = self._server()
        shown = self.servers_client.show_server(server["id"])["server"]
        self.assertEqual("ACTIVE", shown["status"])
        listed = self.servers_client.list_servers()["servers"]
        self.assertIn(server["id"], [s["id"] for s in listed])

    @decorators.idempotent_id("a3c7b0d4-7e19-4f66-8a51-2f5b7d9c0e22")
    @requires("console")
    def test_console_output_has_the_boot_marker(self) -> None:
        server = self._server()
        marker = CONF.container_ci.boot_marker
        deadline = time.monotonic() + CONF.container_ci.build_timeout
        output = ""
        while marker not in output:
            if time.monotonic() > deadline:
                tail = "\n".join(output.splitlines()[-5:]) or "(nothing)"
                self.fail(f"console never showed {marker!r}; last lines:\n{tail}")
            time.sleep(CONF.container_ci.build_interval)
            output = self.servers_client.get_console_output(server["id"])["output"] or ""

    @decorators.idempotent_id("c8f1e2a9-0b4d-4c7e-9f3a-6d5e8b1a2c33")
    @requires("reboot")
    def test_reboot_soft_and_hard(self) -> None:
        server = self._server()
        for kind in ("SOFT", "HARD"):
            self.servers_client.reboot_server(server["id"], type=kind)
            waiters.wait_for_server_status(self.servers_client, server["id"], "ACTIVE")

    @decorators.idempotent_id("e2d4f6a8-1c3b-4e5d-8f7a-9b0c1d2e3f44")
    @requires("stop")
    def test_stop_start(self) -> None:
        server = self._server()
        self.servers_client.stop_server(server["id"])
        waiters.wait_for_server_status(self.servers_client, server["id"], "SHUTOFF")
        self.servers_client.start_server(server["id"])
        waiters.wait_for_server_status(self.servers_client, server["id"], "ACTIVE")

    @decorators.idempotent_id("f4a6b8c0-2d5e-4f7a-9b1c-3d5e7f9a0b55")
    @requires("pause")
    def test_pause_unpause(self) -> None:
        server = self._server()
        self.servers_client.pause_server(server["id"])
        waiters.wait_for_server_status(self.servers_client, server["id"], "PAUSED")
        self.servers_client.unpause_server(server["id"])
        waiters.wait_for_server_status(self.servers_client, server["id"], "ACTIVE")

    @decorators.idempotent_id("0b2d4f6a-8c1e-4a3b-9d5f-7a9c1e3b5d66")
    @requires("suspend")
    def test_suspend_resume(self) -> None:
        server = self._server()
        self.servers_client.suspend_server(server["id"])
        waiters.wait_for_server_status(self.servers_client, server["id"], "SUSPENDED")
        self.servers_client.resume_server(server["id"])
        waiters.wait_for_server_status(self.servers_client, server["id"], "ACTIVE")

    @decorators.idempotent_id("1c3e5a7b-9d2f-4b4c-8e6a-0b2d4f6a8c77")
    @requires("rebuild")
    def test_rebuild_keeps_identity(self) -> None:
        server = self._server()
        self.servers_client.rebuild_server(server["id"], self.image_ref_alt)
        waiters.wait_for_server_status(self.servers_client, server["id"], "ACTIVE")
        shown = self.servers_client.show_server(server["id"])["server"]
        self.assertEqual(server["id"], shown["id"])
        self.assertEqual(self.image_ref_alt, shown["image"]["id"])

    @decorators.idempotent_id("2d4f6b8c-0e3a-4c5d-9f7b-1c3e5a7b9d88")
    @requires("snapshot")
    def test_snapshot_and_boot_from_it(self) -> None:
        server = self._server()
        image = self.create_image_from_server(server["id"], wait_until="ACTIVE")
        copy = self.create_test_server(image_id=image["id"], wait_until="ACTIVE")
        self.assertEqual(image["id"], copy["image"]["id"])

    @decorators.idempotent_id("4f6b8d0e-2a5c-4e7f-9b1d-3e5a7c9d1f00")
    @requires("boot")
    def test_metadata_set_show_and_delete(self) -> None:
        server = self._server()
        self.servers_client.set_server_metadata(server["id"], {"container-ci": "yes"})
        shown = self.servers_client.show_server_metadata_item(server["id"], "container-ci")
        self.assertEqual({"container-ci": "yes"}, shown["meta"])
        self.servers_client.delete_server_metadata_item(server["id"], "container-ci")
        remaining = self.servers_client.list_server_metadata(server["id"])["metadata"]
        self.assertNotIn("container-ci", remaining)

    @decorators.idempotent_id("3e5a7c9d-1f4b-4d6e-8a0c-2d4f6b8c0e99")
    @requires("delete")
    def test_delete_and_verify_gone(self) -> None:
        server = self.create_test_server(wait_until="ACTIVE")
        self.servers_client.delete_server(server["id"])
        waiters.wait_for_server_termination(self.servers_client, server["id"])
