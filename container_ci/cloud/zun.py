"""The container service on the local cloud: Zun 18 and kuryr-libnetwork 18.

`cloud up --with container-service` adds it. Its processes:

- `zun-api` under gunicorn, like the other APIs;
- `kuryr-libnetwork`, Docker's network plugin (a spec file in
  /etc/docker/plugins points Docker at it on 127.0.0.1). It binds each
  container's Neutron port to the host it reads from `gethostname()`, and
  Neutron's agents report as `configs.COMPUTE_HOST`: so it runs in a UTS
  namespace of its own named that, and the OVS agent wires the container's
  veth into br-int beside Nova's servers (kuryr's `ovs` binding);
- `zun-compute` on the Docker Engine `container-ci setup` runs. Zun manages
  the node Docker calls itself (`docker info` Name, the machine's hostname),
  which is also the name of Nova's resource provider: so this host shares
  Nova's provider (`[compute] host_shared_with_nova`, Zun's setting for a
  machine that also runs nova-compute);
- a second Docker Engine, `cci-zun-2` (its own data root, exec root, socket
  and UTS namespace, no bridge or iptables rules of its own), and its
  `zun-compute-2` with a resource provider of its own: two zun-computes on
  one engine would take over each other's containers.

Zun and kuryr get a virtualenv of their own: kuryr-lib still calls pyroute2's
IPDB, and their pins are not Nova's. Images come from Glance, as `docker save`
tarballs of the guest images (container format `docker`), so nothing is
pulled from a registry."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import re
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from container_ci.cloud import configs, network
from container_ci.cloud.layout import HOST, PORTS, REGION, Layout
from container_ci.errors import CloudError
from container_ci.targets.container_service import CONTAINER_IMAGES, MICROVERSION

if TYPE_CHECKING:
    from openstack.connection import Connection

COMPONENT = "container-service"
PACKAGES = (
    "zun==18.0.0",
    "kuryr-libnetwork==18.0.0",
    "kuryr-lib==3.5.0",
    "gunicorn==27.0.1",
    "PyMySQL==1.2.4",
    "PasteDeploy",  # zun.api.app imports paste.deploy; not in zun's requirements
)
# pciutils: zun-compute's inventory runs lspci (without it no resource
# provider, and every create finds "not enough hosts"); numactl: its NUMA
# inventory; bridge-utils: kuryr's binding scripts call brctl.
DEBIAN_PACKAGES = ("pciutils", "numactl", "bridge-utils")
SERVICE_USERS = ("zun", "kuryr")
CATALOG_ENTRY = ("zun", "container", "zun-api", "")  # the API root: clients add /v1
SECOND_HOST = "cci-zun-2"
# Docker's network plugin discovery reads spec files here (no restart needed).
PLUGIN_SPEC = Path("/etc/docker/plugins/kuryr.spec")
IMAGE_HASH = "container_ci_docker_image"
# How the cloud's own calls reach Zun: the catalogue's entry, and the
# microversion the container-service target and the plugin send.
ENDPOINT = {"service_type": "container", "interface": "public"}
HEADERS = {"OpenStack-API-Version": MICROVERSION}  # image property: the Docker image id it holds


# -- install --------------------------------------------------------------------


def install_venv(layout: Layout, say: Callable[[str], None]) -> bool:
    """Create or update Zun's and kuryr's venv; True if anything was installed."""
    from container_ci.cloud.install import ensure_venv

    stamp = hashlib.sha256("\n".join(PACKAGES).encode()).hexdigest()
    return ensure_venv(layout.zun_venv, PACKAGES, stamp, say, "container service's")


# -- configuration --------------------------------------------------------------


def docker_host_name() -> str:
    """What the setup's Docker Engine calls itself: the node Zun manages there."""
    import docker
    import docker.errors

    try:
        client = docker.from_env(timeout=30)
        try:
            return str(client.info()["Name"])
        finally:
            client.close()
    except docker.errors.DockerException as exc:
        raise CloudError(f"the Docker Engine does not answer: {exc}") from exc


