"""The `docker` target: an instance is a container on the local Docker Engine.

State waits are driven by the Docker events API (filtered to this run's
labels); polling is only the fallback when the stream is down."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

# docker's SDK imports its ssh:// transport, and with it paramiko and invoke,
# whenever paramiko is installed (Tempest needs it): 0.1-0.2 s at the start
# of every run, for a transport only DOCKER_HOST=ssh://... uses. A module
# marked absent (None in sys.modules, the import system's convention, which
# typeshed does not type) is what the SDK already handles when paramiko is
# missing.
if not os.environ.get("DOCKER_HOST", "").startswith("ssh://"):
    sys.modules.setdefault("docker.transport.sshconn", None)  # type: ignore[arg-type]

import docker  # noqa: E402
import docker.errors  # noqa: E402
import requests.exceptions  # noqa: E402

from container_ci import naming
from container_ci.errors import (
    ExpectationFailed,
    ImageNotFound,
    InfrastructureError,
    TargetUnavailable,
    Unsupported,
    first_line,
)
from container_ci.naming import Owner
from container_ci.targets import containerd_orphans
from container_ci.targets.base import (
    ExecResult,
    Instance,
    InstanceState,
    OwnedResource,
    Target,
    choose_for_sweep,
)

if TYPE_CHECKING:
    from docker.models.containers import Container
    from docker.types.daemon import CancellableStream

SNAPSHOT_REPO = "cci-snap"
LOCAL_ENGINE_URL = "http+docker://localhost"  # docker-py's name for a Unix socket
STOP_TIMEOUT = 10  # seconds docker waits after SIGTERM before SIGKILL
SUSPEND_REASON = (
    "Docker suspend is checkpoint/restore (CRIU, experimental daemon); CRIU cannot "
    "checkpoint on this kernel"
)

_CONNECTION_ERRORS = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    ConnectionError,
    TimeoutError,
)


@contextlib.contextmanager
def translated_errors(what: str) -> Iterator[None]:
    """Turn docker SDK errors into the contract's error classes."""
    try:
        yield
    except docker.errors.ImageNotFound as exc:
        raise ImageNotFound(str(exc.explanation or exc)) from exc
    except docker.errors.APIError as exc:
        if exc.status_code is not None and exc.status_code >= 500 and _daemon_gone(exc):
            raise InfrastructureError(f"docker: {what}: {exc.explanation or exc}") from exc
        raise ExpectationFailed(f"docker: {what}: {exc.explanation or exc}") from exc
    except _CONNECTION_ERRORS as exc:
        raise InfrastructureError(f"docker: {what}: Docker Engine unreachable: {exc}") from exc
    except docker.errors.DockerException as exc:
        raise InfrastructureError(f"docker: {what}: {exc}") from exc


STREAM_STDOUT, STREAM_STDERR = 1, 2  # the Engine's multiplexed stream's frame types


def demultiplex(raw: bytes) -> tuple[bytes, bytes]:
    """stdout and stderr from the Engine's multiplexed stream (no TTY):
    frames of an 8-byte header (the stream's type, three zero bytes, the
    payload's length as a big-endian 32-bit integer) and the payload. A
    torn last frame keeps what arrived of it."""
    out = {STREAM_STDOUT: bytearray(), STREAM_STDERR: bytearray()}
    offset = 0
    while offset + 8 <= len(raw):
        kind, size = raw[offset], int.from_bytes(raw[offset + 4 : offset + 8], "big")
        payload = raw[offset + 8 : offset + 8 + size]
        out.get(kind, out[STREAM_STDOUT]).extend(payload)
        offset += 8 + size
    return bytes(out[STREAM_STDOUT]), bytes(out[STREAM_STDERR])


def _daemon_gone(exc: docker.errors.APIError) -> bool:
    text = str(exc.explanation or "").lower()
    return "connection" in text or "shutting down" in text


