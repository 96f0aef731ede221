"""Service clients of the container service API, registered with Tempest
through the plugin's `get_service_clients` (reached as
`os_primary.container_service.ContainersClient()` and so on)."""

from tempest_plugin.services.container_service.containers_client import (
    ContainersClient,
    HostsClient,
    ServicesClient,
)

__all__ = ["ContainersClient", "HostsClient", "ServicesClient"]