def first_host(layout: Layout) -> str:
    """The first zun-compute's host, as `write_configs` wrote it."""
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    parser.read(layout.config_dir("zun") / "compute-1.conf")
    return parser.get("DEFAULT", "host", fallback="")


def zun_conf(layout: Layout, password: str) -> configs.Sections:
    """What the API and both computes share."""
    state = layout.data / "zun"
    return {
        "DEFAULT": {
            **configs.COMMON,
            "debug": "true",
            "transport_url": configs.transport_url(password),
            "state_path": str(state),
            "my_ip": HOST,
            "container_driver": "docker",
            # The CRI capsule driver needs containerd's CRI socket; no test uses capsules.
            "capsule_driver": "docker",
            "image_driver_list": "glance,docker",
            "default_image_driver": "glance",
            # As devstack: no default reservations, so a container claims nothing
            # it did not ask for.
            "default_cpu": "0",
            "default_memory": "0",
            "default_disk": "0",
        },
        "api": {
            "host_ip": HOST,
            "port": str(PORTS["zun-api"]),
            "api_paste_config": str(layout.config_dir("zun") / "api-paste.ini"),
            "workers": "1",
        },
        "database": {"connection": layout.database_url("zun", password)},
        "keystone_authtoken": configs._authtoken(layout, "zun", password),
        "keystone_auth": configs._auth(layout, "zun", password),
        "neutron_client": {"region_name": REGION},
        "glance_client": {"region_name": REGION},
        "network": {"driver": "kuryr"},
        "oslo_concurrency": {"lock_path": str(state / "locks")},
        "oslo_messaging_notifications": {"driver": "noop"},
    }


def compute_conf(
    layout: Layout, host: str, docker_url: str | None, shared: bool
) -> configs.Sections:
    """One zun-compute's own options, read after zun.conf."""
    state = layout.data / "zun" / host
    sections: configs.Sections = {
        "DEFAULT": {"host": host, "state_path": str(state)},
        "compute": {"host_shared_with_nova": str(shared).lower()},
        "glance": {"images_directory": str(state / "images")},
        "oslo_concurrency": {"lock_path": str(state / "locks")},
    }
    if docker_url:
        sections["docker"] = {"api_url": docker_url}
    return sections


# kuryr runs `<bindir>/<the port's vif_type> bind|unbind PORT VETH CONTAINER MAC ...`.
# Its own `ovs` script plugs into a bridge named br-int; the cloud's is
# network.INTEGRATION_BRIDGE. This one does what it does, on ours: the host
# end of the veth joins the bridge, tagged with the Neutron port it is, and
# the OVS agent wires it as it wires Nova's servers' ports.
OVS_BINDING = """#!/bin/sh
# Written by container-ci cloud up: kuryr's ovs binding on the local cloud's bridge.
set -e
vsctl() {{ ovs-vsctl --db={db} --timeout=10 "$@"; }}
case "$1" in
bind)
    vsctl -- --may-exist add-port {bridge} "$3" -- set interface "$3" \\
        external_ids:attached-mac="$5" external_ids:iface-id="$2" \\
        external_ids:vm-uuid="$4" external_ids:iface-status=active external_ids:owner=kuryr
    ;;
unbind)
    name=$(vsctl --data=bare --no-heading --columns=name find interface \\
        external_ids:iface-id="$2" external_ids:owner=kuryr)
    if [ -n "$name" ]; then vsctl --if-exists del-port {bridge} "$name"; fi
    ;;
*)
    echo "$0: unknown operation $1" >&2
    exit 1
    ;;
esac
"""


def binding_dir(layout: Layout) -> Path:
    return layout.config_dir("kuryr") / "bin"


def write_binding(layout: Layout) -> None:
    script = binding_dir(layout) / "ovs"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(OVS_BINDING.format(db=network.OVSDB, bridge=network.INTEGRATION_BRIDGE))
    script.chmod(0o700)  # kuryr runs it as root; nobody else has a use for it


