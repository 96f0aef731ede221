"""Clients of the container service's v1 API, on tempest.lib's RestClient.

Every response is checked against the schemas in api_schema/; errors come
back as tempest.lib exceptions (NotFound, BadRequest, Conflict, ...), the
service's JSON error document attached."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any
from urllib import parse

from oslo_serialization import jsonutils as json
from tempest.lib.common import rest_client

from tempest_plugin.api_schema.container_service.v1 import containers as schema

if TYPE_CHECKING:
    from tempest.lib import auth

MICROVERSION_HEADER = "OpenStack-API-Version"
DEFAULT_MICROVERSION = "1.40"  # `host` on create needs 1.39


class ContainerServiceClient(rest_client.RestClient):
    """The common part: the microversion header and JSON/text handling."""

    api_microversion = DEFAULT_MICROVERSION

    def __init__(
        self,
        auth_provider: auth.AuthProvider,
        service: str,
        region: str,
        api_microversion: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(auth_provider, service, region, **kwargs)
        if api_microversion:
            self.api_microversion = api_microversion

    def get_headers(
        self, accept_type: str | None = None, send_type: str | None = None
    ) -> dict[str, str]:
        headers: dict[str, str] = super().get_headers(accept_type, send_type)
        headers[MICROVERSION_HEADER] = f"container {self.api_microversion}"
        return headers

    @staticmethod
    def _url(path: str, params: dict[str, Any] | None = None) -> str:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        return f"{path}?{parse.urlencode(query)}" if query else path

    # `resp`: tempest.lib's HTTP response, a dict of the headers that also has `.status`.
    def _json(
        self, resp: dict[str, str], body: bytes, response_schema: dict[str, Any]
    ) -> rest_client.ResponseBody:
        document = json.loads(body) if body else {}
        self.validate_response(response_schema, resp, document)
        return rest_client.ResponseBody(resp, document)

    def _empty(
        self, resp: dict[str, str], body: bytes, response_schema: dict[str, Any]
    ) -> rest_client.ResponseBody:
        # pecan renders an action's None as "null": no body either way.
        self.validate_response(response_schema, resp, json.loads(body) if body else None)
        return rest_client.ResponseBody(resp)


class ContainersClient(ContainerServiceClient):
    def create_container(self, **kwargs: Any) -> rest_client.ResponseBody:
        """Create a container (202, status Creating). kwargs: the API's body,
        e.g. name, image, command, host (the host to place it on)."""
        resp, body = self.post("v1/containers", json.dumps(kwargs))
        return self._json(resp, body, schema.create_container)

    def show_container(self, container_ident: str) -> rest_client.ResponseBody:
        resp, body = self.get(f"v1/containers/{container_ident}")
        return self._json(resp, body, schema.show_container)

    def list_containers(self, **params: Any) -> rest_client.ResponseBody:
        resp, body = self.get(self._url("v1/containers", params))
        return self._json(resp, body, schema.list_containers)

    def delete_container(
        self, container_ident: str, force: bool | None = None, stop: bool | None = None
    ) -> rest_client.ResponseBody:
        url = self._url(f"v1/containers/{container_ident}", {"force": force, "stop": stop})
        resp, body = self.delete(url)
        return self._empty(resp, body, schema.delete_container)

    def _action(
        self, container_ident: str, action: str, params: dict[str, Any] | None = None
    ) -> rest_client.ResponseBody:
        url = self._url(f"v1/containers/{container_ident}/{action}", params)
        resp, body = self.post(url, None)
        return self._empty(resp, body, schema.container_action)

    def start_container(self, container_ident: str) -> rest_client.ResponseBody:
        return self._action(container_ident, "start")

    def stop_container(
        self, container_ident: str, timeout: int | None = None
    ) -> rest_client.ResponseBody:
        return self._action(container_ident, "stop", {"timeout": timeout})

    def reboot_container(
        self, container_ident: str, timeout: int | None = None
    ) -> rest_client.ResponseBody:
        return self._action(container_ident, "reboot", {"timeout": timeout})

    def pause_container(self, container_ident: str) -> rest_client.ResponseBody:
        return self._action(container_ident, "pause")

    def unpause_container(self, container_ident: str) -> rest_client.ResponseBody:
        return self._action(container_ident, "unpause")

    def rebuild_container(
        self, container_ident: str, image: str | None = None
    ) -> rest_client.ResponseBody:
        return self._action(container_ident, "rebuild", {"image": image})

    def execute_command(
        self, container_ident: str, command: str, run: bool = True
    ) -> rest_client.ResponseBody:
        """Run `command` (one string, the API splits it) and return output and exit code."""
        url = self._url(
            f"v1/containers/{container_ident}/execute",
            {"command": command, "run": str(run).lower()},
        )
        resp, body = self.post(url, None)
        return self._json(resp, body, schema.execute_command)

    def get_container_logs(
        self,
        container_ident: str,
        stdout: bool = True,
        stderr: bool = True,
        tail: int | str | None = None,
    ) -> rest_client.ResponseBodyData:
        """The logs as text (the API answers with a JSON string)."""
        url = self._url(
            f"v1/containers/{container_ident}/logs",
            {"stdout": str(stdout).lower(), "stderr": str(stderr).lower(), "tail": tail},
        )
        resp, body = self.get(url)
        self.expected_success(200, resp.status)
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        with contextlib.suppress(ValueError):  # else a service that answers plain text
            text = json.loads(text)
        return rest_client.ResponseBodyData(resp, text)


class HostsClient(ContainerServiceClient):
    def list_hosts(self, **params: Any) -> rest_client.ResponseBody:
        resp, body = self.get(self._url("v1/hosts", params))
        return self._json(resp, body, schema.list_hosts)


class ServicesClient(ContainerServiceClient):
    def disable_service(
        self, host: str, binary: str = "zun-compute", disabled_reason: str | None = None
    ) -> rest_client.ResponseBody:
        """Declare `host` full: the scheduler places no new container there.

        The arguments go in the query string: Zun validates them there
        (`zun_services.py`: `validate_query_param`) and python-zunclient
        sends them so; its API reference says body. Tried on a real Zun
        18.0.0, both forms were accepted and applied, but only the query
        string is checked against Zun's schema."""
        params = {"host": host, "binary": binary, "disabled_reason": disabled_reason or None}
        resp, body = self.put(self._url("v1/services/disable", params), "")
        return self._json(resp, body, schema.update_service)

    def enable_service(self, host: str, binary: str = "zun-compute") -> rest_client.ResponseBody:
        """Undo `disable_service` (query parameters, as there)."""
        params = {"host": host, "binary": binary}
        resp, body = self.put(self._url("v1/services/enable", params), "")
        return self._json(resp, body, schema.update_service)
