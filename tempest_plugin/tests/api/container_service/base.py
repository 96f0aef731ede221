"""Base of the container service tests: clients from `get_service_clients`,
waiting on a container's status, and cleanup that runs even when a test fails."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from tempest import config, test
from tempest.lib import exceptions as lib_exc
from tempest.lib.common.utils import data_utils

if TYPE_CHECKING:
    from tempest.lib.common import rest_client

    from tempest_plugin.services.container_service import (
        ContainersClient,
        HostsClient,
        ServicesClient,
    )

CONF = config.CONF


class BaseContainerServiceTest(test.BaseTestCase):
    credentials = ["primary"]
    containers_client: ContainersClient

    @classmethod
    def skip_checks(cls) -> None:
        super().skip_checks()
        if not CONF.container_ci.container_service_available:
            raise cls.skipException(
                "the container service is not deployed (container_ci.container_service_available)"
            )

    @classmethod
    def setup_clients(cls) -> None:
        super().setup_clients()
        cls.containers_client = cls.os_primary.container_service.ContainersClient()

    def create_container(
        self,
        client: ContainersClient | None = None,
        wait_for: str | None = "Created",
        **kwargs: Any,
    ) -> rest_client.ResponseBody:
        """Create a container (deleted at cleanup, forced) and wait for `wait_for`."""
        client = client or self.containers_client
        kwargs.setdefault("name", data_utils.rand_name(prefix=CONF.resource_name_prefix))
        kwargs.setdefault("image", CONF.container_ci.image)
        container = client.create_container(**kwargs)
        self.addCleanup(self.delete_and_wait, container["uuid"], client)
        if wait_for:
            container = self.wait_for_status(container["uuid"], wait_for, client)
        return container

    def wait_for_status(
        self,
        uuid: str,
        wanted: str,
        client: ContainersClient | None = None,
        allow_error: bool = False,
    ) -> rest_client.ResponseBody:
        """Poll until `wanted`; an Error status fails at once with its reason."""
        client = client or self.containers_client
        deadline = time.monotonic() + CONF.container_ci.build_timeout
        while True:
            container = client.show_container(uuid)
            status = container["status"]
            if status == wanted:
                return container
            if status == "Error" and not allow_error:
                raise lib_exc.TempestException(
                    f"container {uuid} went to Error: {container['status_reason']}"
                )
            if time.monotonic() > deadline:
                raise lib_exc.TimeoutException(
                    f"container {uuid} is {status}, not {wanted}, after "
                    f"{CONF.container_ci.build_timeout}s"
                )
            time.sleep(CONF.container_ci.build_interval)

    def delete_and_wait(self, uuid: str, client: ContainersClient | None = None) -> None:
        """Forced, and waited for: Zun answers 204 at once and deletes the
        container (and its Neutron port) afterwards, and the project's
        security group, which Tempest deletes with the class's credentials,
        cannot go while that port exists (SecurityGroupInUse, measured)."""
        client = client or self.containers_client
        try:
            client.delete_container(uuid, force=True, stop=True)
        except lib_exc.NotFound:
            return
        self.wait_for_deletion(uuid, client)

    def wait_for_deletion(self, uuid: str, client: ContainersClient | None = None) -> None:
        client = client or self.containers_client
        deadline = time.monotonic() + CONF.container_ci.build_timeout
        while time.monotonic() < deadline:
            try:
                client.show_container(uuid)
            except lib_exc.NotFound:
                return
            time.sleep(CONF.container_ci.build_interval)
        raise lib_exc.TimeoutException(f"container {uuid} still there after deletion")


class BaseContainerServiceAdminTest(BaseContainerServiceTest):
    """Placing containers on hosts and declaring a host full are admin calls."""

    credentials = ["primary", "admin"]
    admin_containers_client: ContainersClient
    hosts_client: HostsClient
    services_client: ServicesClient

    @classmethod
    def setup_clients(cls) -> None:
        super().setup_clients()
        cls.admin_containers_client = cls.os_admin.container_service.ContainersClient()
        cls.hosts_client = cls.os_admin.container_service.HostsClient()
        cls.services_client = cls.os_admin.container_service.ServicesClient()
