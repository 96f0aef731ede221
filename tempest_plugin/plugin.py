"""The plugin object Tempest finds through the `tempest.test_plugins` entry point."""

from __future__ import annotations

import os
from typing import Any

from oslo_config import cfg
from tempest import config
from tempest.test_discover import plugins

from tempest_plugin import config as plugin_config


class ContainerCITempestPlugin(plugins.TempestPlugin):
    def load_tests(self) -> tuple[str, str]:
        base_path = os.path.split(os.path.dirname(os.path.abspath(__file__)))[0]
        test_dir = "tempest_plugin/tests"
        return os.path.join(base_path, test_dir), base_path

    def register_opts(self, conf: cfg.ConfigOpts) -> None:
        conf.register_group(plugin_config.container_ci_group)
        conf.register_opts(plugin_config.ContainerCIGroup, group=plugin_config.container_ci_group)

    def get_opt_lists(self) -> list[tuple[str, list[cfg.Opt]]]:
        return [(plugin_config.container_ci_group.name, plugin_config.ContainerCIGroup)]

    def get_service_clients(self) -> list[dict[str, Any]]:
        """The container service clients, as `os_primary.container_service.<Client>()`."""
        service_config = config.service_client_config("container_ci")
        return [
            {
                "name": "container_service",
                "service_version": "container_service.v1",
                "module_path": "tempest_plugin.services.container_service",
                "client_names": ["ContainersClient", "HostsClient", "ServicesClient"],
                **service_config,
                "api_microversion": config.CONF.container_ci.api_microversion,
            }
        ]
