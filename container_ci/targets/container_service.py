"""The `container-service` target: an instance is a container managed by the
cloud's container service (the role Zun plays), through its v1 REST API on a
keystoneauth session from clouds.yaml.

The service has no event stream for users: waits poll. A container with a
task in progress (`task_state`) is transitional whatever its status says."""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from container_ci import naming
from container_ci.errors import (
    ExpectationFailed,
    ImageNotFound,
    InfrastructureError,
    StepTimeout,
    TargetUnavailable,
    Unsupported,
)
from container_ci.naming import Owner
from container_ci.targets.base import ExecResult, Instance, InstanceState, OwnedResource
from container_ci.targets.cloud import (
    DEFAULT_IMAGES,
    CloudOptions,
    CloudTarget,
    authorized_connection,
    is_connection_error,
    reaching,
)

if TYPE_CHECKING:
    from keystoneauth1.adapter import Adapter
    from keystoneauth1.exceptions import HttpError

SERVICE_TYPE = "container"
MICROVERSION = "container 1.40"
POLL_INTERVAL = 1.0
STOP_TIMEOUT = 10

# The guest images as the container service's image driver holds them
# (Glance, container format docker: `cloud up --with container-service`
# uploads `docker save` tarballs under these names), used where the cloud
# options keep the compute service's defaults.
CONTAINER_IMAGES = {"base": "cci-guest-base-docker", "alt": "cci-guest-alt-docker"}

STATUS_STATES = {
    "Running": InstanceState.ACTIVE,
    "Stopped": InstanceState.SHUTOFF,
    "Dead": InstanceState.SHUTOFF,
    "Paused": InstanceState.PAUSED,
    "Error": InstanceState.ERROR,
    "Deleted": InstanceState.GONE,
}