def kuryr_conf(layout: Layout, password: str) -> configs.Sections:
    return {
        "DEFAULT": {
            **configs.COMMON,
            "bindir": str(binding_dir(layout)),
            "kuryr_uri": f"http://{HOST}:{PORTS['kuryr']}",
            "capability_scope": "local",
            "process_external_connectivity": "false",
        },
        "neutron": {**configs._auth(layout, "kuryr", password), "endpoint_type": "public"},
        "binding": {"default_driver": "kuryr.lib.binding.drivers.veth"},
    }


def write_configs(layout: Layout, password: str, first_host: str) -> None:
    etc = layout.config_dir("zun")
    configs.write_ini(etc / "zun.conf", zun_conf(layout, password))
    configs.write_ini(etc / "compute-1.conf", compute_conf(layout, first_host, None, shared=True))
    configs.write_ini(
        etc / "compute-2.conf",
        compute_conf(layout, SECOND_HOST, f"unix://{layout.second_docker_socket}", shared=False),
    )
    configs.write_ini(layout.config_dir("kuryr") / "kuryr.conf", kuryr_conf(layout, password))
    write_binding(layout)
    shipped = layout.zun_venv / "etc" / "zun" / "api-paste.ini"
    (etc / "api-paste.ini").write_text(shipped.read_text())


def write_plugin_spec() -> None:
    """Docker finds kuryr's socket through this file."""
    PLUGIN_SPEC.parent.mkdir(parents=True, exist_ok=True)
    PLUGIN_SPEC.write_text(f"http://{HOST}:{PORTS['kuryr']}\n")


def remove_plugin_spec() -> bool:
    """Ours only: a spec naming our port."""
    if PLUGIN_SPEC.exists() and str(PORTS["kuryr"]) in PLUGIN_SPEC.read_text():
        PLUGIN_SPEC.unlink()
        return True
    return False


# -- bootstrap ------------------------------------------------------------------


def db_upgrade(layout: Layout) -> None:
    conf = layout.config_dir("zun") / "zun.conf"
    done = subprocess.run(
        [str(layout.zun_bin("zun-db-manage")), "--config-file", str(conf), "upgrade"],
        capture_output=True,
        text=True,
        check=False,
        cwd=layout.root,
    )
    log = layout.logfile("manage")
    with open(log, "a") as handle:
        handle.write(f"\n--- zun-db-manage upgrade\n{done.stdout}{done.stderr}")
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:]
        raise CloudError(f"zun-db-manage upgrade exited {done.returncode}: {tail} (log: {log})")


def register_images(connection: Connection, layout: Layout) -> list[str]:
    """`docker save` of each guest image into Glance as container format
    `docker`, replaced when the Docker image changed."""
    import docker

    from container_ci.cloud.bootstrap import ensure_image, image_api
    from container_ci.provision import rootfs

    images = image_api(connection)
    created: list[str] = []
    client = docker.from_env(timeout=120)

    @contextlib.contextmanager
    def saved(ref: str) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(dir=layout.data) as scratch:
            tarball = Path(scratch) / "image.tar"
            with open(tarball, "wb") as handle:
                for chunk in client.api.get_image(ref):
                    handle.write(chunk)
            yield tarball

    try:
        for variant in rootfs.VARIANTS:
            ref = rootfs.image_ref(variant)
            made = ensure_image(
                images,
                CONTAINER_IMAGES[variant],  # Nova's raw images keep the plain names
                (IMAGE_HASH, str(client.images.get(ref).id)),
                "docker",
                functools.partial(saved, ref),
            )
            if made:
                created.append(made)
    finally:
        client.close()
    return created


def hosts_up(connection: Connection) -> dict[str, bool]:
    """zun-compute services -> up, from Zun's own service list."""
    response = connection.session.get(
        "/v1/services",
        endpoint_filter=ENDPOINT,
        headers=HEADERS,
        raise_exc=False,
    )
    if response.status_code != 200:
        return {}
    return {
        service["host"]: service["state"] == "up"
        for service in response.json().get("services", [])
        if service["binary"] == "zun-compute"
    }


