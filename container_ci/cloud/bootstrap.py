"""One-time set-up of a fresh local cloud, and the catalogue it serves.

Database schemas are created before the services start; users, endpoints,
the guest images and the flavor once Keystone, Glance and Nova answer. Each
step looks before it acts, so `up` on a running cloud changes nothing."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import secrets
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openstack
from openstack.connection import Connection
from openstack.identity.v3._proxy import Proxy as IdentityV3
from openstack.identity.v3.project import Project
from openstack.identity.v3.user import User
from openstack.image.v2._proxy import Proxy as ImageV2

from container_ci.cloud import guest_image, mariadb, network, processes, zun
from container_ci.cloud.configs import COMPUTE_HOST, SERVICE_USERS
from container_ci.cloud.install import SERVICE_PACKAGES
from container_ci.cloud.layout import REGION, Layout
from container_ci.cloud.services import queue_consumers
from container_ci.errors import CloudError
from container_ci.private import redact
from container_ci.provision import rootfs
from container_ci.stale_connections import retry_safe_requests

# 1 vCPU, 1 GB disk: plenty for busybox. Two, as devstack makes: tests of
# resizing and of listing by flavor need a second one (Tempest's flavor_ref_alt).
FLAVORS = {"cci.tiny": 128, "cci.small": 192}
DEMO_PROJECT = "cci-demo"
DEMO_USER = "cci-demo"
GUEST_HASH = "container_ci_guest_hash"  # image property: which guest build it is
NOVA_RPC_SERVICES = ("nova-conductor", "nova-scheduler", "nova-compute")
COMPUTE_QUEUE = f"compute.{COMPUTE_HOST}"  # the queue nova-compute consumes, by host
CATALOG = (
    # service name, type, port key, path
    ("keystone", "identity", "keystone", "/v3"),
    ("placement", "placement", "placement", ""),
    ("glance", "image", "glance", ""),
    ("neutron", "network", "neutron", ""),
    ("nova", "compute", "nova-api", "/v2.1"),
)


@dataclass
class CloudState:
    """What survives between `up`s (mode 0600: it holds the password)."""

    password: str
    schema_for: str = ""  # the pin list the schemas were created for
    zun_schema_for: str = ""  # the same, for the container service's database
    compute_driver: str = "libvirt-lxc"  # nova-compute's, as `up --compute-driver` last set it

    @classmethod
    def load_or_create(cls, layout: Layout) -> CloudState:
        try:
            data = json.loads(layout.state_file.read_text())
            return cls(**data)
        except FileNotFoundError:
            state = cls(password=secrets.token_urlsafe(18))
            state.save(layout)
            return state

    def save(self, layout: Layout) -> None:
        layout.root.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(layout.state_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(self.__dict__, handle, indent=2)


_MANAGE_LOG = threading.Lock()  # the schema chains run at once; one log


@dataclass(frozen=True)
class ManageStep:
    """A manage command; what it needs that is secret goes in `env`, which
    only its owner can read (/proc/<pid>/environ), never in `argv`, which
    every local user can (/proc/<pid>/cmdline)."""

    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()


def _manage(layout: Layout, step: ManageStep, secret: str) -> None:
    """One of the services' manage commands, its output appended to the
    `manage` log in one piece (they run concurrently), `secret` replaced
    wherever the output quotes it."""
    log = layout.logfile("manage")
    log.parent.mkdir(parents=True, exist_ok=True)
    argv = step.argv
    command = [str(layout.bin(argv[0])), *argv[1:]]
    done = subprocess.run(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        env={**os.environ, **dict(step.env)},
        check=False,
        cwd=layout.root,
    )
    output = redact(done.stdout, secret)
    with _MANAGE_LOG, open(log, "a") as handle:
        handle.write(f"\n--- {redact(' '.join(command), secret)}\n{output}")
    if done.returncode != 0 and not _already_done(argv, output):
        tail = output.strip().splitlines()[-1:]
        raise CloudError(
            f"{' '.join(argv[:3])} exited {done.returncode}: {' '.join(tail)[:300]} (log: {log})"
        )


def _already_done(argv: tuple[str, ...], output: str) -> bool:
    """`nova-manage cell_v2 create_cell` exits 2 when cell1 exists: the
    schemas run again whenever the pin list changes (an upgrade), and
    then cell1 is there from the first time."""
    return "create_cell" in argv and "already exists for another cell" in output


def create_schemas(layout: Layout, state: CloudState, say: Callable[[str], None]) -> bool:
    """Every database, at the installed releases' schema. Skipped when done
    for these pins. The five services' chains run at once: each is
    independent of the others, and one after another they took 30 s of a
    cold `up`."""
    mariadb.create_databases(layout, state.password)
    stamp = "\n".join(SERVICE_PACKAGES)
    if state.schema_for == stamp:
        return False
    say("creating the databases (keystone, placement, glance, neutron, nova)")
    chains = _schema_chains(layout, state)
    with ThreadPoolExecutor(max_workers=len(chains)) as pool:
        running = [pool.submit(_run_chain, layout, chain, state.password) for chain in chains]
        for future in running:
            future.result()  # the first failure, once every chain has ended
    state.schema_for = stamp
    state.save(layout)
    return True


def _run_chain(layout: Layout, chain: list[ManageStep], secret: str) -> None:
    for step in chain:
        _manage(layout, step, secret)


def _schema_chains(layout: Layout, state: CloudState) -> list[list[ManageStep]]:
    """Per service, its manage commands in order. Two need the password:
    keystone-manage bootstrap reads it from `OS_BOOTSTRAP_PASSWORD`; cell0's
    database URL is what nova-manage derives from `[database] connection`
    (the database's name + `_cell0`), given in oslo.config's environment
    variable for that option, as the `nova` database, for that call only."""
    etc = layout.etc
    keystone = ("--config-file", str(etc / "keystone" / "keystone.conf"))
    as_root = ("--keystone-user", "root", "--keystone-group", "root")
    keystone_url = layout.url("keystone", "/v3")
    nova = ("--config-file", str(etc / "nova" / "nova.conf"))
    cell0 = (("OS_DATABASE__CONNECTION", layout.database_url("nova", state.password)),)
    return [
        [
            ManageStep(("keystone-manage", *keystone, "db_sync")),
            ManageStep(("keystone-manage", *keystone, "fernet_setup", *as_root)),
            ManageStep(("keystone-manage", *keystone, "credential_setup", *as_root)),
            ManageStep(("keystone-manage", *keystone, "bootstrap",
                        "--bootstrap-admin-url", keystone_url,
                        "--bootstrap-public-url", keystone_url,
                        "--bootstrap-internal-url", keystone_url,
                        "--bootstrap-region-id", REGION),
                       env=(("OS_BOOTSTRAP_PASSWORD", state.password),)),
        ],
        [ManageStep(("placement-manage", "--config-file",
                     str(etc / "placement" / "placement.conf"), "db", "sync"))],
        [ManageStep(("glance-manage", "--config-file", str(etc / "glance" / "glance-api.conf"),
                     "db_sync"))],
        [
            ManageStep(("neutron-db-manage",
                        "--config-file", str(etc / "neutron" / "neutron.conf"),
                        "--config-file", str(etc / "neutron" / "plugins" / "ml2" / "ml2_conf.ini"),
                        "upgrade", "heads")),
        ],
        [
            ManageStep(("nova-manage", *nova, "api_db", "sync")),
            ManageStep(("nova-manage", *nova, "cell_v2", "map_cell0"), env=cell0),
            ManageStep(("nova-manage", *nova, "cell_v2", "create_cell", "--name", "cell1")),
            ManageStep(("nova-manage", *nova, "db", "sync")),
        ],
    ]  # fmt: skip


def admin_connection(layout: Layout, state: CloudState) -> Connection:
    # Only these arguments: with a single clouds.yaml entry (perhaps a stale
    # one of ours) openstacksdk would otherwise merge that entry in.
    conn = openstack.connect(
        load_yaml_config=False,
        load_envvars=False,
        auth_url=layout.url("keystone", "/v3"),
        username="admin",
        password=state.password,
        project_name="admin",
        user_domain_name="Default",
        project_domain_name="Default",
        region_name=REGION,
        identity_interface="public",
    )
    retry_safe_requests(conn.session.session)
    return conn


def _identity(connection: Connection) -> IdentityV3:
    """openstacksdk's identity v3 API (the local Keystone serves v3 only)."""
    identity = connection.identity
    if not isinstance(identity, IdentityV3):
        raise CloudError(f"keystone: expected the identity v3 API, got {type(identity).__module__}")
    return identity


def image_api(connection: Connection) -> ImageV2:
    """openstacksdk's image v2 API (the local Glance serves v2 only)."""
    image = connection.image
    if not isinstance(image, ImageV2):
        raise CloudError(f"glance: expected the image v2 API, got {type(image).__module__}")
    return image


def register_services(
    layout: Layout, state: CloudState, components: frozenset[str] = frozenset()
) -> list[str]:
    """Service project and users, the catalogue, and a member user for tests;
    with the container service, its users (zun, kuryr) and its entry."""
    with_zun = zun.COMPONENT in components
    users = SERVICE_USERS + (zun.SERVICE_USERS if with_zun else ())
    catalog = CATALOG + ((zun.CATALOG_ENTRY,) if with_zun else ())
    created: list[str] = []
    identity = _identity(admin_connection(layout, state))
    service_project = _project(identity, "service", created)
    demo_project = _project(identity, DEMO_PROJECT, created)
    admin_role = identity.find_role("admin", ignore_missing=False)
    member_role = identity.find_role("member", ignore_missing=False)
    service_role = identity.find_role("service") or identity.create_role(name="service")
    for name in users:
        user = _user(identity, name, state.password, created)
        for role in (admin_role, service_role):
            identity.assign_project_role_to_user(service_project, user, role)
    demo = _user(identity, DEMO_USER, state.password, created)
    identity.assign_project_role_to_user(demo_project, demo, member_role)
    for name, kind, port, path in catalog:
        service = identity.find_service(name)
        if service is None:
            service = identity.create_service(name=name, type=kind, enabled=True)
            created.append(f"service {name}")
        existing = {e.interface for e in identity.endpoints(service_id=service.id)}
        for interface in ("public", "internal", "admin"):
            if interface not in existing:
                identity.create_endpoint(
                    service_id=service.id,
                    interface=interface,
                    url=layout.url(port, path),
                    region_id=REGION,
                )
    return created


def _project(identity: IdentityV3, name: str, created: list[str]) -> Project:
    project = identity.find_project(name, domain_id="default")
    if project is None:
        project = identity.create_project(name=name, domain_id="default")
        created.append(f"project {name}")
    return project


def _user(identity: IdentityV3, name: str, password: str, created: list[str]) -> User:
    user = identity.find_user(name, domain_id="default")
    if user is None:
        user = identity.create_user(name=name, password=password, domain_id="default")
        created.append(f"user {name}")
    return user


def nova_services_up(connection: Connection) -> dict[str, bool]:
    """nova-conductor/-scheduler/-compute -> whether Nova's service list says up."""
    return {s.binary: s.state == "up" for s in connection.compute.services()}


def wait_for_compute_node(layout: Layout, state: CloudState, timeout: float = 120) -> str:
    """Until nova-compute's resource provider is in Placement, Nova's own
    service list reports conductor, scheduler and compute up (a compute just
    restarted counts as down until its first heartbeat, and the scheduler
    then finds no host), and nova-compute consumes its own RPC queue; then
    map the host into cell1 (discover_hosts).

    The queue: nova-compute starts its RPC server only after `init_host`,
    which already registers the resource provider, and a message cast to a
    queue that does not exist yet is dropped. Measured: the service list
    still said up from the previous compute's heartbeat, a server deleted at
    once stayed `deleting` for good (and a boot would stay BUILD)."""
    connection = admin_connection(layout, state)
    deadline = time.monotonic() + timeout
    while True:
        providers = list(connection.placement.resource_providers())
        services = nova_services_up(connection)
        down = [name for name in NOVA_RPC_SERVICES if not services.get(name)]
        if providers and not down and queue_consumers(layout, COMPUTE_QUEUE):
            break
        if processes.read_pid(layout.pidfile("nova-compute")) is None:
            raise CloudError(
                f"nova-compute exited before registering in placement "
                f"(log: {layout.logfile('nova-compute')})"
            )
        if time.monotonic() > deadline:
            missing = "no resource provider in placement" if not providers else ""
            if not missing and not down:
                missing = f"no consumer on its RPC queue {COMPUTE_QUEUE}"
            raise CloudError(
                f"nova-compute not ready within {timeout:g}s: "
                f"{missing or 'not up in nova: ' + ', '.join(down)} "
                f"(log: {layout.logfile('nova-compute')})"
            )
        time.sleep(1)
    discover = ("nova-manage", "--config-file", str(layout.etc / "nova" / "nova.conf"),
                "cell_v2", "discover_hosts")  # fmt: skip
    _manage(layout, ManageStep(discover), state.password)
    return str(providers[0].name)


def register_images_and_flavors(layout: Layout, state: CloudState) -> list[str]:
    created: list[str] = []
    connection = admin_connection(layout, state)
    images = image_api(connection)
    wanted_hash = rootfs.guest_hash()
    for variant in ("base", "alt"):
        made = ensure_image(
            images,
            guest_image.image_name(variant),
            (GUEST_HASH, wanted_hash),
            "bare",
            functools.partial(_built, layout.data / "images", variant),
        )
        if made:
            created.append(made)
    for name, ram in FLAVORS.items():
        if connection.compute.find_flavor(name) is None:
            connection.compute.create_flavor(name=name, ram=ram, vcpus=1, disk=1, is_public=True)
            created.append(f"flavor {name}")
    return created


def _built(destination: Path, variant: str) -> AbstractContextManager[Path]:
    """The raw guest image, built once and kept (see guest_image.build)."""
    return contextlib.nullcontext(guest_image.build(destination, variant))


def ensure_image(
    images: ImageV2,
    name: str,
    marker: tuple[str, str],
    container_format: str,
    file: Callable[[], AbstractContextManager[Path]],
) -> str | None:
    """A public raw image `name` whose property `marker[0]` is `marker[1]`
    (which build it holds): uploaded from `file()` unless one is there, and
    the older builds of that name deleted after it; what was made, or None."""
    key, value = marker
    existing = list(images.images(name=name))
    if any(image.properties.get(key) == value for image in existing):
        return None
    properties: dict[str, Any] = {key: value}
    with file() as path:
        images.create_image(
            name=name,
            filename=str(path),
            disk_format="raw",
            container_format=container_format,
            visibility="public",
            allow_duplicates=True,
            wait=True,
            **properties,
        )
    for stale in existing:  # built from an older guest
        images.delete_image(stale)
    return f"image {name}" + (" (replacing an older build)" if existing else "")


def ensure_network(layout: Layout, state: CloudState, timeout: float = 60) -> list[str]:
    """The network every project's servers use (shared: Tempest's isolated
    networks are off), flat on the provider bridge, a documentation-range
    subnet with DHCP and no gateway; waited for until its DHCP port is up."""
    created: list[str] = []
    networking = admin_connection(layout, state).network
    net = networking.find_network(network.NETWORK)
    if net is None:
        net = networking.create_network(
            name=network.NETWORK,
            is_shared=True,
            provider_network_type="flat",
            provider_physical_network=network.PHYSNET,
        )
        created.append(f"network {network.NETWORK}")
    subnet = networking.find_subnet(network.SUBNET, network_id=net.id)
    if subnet is not None and subnet.cidr != network.CIDR:  # made by an older container-ci
        networking.delete_subnet(subnet)
        subnet = None
    if subnet is None:
        start, end = network.ALLOCATION_POOL
        networking.create_subnet(
            name=network.SUBNET,
            network_id=net.id,
            ip_version=4,
            cidr=network.CIDR,
            gateway_ip=None,
            is_dhcp_enabled=True,
            allocation_pools=[{"start": start, "end": end}],
        )
        created.append(f"subnet {network.CIDR}")
    deadline = time.monotonic() + timeout
    while not any(
        port.status == "ACTIVE"
        for port in networking.ports(network_id=net.id, device_owner="network:dhcp")
    ):
        if time.monotonic() > deadline:
            raise CloudError(
                f"{network.NETWORK}: no DHCP port up within {timeout:g}s "
                f"(log: {layout.logfile('neutron-dhcp-agent')})"
            )
        time.sleep(0.5)
    return created
