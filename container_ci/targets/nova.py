"""The `nova` target: an instance is a Nova server on whatever compute driver
the cloud runs, reached with openstacksdk and a clouds.yaml entry.

Nova offers users no event stream, so state waits poll (once a second). A
server with a task in progress (`OS-EXT-STS:task_state`) is transitional even
when its status still reads ACTIVE: Nova sets the task before it answers a
reboot or stop, so a wait can never mistake "not started yet" for "done".
Skips come from the matrix row of the cloud's compute driver."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from openstack.image.v2._proxy import Proxy as ImageV2

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
from container_ci.scenarios.model import compute_driver_row
from container_ci.scenarios.nova_support_matrix import NOT_IN_NOVA_MATRIX
from container_ci.targets.base import ExecResult, Instance, InstanceState, OwnedResource
from container_ci.targets.cloud import (
    CloudOptions,
    CloudTarget,
    authorized_connection,
    is_connection_error,
    reaching,
)

if TYPE_CHECKING:
    from openstack.compute.v2.server import Server
    from openstack.connection import Connection

POLL_INTERVAL = 1.0
IMAGE_ACTIVE_TIMEOUT = 300.0

STATUS_STATES = {
    "ACTIVE": InstanceState.ACTIVE,
    "SHUTOFF": InstanceState.SHUTOFF,
    "PAUSED": InstanceState.PAUSED,
    "SUSPENDED": InstanceState.SUSPENDED,
    "ERROR": InstanceState.ERROR,
    "DELETED": InstanceState.GONE,
    "SOFT_DELETED": InstanceState.GONE,
}

# Nova's os-hypervisors `hypervisor_type` -> the matrix's compute-driver row.
DRIVER_OF_HYPERVISOR = {
    "LXC": "libvirt-lxc",
    "QEMU": "libvirt-kvm-x86",
    "KVM": "libvirt-kvm-x86",
    "docker": "docker",
}


class NovaTarget(CloudTarget):
    name = "nova"

    def __init__(self, owner: Owner, options: CloudOptions) -> None:
        super().__init__(owner, options, POLL_INTERVAL)
        self.driver = options.compute_driver
        self._conn: Connection | None = None
        self._flavor_id = ""

    @property
    def capability_row(self) -> str | None:
        return compute_driver_row(self.driver) if self.driver else None

    # -- connection -------------------------------------------------------
    @property
    def conn(self) -> Connection:
        if self._conn is None:
            raise InfrastructureError("nova: not connected")
        return self._conn

    @property
    def image_api(self) -> ImageV2:
        """openstacksdk's image v2 API (snapshots and the `in:` name filter are v2's)."""
        image = self.conn.image
        if not isinstance(image, ImageV2):
            raise TargetUnavailable(
                f"cloud {self.options.cloud!r}: expected the image v2 API, "
                f"got {type(image).__module__}"
            )
        return image

    def connect(self) -> str:
        self._conn = authorized_connection(self.region, self.options.cloud)
        endpoint = self._endpoint("compute")
        with reaching(self.options.cloud, "compute", endpoint):
            # The versioned endpoint describes itself: {"version": {"version": "2.96", ...}}
            described = self.conn.session.get(endpoint).json().get("version") or {}
        if not self.driver:
            self.driver = self._detect_driver()
        self._flavor_id = self._pick_flavor()
        microversion = described.get("version") or "unknown"
        return f"nova {microversion} at {endpoint}, driver {self.driver}"

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    def _endpoint(self, service: str) -> str:
        try:
            endpoint = self.conn.session.get_endpoint(service_type=service, interface="public")
        except Exception as exc:  # noqa: BLE001 - a catalog without it: say so
            raise TargetUnavailable(
                f"cloud {self.options.cloud!r}: no {service} endpoint in the catalog: {exc}"
            ) from exc
        if not endpoint:
            raise TargetUnavailable(
                f"cloud {self.options.cloud!r}: no {service} endpoint in the catalog"
            )
        return endpoint

    def _detect_driver(self) -> str:
        import openstack.exceptions

        try:
            types: set[str | None] = {
                h.hypervisor_type for h in self.conn.compute.hypervisors(details=True)
            }
        except openstack.exceptions.ForbiddenException as exc:
            raise TargetUnavailable(
                f"cloud {self.options.cloud!r}: cannot tell its compute driver (listing "
                "hypervisors needs an admin role); pass --compute-driver"
            ) from exc
        drivers = {DRIVER_OF_HYPERVISOR.get(t or "", t) for t in types}
        driver = drivers.pop() if len(drivers) == 1 else None
        if driver is None:  # several types, or one the cloud does not name
            raise TargetUnavailable(
                f"cloud {self.options.cloud!r}: hypervisor types {sorted(map(str, types))}; "
                "pass --compute-driver to say which row of the matrix applies"
            )
        return driver

    def _pick_flavor(self) -> str:
        import openstack.exceptions

        with self._api("find a flavor"):
            if self.options.flavor:
                try:
                    return self.conn.compute.find_flavor(
                        self.options.flavor, ignore_missing=False
                    ).id
                except openstack.exceptions.NotFoundException as exc:
                    raise TargetUnavailable(
                        f"cloud {self.options.cloud!r}: no flavor {self.options.flavor!r}"
                    ) from exc
            flavors = sorted(self.conn.compute.flavors(), key=lambda f: (f.ram, f.vcpus, f.disk))
            if not flavors:
                raise TargetUnavailable(f"cloud {self.options.cloud!r}: no flavors")
            return flavors[0].id

    @contextlib.contextmanager
    def _api(self, what: str) -> Iterator[None]:
        """SDK errors -> the contract's classes."""
        import openstack.exceptions

        try:
            yield
        except (Unsupported, ExpectationFailed, InfrastructureError, ImageNotFound):
            raise  # TargetUnavailable is an InfrastructureError
        except openstack.exceptions.HttpException as exc:
            status = exc.status_code or 0
            message = f"nova: {what}: {exc.details or exc.message} (HTTP {status})"
            if status >= 500 or status in (401, 503):
                raise InfrastructureError(message) from exc
            raise ExpectationFailed(message) from exc
        except Exception as exc:
            if is_connection_error(exc):
                raise InfrastructureError(f"nova: {what}: cloud unreachable: {exc}") from exc
            raise InfrastructureError(f"nova: {what}: {exc}") from exc

    # -- images -----------------------------------------------------------
    def _image_id(self, ref: str) -> str:
        import openstack.exceptions

        if ":" in ref:
            # Glance reads "repo:tag" in a filter as operator "repo"; quoted
            # inside its `in:` operator the colon is part of the name.
            with self._api(f"find image {ref}"):
                found = list(self.image_api.images(name=f'in:"{ref}"'))
            if not found:
                raise ImageNotFound(f"cloud {self.options.cloud!r} has no image {ref!r}")
            return found[0].id
        try:
            with self._api(f"find image {ref}"):
                return self.image_api.find_image(ref, ignore_missing=False).id
        except ExpectationFailed as exc:
            if isinstance(exc.__cause__, openstack.exceptions.NotFoundException):
                raise ImageNotFound(f"cloud {self.options.cloud!r} has no image {ref!r}") from exc
            raise

    def delete_image(self, image: str) -> None:
        with self._api(f"delete image {image}"):
            self.image_api.delete_image(image, ignore_missing=True)

    # -- lifecycle --------------------------------------------------------
    def _labels(self, scenario: str, kind: str = naming.KIND_INSTANCE) -> dict[str, str]:
        return naming.labels(self.owner, kind, scenario)

    def create(self, name: str, image: str, scenario: str) -> Instance:
        image_id = self._image_id(image)
        attrs: dict[str, object] = {
            "name": name,
            "image_id": image_id,
            "flavor_id": self._flavor_id,
            "metadata": self._labels(scenario),
        }
        if self.options.network in ("none", "auto"):
            attrs["networks"] = self.options.network
        else:
            with self._api(f"find network {self.options.network}"):
                network = self.conn.network.find_network(self.options.network, ignore_missing=False)
            attrs["networks"] = [{"uuid": network.id}]
        with self._api(f"create server {name}"):
            server = self.conn.compute.create_server(**attrs)
        return Instance(id=server.id, name=name, image=image, scenario=scenario)

    def _server(self, instance: Instance) -> Server | None:
        import openstack.exceptions

        try:
            return self.conn.compute.get_server(instance.id)
        except openstack.exceptions.NotFoundException:
            return None

    def state(self, instance: Instance) -> InstanceState:
        with self._api(f"show server {instance.name}"):
            server = self._server(instance)
        if server is None:
            return InstanceState.GONE
        if server.task_state:
            return InstanceState.BUILDING
        return STATUS_STATES.get(server.status, InstanceState.BUILDING)

    def wait_for_state(self, instance: Instance, wanted: InstanceState, timeout: float) -> None:
        try:
            super().wait_for_state(instance, wanted, timeout)
        except StepTimeout as exc:
            raise StepTimeout(f"{exc}{self._fault(instance)}") from exc
        if wanted != InstanceState.ERROR and self.state(instance) == InstanceState.ERROR:
            raise ExpectationFailed(f"{instance.name} went to ERROR{self._fault(instance)}")

    def _fault(self, instance: Instance) -> str:
        with contextlib.suppress(Exception):
            server = self._server(instance)
            if server is not None and server.fault:
                return f"; fault: {server.fault.get('message', server.fault)}"
        return ""

    def identity(self, instance: Instance) -> str:
        with self._api(f"show server {instance.name}"):
            server = self._server(instance)
        if server is None:
            raise ExpectationFailed(f"{instance.name} is gone")
        return server.id

    def console_log(self, instance: Instance) -> str:
        with self._api(f"console output of {instance.name}"):
            output: str = (
                self.conn.compute.get_server_console_output(instance.id).get("output") or ""
            )
            return output

    def exec(self, instance: Instance, argv: list[str], timeout: float) -> ExecResult:
        raise Unsupported("exec", NOT_IN_NOVA_MATRIX["exec"].reason)

    def _action(
        self, what: str, instance: Instance, call: Callable[..., object], *args: str
    ) -> None:
        with self._api(f"{what} {instance.name}"):
            call(instance.id, *args)

    def reboot(self, instance: Instance) -> None:
        self._action("reboot", instance, self.conn.compute.reboot_server, "SOFT")

    def stop(self, instance: Instance) -> None:
        self._action("stop", instance, self.conn.compute.stop_server)

    def start(self, instance: Instance) -> None:
        self._action("start", instance, self.conn.compute.start_server)

    def pause(self, instance: Instance) -> None:
        self._action("pause", instance, self.conn.compute.pause_server)

    def unpause(self, instance: Instance) -> None:
        self._action("unpause", instance, self.conn.compute.unpause_server)

    def suspend(self, instance: Instance) -> None:
        self._action("suspend", instance, self.conn.compute.suspend_server)

    def resume(self, instance: Instance) -> None:
        self._action("resume", instance, self.conn.compute.resume_server)

    def snapshot(self, instance: Instance, alias: str) -> str:
        name = naming.resource_name(self.owner.run_id, instance.scenario, alias)
        with self._api(f"snapshot {instance.name}"):
            image = self.conn.compute.create_server_image(
                instance.id, name, metadata=self._labels(instance.scenario, naming.KIND_IMAGE)
            )
        deadline = time.monotonic() + IMAGE_ACTIVE_TIMEOUT
        while True:
            with self._api(f"show image {name}"):
                status = self.image_api.get_image(image.id).status
            if status == "active":
                return image.id
            if status in ("killed", "deleted", "deactivated"):
                raise ExpectationFailed(f"snapshot {name} of {instance.name} ended {status}")
            if time.monotonic() > deadline:
                raise StepTimeout(f"snapshot {name} not active after {IMAGE_ACTIVE_TIMEOUT:g}s")
            time.sleep(POLL_INTERVAL)

    def rebuild(self, instance: Instance, image: str) -> Instance:
        image_id = self._image_id(image)
        with self._api(f"rebuild {instance.name}"):
            self.conn.compute.rebuild_server(instance.id, image=image_id)
        return Instance(id=instance.id, name=instance.name, image=image, scenario=instance.scenario)

    def delete(self, instance: Instance) -> None:
        with self._api(f"delete {instance.name}"):
            self.conn.compute.delete_server(instance.id, ignore_missing=True)

    # -- sweeping ---------------------------------------------------------
    def list_owned(self) -> list[OwnedResource]:
        found: list[OwnedResource] = []
        with self._api("list servers"):
            for server in self.conn.compute.servers(name=f"^{naming.PREFIX}"):
                metadata = server.metadata or {}
                if metadata.get(naming.LABEL_OWNER) == naming.OWNER_VALUE:
                    found.append(
                        OwnedResource.from_labels(naming.KIND_INSTANCE, server.id, metadata)
                    )
        with self._api("list images"):
            for image in self.image_api.images(owner=self.conn.current_project_id):
                properties = image.properties or {}
                if properties.get(naming.LABEL_OWNER) == naming.OWNER_VALUE:
                    found.append(OwnedResource.from_labels(naming.KIND_IMAGE, image.id, properties))
        return found

    def remove(self, resource: OwnedResource) -> None:
        if resource.kind == naming.KIND_IMAGE:
            self.delete_image(resource.name)
            return
        self.remove_instance(resource.name)