class DockerTarget(Target):
    name = "docker"
    console_poll_interval = 0.02  # two calls on the local daemon's socket, ~2 ms

    def __init__(self, owner: Owner, base_url: str | None = None) -> None:
        super().__init__(owner)
        self._base_url = base_url
        self._client: docker.DockerClient | None = None
        self._events_stop = threading.Event()
        self._events_thread: threading.Thread | None = None
        self._events_stream: CancellableStream[dict[str, Any]] | None = None

    # -- connection -------------------------------------------------------
    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            raise InfrastructureError("docker: not connected")
        return self._client

    def connect(self) -> str:
        try:
            if self._base_url:
                client = docker.DockerClient(base_url=self._base_url, timeout=60)
            else:
                client = docker.from_env(timeout=60)
            version = client.version()  # answered: the engine is reachable
        except Exception as exc:  # noqa: BLE001 - any failure here means "unreachable"
            where = self._base_url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
            raise TargetUnavailable(
                f"docker: cannot reach the Docker Engine at {where}: {first_line(exc)} "
                "(run `container-ci setup`)"
            ) from exc
        self._client = client
        self._events_thread = threading.Thread(
            target=self._follow_events, name="cci-docker-events", daemon=True
        )
        self._events_thread.start()
        return f"Docker Engine {version.get('Version', '?')} (API {version.get('ApiVersion', '?')})"

    def close(self) -> None:
        self._events_stop.set()
        stream = self._events_stream
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.close()
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()

    def _follow_events(self) -> None:
        """Wake state waiters on every container event of this run; reconnect on loss."""
        filters = {"type": "container", "label": f"{naming.LABEL_RUN_ID}={self.owner.run_id}"}
        while not self._events_stop.is_set():
            try:
                self._events_stream = self.client.events(decode=True, filters=filters)
                for _event in self._events_stream:
                    self.waiter.notify()
                    if self._events_stop.is_set():
                        return
            except Exception:  # noqa: BLE001 - stream lost: polling covers until it is back
                pass
            self.waiter.notify()
            self._events_stop.wait(1.0)

    # -- images -----------------------------------------------------------
    def delete_image(self, image: str) -> None:
        with (
            translated_errors(f"delete image {image}"),
            contextlib.suppress(docker.errors.ImageNotFound),
        ):
            self.client.images.remove(image, force=True)

    # -- lifecycle --------------------------------------------------------
    def _labels(self, scenario: str, instance_id: str) -> dict[str, str]:
        return naming.labels(self.owner, naming.KIND_INSTANCE, scenario, instance_id)

    def _container(self, instance: Instance) -> Container:
        """A handle on the instance's container, by name, with no call to the
        daemon: an operation through it is one API call (a missing container
        fails that call), not an inspect first."""
        return self.client.containers.prepare_model({"Id": instance.name})

    def _inspected(self, instance: Instance) -> Container:
        """The container with its attributes (labels, name) read from the daemon."""
        with translated_errors(f"look up {instance.name}"):
            return self.client.containers.get(instance.name)

    def create(self, name: str, image: str, scenario: str) -> Instance:
        instance_id = str(uuid.uuid4())
        self._run_container(name, image, self._labels(scenario, instance_id))
        return Instance(id=instance_id, name=name, image=image, scenario=scenario)

    def _run_container(self, name: str, image: str, labels: dict[str, str]) -> None:
        with translated_errors(f"create {name} from {image}"):
            container = self.client.containers.create(
                image,
                name=name,
                hostname=name,
                labels=labels,
                network_mode="none",  # guests reach nothing; exec needs no network
                mem_limit="64m",
                stop_signal="SIGTERM",
                detach=True,
            )
            try:
                container.start()
            except BaseException:
                with contextlib.suppress(Exception):
                    container.remove(force=True)
                raise

    def state(self, instance: Instance) -> InstanceState:
        with translated_errors(f"state of {instance.name}"):
            try:
                container = self.client.containers.get(instance.name)
            except docker.errors.NotFound:
                return InstanceState.GONE
            status = container.attrs.get("State", {})
        if status.get("Paused"):
            return InstanceState.PAUSED
        if status.get("Restarting"):
            return InstanceState.BUILDING
        if status.get("Running"):
            return InstanceState.ACTIVE
        if status.get("Status") in ("exited", "created"):
            return InstanceState.SHUTOFF
        if status.get("Dead"):
            return InstanceState.ERROR
        return InstanceState.BUILDING

    def identity(self, instance: Instance) -> str:
        container = self._inspected(instance)
        return f"{container.labels.get(naming.LABEL_INSTANCE_ID, '')}/{container.name}"

    def console_log(self, instance: Instance) -> str:
        container = self._container(instance)
        with translated_errors(f"console of {instance.name}"):
            return container.logs(stdout=True, stderr=True).decode(errors="replace")

    def exec(self, instance: Instance, argv: list[str], timeout: float) -> ExecResult:
        """The Engine API's exec, its output read as the HTTP body.

        Not docker-py's exec_run: its exec_start reads the hijacked stream
        from the raw socket under http.client's buffered reader, so output
        that arrived in the same read as the response headers is lost (an
        exit 0 with no output; docker-py issue 3332, open). bench/chaos met
        it under load: `cat /etc/cci-image` in a just-booted container
        answered '' (1 run in 26). Started without the Upgrade headers, the
        Engine answers 200 with the raw stream as the body and closes the
        connection at its end, and requests reads all of it, buffer
        included. The step's deadline bounds the call (runner.timeouts)."""
        container = self._container(instance)
        api = self.client.api
        with translated_errors(f"exec in {instance.name}"):
            exec_id = api.exec_create(container.id, argv, stdout=True, stderr=True)["Id"]
            url = f"{api.base_url}/v{api.api_version}/exec/{exec_id}/start"
            response = api.post(url, json={"Detach": False, "Tty": False})
            try:
                response.raise_for_status()
            except requests.exceptions.HTTPError as exc:
                raise docker.errors.create_api_error_from_http_exception(exc) from exc
            stdout, stderr = demultiplex(response.content)
            exit_code = api.exec_inspect(exec_id)["ExitCode"]
        return ExecResult(
            exit_code=exit_code if exit_code is not None else -1,
            stdout=stdout.decode(errors="replace"),
            stderr=stderr.decode(errors="replace"),
        )

    def reboot(self, instance: Instance) -> None:
        container = self._container(instance)
        with translated_errors(f"reboot {instance.name}"):
            container.restart(timeout=STOP_TIMEOUT)

    def stop(self, instance: Instance) -> None:
        container = self._container(instance)
        with translated_errors(f"stop {instance.name}"):
            container.stop(timeout=STOP_TIMEOUT)

    def start(self, instance: Instance) -> None:
        container = self._container(instance)
        with translated_errors(f"start {instance.name}"):
            container.start()

    def pause(self, instance: Instance) -> None:
        container = self._container(instance)
        with translated_errors(f"pause {instance.name}"):
            container.pause()

    def unpause(self, instance: Instance) -> None:
        container = self._container(instance)
        with translated_errors(f"unpause {instance.name}"):
            container.unpause()

    def suspend(self, instance: Instance) -> None:
        raise Unsupported("suspend", SUSPEND_REASON)

    def resume(self, instance: Instance) -> None:
        raise Unsupported("resume", SUSPEND_REASON)

    def snapshot(self, instance: Instance, alias: str) -> str:
        container = self._container(instance)
        tag = f"{self.owner.run_id}-{naming.slug(instance.scenario)}-{naming.slug(alias)}"
        labels = naming.labels(self.owner, naming.KIND_IMAGE, instance.scenario)
        with translated_errors(f"snapshot {instance.name}"):
            container.commit(repository=SNAPSHOT_REPO, tag=tag, conf={"Labels": labels})
        return f"{SNAPSHOT_REPO}:{tag}"

    def rebuild(self, instance: Instance, image: str) -> Instance:
        """Recreate the container from `image` under the same name, hostname and id."""
        with translated_errors(f"check image {image}"):
            self.client.images.get(image)
        container = self._inspected(instance)
        labels = dict(container.labels)
        with translated_errors(f"rebuild {instance.name}"):
            container.remove(force=True)
        self._run_container(instance.name, image, labels)
        instance.image = image
        return instance

    def delete(self, instance: Instance) -> None:
        with (
            translated_errors(f"delete {instance.name}"),
            contextlib.suppress(docker.errors.NotFound),
        ):
            self.client.containers.get(instance.name).remove(force=True)

    # -- sweeping ---------------------------------------------------------
    def list_owned(self) -> list[OwnedResource]:
        return self._engine_owned() + self._orphans()

    def _engine_owned(self) -> list[OwnedResource]:
        """One list call each for containers and images (the SDK's high-level
        list inspects every container, which races with concurrent deletes)."""
        owned_label = f"{naming.LABEL_OWNER}={naming.OWNER_VALUE}"
        found: list[OwnedResource] = []
        with translated_errors("list owned containers"):
            for entry in self.client.api.containers(all=True, filters={"label": owned_label}):
                name = (entry.get("Names") or [entry["Id"]])[0].lstrip("/")
                found.append(
                    OwnedResource.from_labels(naming.KIND_INSTANCE, name, entry.get("Labels") or {})
                )
            image_filter = {"label": [owned_label, f"{naming.LABEL_KIND}={naming.KIND_IMAGE}"]}
            for entry in self.client.api.images(filters=image_filter):
                # An image that lost its tag (a snapshot whose tag went while
                # a container still used it) is listed as "<none>:<none>",
                # which no call takes: it goes by its id. That name had made
                # every later sweep fail (bench/chaos).
                tags = [tag for tag in entry.get("RepoTags") or [] if tag != "<none>:<none>"]
                for tag in tags or [entry["Id"]]:
                    found.append(
                        OwnedResource.from_labels(naming.KIND_IMAGE, tag, entry.get("Labels") or {})
                    )
        return found

    def _orphans(self) -> list[OwnedResource]:
        """Containers a killed dockerd left in containerd (see
        containerd_orphans), for a local Engine whose containerd this
        process may reach. No labels survive there: such a container has no
        owner (so it is stale) and no run id; its name says its run."""
        address = self._containerd_address()
        if address is None:
            return []
        with translated_errors("list containerd's containers"):
            shims = containerd_orphans.running_shims()
            recorded = containerd_orphans.list_ids(address)
            engine_ids = {entry["Id"] for entry in self.client.api.containers(all=True)}
        return [
            OwnedResource(naming.KIND_ORPHAN, orphan.hostname, "", None, backend_id=orphan.id)
            for orphan in containerd_orphans.find_orphans(
                address, shims, recorded, engine_ids, naming.PREFIX
            )
        ]

    def sweep(self, run_id: str | None = None, include_live: bool = False) -> list[OwnedResource]:
        """The Engine's leftovers, then containerd's orphans, listed only
        after those removals: a container the Engine removes can leave its
        containerd record or shim behind, which shows up only then
        (bench/chaos: the first sweep after a dockerd SIGKILL)."""
        removed = self.remove_all(choose_for_sweep(self._engine_owned(), run_id, include_live))
        return removed + self.remove_all(choose_for_sweep(self._orphans(), run_id, include_live))

    def _containerd_address(self) -> Path | None:
        if self.client.api.base_url != LOCAL_ENGINE_URL:
            return None  # a remote Engine's containerd is not on this machine
        return containerd_orphans.containerd_address()

    def remove(self, resource: OwnedResource) -> None:
        if resource.kind == naming.KIND_ORPHAN:
            address = self._containerd_address()
            if address is not None:
                containerd_orphans.remove_orphan(address, resource.backend_id, resource.name)
            return
        with translated_errors(f"remove {resource.kind} {resource.name}"):
            if resource.kind == naming.KIND_INSTANCE:
                with contextlib.suppress(docker.errors.NotFound):
                    self.client.containers.get(resource.name).remove(force=True)
            else:
                with contextlib.suppress(docker.errors.ImageNotFound):
                    self.client.images.remove(resource.name, force=True)