def delete_containers(connection: Connection, timeout: float = 120) -> int:
    """Every container of every project, forced, waited for; how many there
    were. Forced alone (no `stop`): Zun refuses stop-then-delete of a
    container still Creating, and a forced delete that fails on the compute
    leaves it in Error, which the next round deletes."""
    endpoint, headers = ENDPOINT, HEADERS

    def listed() -> list[dict[str, Any]]:
        response = connection.session.get(
            "/v1/containers?all_projects=True", endpoint_filter=endpoint, headers=headers,
            raise_exc=False,
        )  # fmt: skip
        if response.status_code != 200:
            raise CloudError(f"zun: listing containers: HTTP {response.status_code}")
        return list(response.json().get("containers", []))

    remaining = listed()
    count = len(remaining)
    deadline = time.monotonic() + timeout
    while remaining:
        for container in remaining:
            if container.get("task_state") != "container_deleting":
                connection.session.delete(
                    f"/v1/containers/{container['uuid']}?force=True&all_projects=True",
                    endpoint_filter=endpoint,
                    headers=headers,
                    raise_exc=False,
                )
        if time.monotonic() > deadline:
            raise CloudError(
                f"{len(remaining)} container(s) still there {timeout:g}s after their delete: "
                + ", ".join(f"{c['uuid']} ({c['status']})" for c in remaining)
            )
        time.sleep(1)
        remaining = listed()
    return count


def engines(layout: Layout) -> list[str | None]:
    """The Docker Engines the container service uses that answer: None is
    the setup's (the environment's default)."""
    found: list[str | None] = [None]
    if layout.second_docker_socket.exists():
        found.append(f"unix://{layout.second_docker_socket}")
    return found


def remove_leftovers(engine: str | None) -> tuple[list[str], list[str]]:
    """On one engine: Zun's containers (named `zun-<uuid>`) and the networks
    made with kuryr's driver; what was removed, and the removed networks'
    ids. What cannot be reached is skipped: `down` goes on."""
    import docker
    import docker.errors

    removed: list[str] = []
    network_ids: list[str] = []
    try:
        client = docker.DockerClient(base_url=engine, timeout=30) if engine else docker.from_env()
    except docker.errors.DockerException:
        return removed, network_ids
    where = engine or "the Docker Engine"
    try:
        for container in client.containers.list(all=True, filters={"name": "^zun-"}):
            container.remove(force=True)
            removed.append(f"container {container.name} on {where}")
        for network in client.networks.list(filters={"driver": "kuryr"}):
            try:
                network.remove()
            except docker.errors.APIError:
                continue
            removed.append(f"Docker network {network.name} on {where}")
            network_ids.append(str(network.id))
    except (docker.errors.DockerException, OSError):
        pass
    finally:
        client.close()
    return removed, network_ids


def forget_networks(layout: Layout, network_ids: list[str]) -> None:
    """Zun's records of Docker networks that are gone. Zun creates a Docker
    network only when its record is absent too: left, the record makes every
    later create on that network fail ("A network ... already exists")."""
    from container_ci.cloud import mariadb

    if network_ids:
        quoted = ", ".join(f"'{network_id}'" for network_id in network_ids if network_id.isalnum())
        mariadb.execute(
            layout, [f"DELETE FROM zun.network WHERE network_id IN ({quoted})"], "forgetting"
        )


# kuryr's veth pairs: `tap<port id[:11]>` on the host, `t_c<port id[:11]>`
# for the container (Docker moves it in and renames it). A pair whose
# container is gone, or whose binding failed, stays in the host's namespace.
_KURYR_VETH = re.compile(r"^t_c[0-9a-f]{8}-[0-9a-f]{2}$")


def remove_kuryr_veths() -> list[str]:
    """Deleting one end deletes the pair."""
    listed = subprocess.run(["ip", "-j", "link"], capture_output=True, text=True, check=False)
    removed = []
    for link in json.loads(listed.stdout or "[]"):
        name = link.get("ifname", "")
        if _KURYR_VETH.match(name):
            done = subprocess.run(["ip", "link", "del", name], capture_output=True, check=False)
            if done.returncode == 0:
                removed.append(f"veth {name}")
    return removed
