"""End to end through Nova with the guest reachable over SSH: a file written
before a reboot is there after it, and a server booted from a snapshot has
the file its source wrote. Needs validation resources (an address to SSH
to): skipped otherwise, and per the capability matrix."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tempest import config
from tempest.common import waiters
from tempest.lib import decorators
from tempest.scenario import manager

from tempest_plugin.capabilities import requires

if TYPE_CHECKING:
    from tempest.common.utils.linux import remote_client

CONF = config.CONF
MARKER = "/root/container-ci-marker"


class ServerKeepsItsFilesScenario(manager.ScenarioTest):
    @classmethod
    def skip_checks(cls) -> None:
        super().skip_checks()
        if not CONF.validation.run_validation:
            raise cls.skipException("needs SSH to the guest (validation.run_validation)")

    def _booted(
        self, **kwargs: Any
    ) -> tuple[dict[str, Any], dict[str, Any], remote_client.RemoteClient]:
        keypair = self.create_keypair()
        security_group = self.create_security_group()
        server = self.create_server(
            key_name=keypair["name"],
            security_groups=[{"name": security_group["name"]}],
            **kwargs,
        )
        ip = self.get_server_ip(server)
        ssh = self.get_remote_client(ip, private_key=keypair["private_key"], server=server)
        return server, keypair, ssh

    @decorators.attr(type=["slow"])
    @decorators.idempotent_id("f594a02c-3d4b-4c6a-9e8f-9a0b1c2d3e48")
    @requires("reboot")
    def test_file_survives_a_reboot(self) -> None:
        server, _keypair, ssh = self._booted()
        ssh.exec_command(f"sudo sh -c 'echo before-reboot > {MARKER}; sync'")
        self.servers_client.reboot_server(server["id"], type="SOFT")
        waiters.wait_for_server_status(self.servers_client, server["id"], "ACTIVE")
        ssh.validate_authentication()
        self.assertEqual("before-reboot", ssh.exec_command(f"sudo cat {MARKER}").strip())

    @decorators.attr(type=["slow"])
    @decorators.idempotent_id("06a5b13d-4e5c-4d7b-8f9a-0b1c2d3e4f59")
    @requires("snapshot")
    def test_server_from_a_snapshot_has_the_file(self) -> None:
        server, _keypair, ssh = self._booted()
        ssh.exec_command(f"sudo sh -c 'echo before-snapshot > {MARKER}; sync'")
        image = self.create_server_snapshot(server)
        _copy, _keypair, copy_ssh = self._booted(image_id=image["id"])
        self.assertEqual("before-snapshot", copy_ssh.exec_command(f"sudo cat {MARKER}").strip())