class ContainerServiceTarget(CloudTarget):
    name = "container-service"

    def __init__(self, owner: Owner, options: CloudOptions) -> None:
        super().__init__(owner, options, POLL_INTERVAL)
        self._api: Adapter | None = None

    def resolve_image(self, ref: str) -> str:
        name = self.options.images.get(ref, ref)
        return CONTAINER_IMAGES.get(ref, name) if name == DEFAULT_IMAGES.get(ref) else name

    # -- connection -------------------------------------------------------
    @property
    def api(self) -> Adapter:
        if self._api is None:
            raise InfrastructureError("container service: not connected")
        return self._api

    def connect(self) -> str:
        from keystoneauth1 import adapter

        cloud = self.options.cloud
        conn = authorized_connection(self.region, cloud)
        self._api = adapter.Adapter(
            session=conn.session,
            service_type=SERVICE_TYPE,
            interface="public",
            region_name=self.region.region_name,
            additional_headers={"OpenStack-API-Version": MICROVERSION},
        )
        with reaching(cloud, "catalog", "(the token's catalog)"):
            endpoint = self.api.get_endpoint()
        if not endpoint:
            raise TargetUnavailable(f"cloud {cloud!r}: no {SERVICE_TYPE} endpoint in the catalog")
        with reaching(cloud, "container service", endpoint):
            response = self.api.get("/v1/containers", params={"limit": 1})
        version = response.headers.get("OpenStack-API-Version", MICROVERSION)
        return f"{version} at {endpoint}"

    def close(self) -> None:
        self._api = None

    @contextlib.contextmanager
    def _call(self, what: str) -> Iterator[None]:
        from keystoneauth1 import exceptions as ksa

        try:
            yield
        except (Unsupported, ExpectationFailed, InfrastructureError, ImageNotFound):
            raise
        except ksa.HttpError as exc:
            message = f"container service: {what}: {_error_detail(exc)} (HTTP {exc.http_status})"
            if exc.http_status >= 500 or exc.http_status == 401:
                raise InfrastructureError(message) from exc
            raise ExpectationFailed(message) from exc
        except Exception as exc:
            if is_connection_error(exc):
                raise InfrastructureError(f"container service: {what}: unreachable: {exc}") from exc
            raise InfrastructureError(f"container service: {what}: {exc}") from exc

    # -- images -----------------------------------------------------------
    def delete_image(self, image: str) -> None:
        """Nothing to do: this target takes no snapshots (see the matrix)."""

    # -- lifecycle --------------------------------------------------------
    def create(self, name: str, image: str, scenario: str) -> Instance:
        from keystoneauth1 import exceptions as ksa

        body = {
            "name": name,
            "image": image,
            "labels": naming.labels(self.owner, naming.KIND_INSTANCE, scenario),
        }
        try:
            with self._call(f"create {name}"):
                created = self.api.post("/v1/containers", json=body).json()
        except ExpectationFailed as exc:
            cause = exc.__cause__
            if isinstance(cause, ksa.NotFound) and "image" in _error_detail(cause).lower():
                raise ImageNotFound(str(exc)) from exc
            raise
        instance = Instance(id=created["uuid"], name=name, image=image, scenario=scenario)
        self._wait_created(instance)
        with self._call(f"start {name}"):
            self.api.post(f"/v1/containers/{instance.id}/start")
        return instance

    def _wait_created(self, instance: Instance) -> None:
        """Creation pulls the image; a missing image ends in Error: clean up, say so."""
        seen: dict[str, Any] = {}

        def settled() -> bool:
            seen.update(self._show(instance) or {"status": "Deleted"})
            return not seen.get("task_state") and seen["status"] != "Creating"

        if not self.waiter.wait_until(settled, 300.0):
            raise StepTimeout(f"{instance.name} still {seen.get('status')} after 300s")
        if seen["status"] == "Error":
            reason = seen.get("status_reason") or "no reason given"
            with contextlib.suppress(Exception):
                self.delete(instance)
                self.waiter.wait_until(lambda: self._show(instance) is None, 60.0)
            if "image" in reason.lower() and "not" in reason.lower():
                raise ImageNotFound(f"{instance.name}: {reason}")
            raise ExpectationFailed(f"{instance.name} went to Error: {reason}")

    def _show(self, instance: Instance) -> dict[str, Any] | None:
        from keystoneauth1 import exceptions as ksa

        with self._call(f"show {instance.name}"):
            try:
                # The API takes a name where it takes a uuid: a create that
                # failed before it answered is found by its name.
                ident = instance.id or instance.name
                shown: dict[str, Any] = self.api.get(f"/v1/containers/{ident}").json()
            except ksa.NotFound:
                return None
            return shown

    def state(self, instance: Instance) -> InstanceState:
        shown = self._show(instance)
        if shown is None:
            return InstanceState.GONE
        if shown.get("task_state"):
            return InstanceState.BUILDING
        return STATUS_STATES.get(shown.get("status", ""), InstanceState.BUILDING)

    def identity(self, instance: Instance) -> str:
        shown = self._show(instance)
        if shown is None:
            raise ExpectationFailed(f"{instance.name} is gone")
        uuid: str = shown["uuid"]
        return uuid

    def console_log(self, instance: Instance) -> str:
        with self._call(f"logs of {instance.name}"):
            response = self.api.get(f"/v1/containers/{instance.id}/logs")
        try:
            text = response.json()
        except ValueError:
            return response.text
        return text if isinstance(text, str) else str(text)

    def exec(self, instance: Instance, argv: list[str], timeout: float) -> ExecResult:
        params = {"command": shlex.join(argv), "run": "true"}
        with self._call(f"exec in {instance.name}"):
            result = self.api.post(f"/v1/containers/{instance.id}/execute", params=params).json()
        exit_code = result.get("exit_code")
        if exit_code is None:
            raise ExpectationFailed(f"exec in {instance.name}: the service gave no exit code")
        return ExecResult(exit_code=int(exit_code), stdout=result.get("output") or "", stderr="")

    def _action(
        self, action: str, instance: Instance, params: dict[str, str | int] | None = None
    ) -> None:
        with self._call(f"{action} {instance.name}"):
            self.api.post(f"/v1/containers/{instance.id}/{action}", params=params or {})

    def reboot(self, instance: Instance) -> None:
        self._action("reboot", instance, {"timeout": STOP_TIMEOUT})

    def stop(self, instance: Instance) -> None:
        self._action("stop", instance, {"timeout": STOP_TIMEOUT})

    def start(self, instance: Instance) -> None:
        self._action("start", instance)

    def pause(self, instance: Instance) -> None:
        self._action("pause", instance)

    def unpause(self, instance: Instance) -> None:
        self._action("unpause", instance)

    def snapshot(self, instance: Instance, alias: str) -> str:
        raise Unsupported("snapshot", "the container-service target does not boot from commits")

    def rebuild(self, instance: Instance, image: str) -> Instance:
        self._action("rebuild", instance, {"image": image})
        return Instance(id=instance.id, name=instance.name, image=image, scenario=instance.scenario)

    def delete(self, instance: Instance) -> None:
        from keystoneauth1 import exceptions as ksa

        # Forced alone: Zun 18 refuses `stop` with a container in Error or
        # still Creating (409), and a forced delete stops a running one.
        with self._call(f"delete {instance.name}"), contextlib.suppress(ksa.NotFound):
            self.api.delete(f"/v1/containers/{instance.id}", params={"force": "true"})

    # -- sweeping ---------------------------------------------------------
    def list_owned(self) -> list[OwnedResource]:
        found: list[OwnedResource] = []
        with self._call("list containers"):
            containers = self.api.get("/v1/containers").json().get("containers", [])
        for container in containers:
            labels = container.get("labels") or {}
            if labels.get(naming.LABEL_OWNER) == naming.OWNER_VALUE:
                found.append(
                    OwnedResource.from_labels(naming.KIND_INSTANCE, container["uuid"], labels)
                )
        return found

    def remove(self, resource: OwnedResource) -> None:
        self.remove_instance(resource.name)


def _error_detail(exc: HttpError) -> str:
    """The service's `{"errors": [{"detail": ...}]}`, else the exception's text."""
    response = exc.response
    if response is not None:
        with contextlib.suppress(Exception):
            errors = response.json()["errors"]
            return "; ".join(e.get("detail") or e.get("title") or "" for e in errors)
    return exc.message or str(exc)
