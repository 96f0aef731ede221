"""`container-ci cloud up | down | status | logs`: the local cloud's life cycle.

`up` installs what is missing, creates the databases once, starts each service
not already running (in order, each waited for until it answers), registers
the catalogue, images and flavor, and writes the clouds.yaml entry. `down`
deletes the cloud's servers, then stops exactly the processes `up` started,
by pid, waiting for each to exit."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keystoneauth1.exceptions import ClientException
from openstack.exceptions import SDKException

from container_ci import paths, private
from container_ci.cloud import (
    bootstrap,
    clouds_yaml,
    configs,
    install,
    modes,
    network,
    processes,
    zun,
)
from container_ci.cloud.layout import CLOUD_NAME, INSTANCE_NAME_TEMPLATE, PORTS, Layout
from container_ci.cloud.services import (
    FOUNDATIONS,
    SERVICES,
    Service,
    ensure_rabbitmq_user,
    program_argv,
    second_docker_exec_root,
    services_of,
    tcp_answers,
)
from container_ci.errors import CloudError
from container_ci.provision import daemons, probes
from container_ci.provision.setup import ensure_daemon

Say = Callable[[str], None]
DOMAIN_PREFIX = INSTANCE_NAME_TEMPLATE.split("%")[0]
# The label cci_nova_docker puts on every container it makes (driver.py's
# LABEL_KIND=KIND: that package runs in the cloud's venv, not this one).
DOCKER_SERVER_LABEL = "com.container-ci.kind=nova-docker-server"
DOCKER_IMAGE_CACHE = "cci-nova-glance"  # driver.py's IMAGE_REPOSITORY
# A server in BUILD that has not changed for this long after a heal is stuck:
# a boot here takes seconds (an LXC spawn, a Docker one from a cached image).
BUILD_QUIET = 60.0
BUILD_SETTLE_LIMIT = 300.0  # the most a heal waits for builds that still move


def _timed(say: Say) -> Say:
    started = time.monotonic()
    return lambda text: say(f"[{time.monotonic() - started:6.1f}s] {text}")


@contextlib.contextmanager
def _one_at_a_time(layout: Layout, say: Say) -> Iterator[None]:
    """`up` and `down` of one state dir never overlap (two tox envs, two
    test workers): the second waits for the first, then finds its work done."""
    with processes.one_at_a_time(
        layout.root / "cloud.lock",
        say,
        "waiting for another `container-ci cloud up/down` on this state dir",
    ):
        yield


def up(
    layout: Layout,
    say: Say = print,
    nova_source: Path | None = None,
    components: frozenset[str] = frozenset(),
    compute_driver: str | None = None,
) -> None:
    """Install what is missing and start every service (idempotent). With
    `compute_driver` (libvirt-lxc, docker), nova-compute runs that driver
    from now on (restarted if it ran the other one); else the last one. Nova
    from `nova_source`, a checkout, instead of PyPI when given; the
    `components` (`zun.COMPONENT`) added to the cloud, as are those already
    running (an `up` never stops what an earlier one added). When a
    service fails to start, what this call started is stopped again (and
    the data plane it made removed) before the error is raised: a failed
    `up` leaves what ran before it, nothing half-made. It runs under a
    umask of 077, which the services inherit: what they and it create is
    owner-only (`modes`); a state dir an older container-ci left open to
    others is tightened first, once."""
    say = _timed(say)
    with private.owner_only():
        tightened = modes.tighten_old_state(layout, paths.data_dir())
        if tightened:
            say(f"{layout.root}: made {tightened} path(s) owner-only that an older "
                "container-ci left open to other users")  # fmt: skip
        with _one_at_a_time(layout, say):
            started: list[Service] = []
            try:
                _up(
                    layout,
                    say,
                    nova_source,
                    started,
                    components | running_components(layout),
                    compute_driver,
                )
            except CloudError as exc:
                _stop_started(layout, started, say)
                redacted = _without_password(exc, layout)
                if redacted is exc:
                    raise
                raise redacted from None  # its cause would quote the password too
            except KeyboardInterrupt:
                _stop_started(layout, started, say)
                raise


def _without_password(exc: CloudError, layout: Layout) -> CloudError:
    """The error as it is, unless it quotes the cloud's password (a
    program's output it carries): then with the password replaced."""
    try:
        password = str(json.loads(layout.state_file.read_text())["password"])
    except (OSError, ValueError, KeyError, TypeError):
        return exc
    if not password or password not in str(exc):
        return exc
    return CloudError(private.redact(str(exc), password))


def _stop_started(layout: Layout, started: list[Service], say: Say) -> None:
    if not started:
        return
    say(f"stopping what this `up` started: {', '.join(s.name for s in started)}")
    for service in reversed(started):
        if service.name == "ovs-vswitchd":
            _remove_data_plane(layout, say)
        processes.stop(layout.pidfile(service.name), service.stop_timeout)


def running_components(layout: Layout) -> frozenset[str]:
    """The components some of whose processes run."""
    return frozenset(
        s.component
        for s in SERVICES
        if s.component is not None and processes.read_pid(layout.pidfile(s.name)) is not None
    )


def _up(
    layout: Layout,
    say: Say,
    nova_source: Path | None,
    started: list[Service],
    components: frozenset[str],
    compute_driver: str | None,
) -> None:
    layout.make_dirs()
    state = bootstrap.CloudState.load_or_create(layout)
    if modes.forget_password(layout, state.password):
        say(f"removed the password an older container-ci wrote into {layout.logfile('manage')}")
    if compute_driver and compute_driver != state.compute_driver:
        say(f"nova-compute: the {compute_driver} driver from now on (was {state.compute_driver})")
        state.compute_driver = compute_driver
        state.save(layout)
    with_zun = zun.COMPONENT in components
    with_docker = with_zun or state.compute_driver == "docker"
    if with_docker and not probes.docker_answers():  # the engine is the user's: never started here
        needs = "the container service" if with_zun else "Nova's Docker driver"
        raise CloudError(
            f"{needs} needs the Docker Engine, which does not answer "
            "(`container-ci setup` starts it)"
        )
    installed = install.install_packages(zun.DEBIAN_PACKAGES if with_zun else ())
    if installed:
        say(f"installed Debian packages {' '.join(installed)}")
    install.install_venv(layout, say, nova_source)
    if with_zun:
        zun.install_venv(layout, say)
    for line in ensure_daemon(daemons.LIBVIRTD, probes.libvirt_answers):
        say(line)
    configs.write_all(layout, state.password, state.compute_driver)
    if with_zun:
        zun.write_configs(layout, state.password, zun.docker_host_name())
    try:
        for service in services_of(components):
            if service.name == "zun-api":
                _zun_schema(layout, state, say)
            if service.name == "keystone":  # the first that needs its database
                bootstrap.create_schemas(layout, state, say)
            if _ensure_running(layout, service, say):
                started.append(service)
            if service.name == "rabbitmq":
                ensure_rabbitmq_user(layout, state.password)
            if service.name == "ovs-vswitchd":
                created = network.ensure_bridges()
                if created:
                    say(f"open vswitch: created bridges {', '.join(created)}")
            if service.name == "keystone":
                created = bootstrap.register_services(layout, state, components)
                if created:
                    say(f"keystone: created {', '.join(created)}")
        host = bootstrap.wait_for_compute_node(layout, state)
        say(f"nova-compute: host {host} is in placement and mapped to cell1")
        created = bootstrap.register_images_and_flavors(layout, state)
        created += bootstrap.ensure_network(layout, state)
        if with_docker:  # the guest images as `docker save` tarballs, for Zun and Nova's driver
            created += zun.register_images(bootstrap.admin_connection(layout, state), layout)
        if created:
            say(f"registered {', '.join(created)}")
        restarted = [service.name for service in started]
        if {"nova-api", "nova-compute"} <= set(restarted):
            _delete_leftover_servers(layout, say)
        elif restarted:
            _settle_builds(layout, state, restarted, say)
    except OSError as exc:  # a file or a program of the stack: one line, never a traceback
        raise CloudError(str(exc)) from exc
    except (SDKException, ClientException) as exc:  # an API of the cloud answered wrongly
        raise CloudError(f"{type(exc).__name__}: {exc}") from exc
    path = clouds_yaml.write_entry(layout, state.password)
    say(f"up: every service answers; clouds.yaml entry {CLOUD_NAME} in {path}")


def _zun_schema(layout: Layout, state: bootstrap.CloudState, say: Say) -> None:
    """The container service's database, at its release's schema, once per pin list."""
    stamp = "\n".join(zun.PACKAGES)
    if state.zun_schema_for == stamp:
        return
    say("creating the container service's database (zun)")
    zun.db_upgrade(layout)
    state.zun_schema_for = stamp
    state.save(layout)


def _delete_leftover_servers(layout: Layout, say: Say) -> None:
    """Servers found when the whole of Nova (its API and nova-compute) was
    just started here: `down` deletes every server, so these are what a run
    left when the cloud stopped without it (a crash, the machine restarted).
    When only some services had died, `up` heals instead (`_settle_builds`)
    and deletes nothing. Their domains are gone or stale; left,
    they would be the next run's surprise (a test that lists servers)."""
    deleted = delete_servers(layout)
    if deleted:
        say(f"deleted {deleted} server(s) left from before the cloud last stopped without `down`")


def _settle_builds(
    layout: Layout, state: bootstrap.CloudState, restarted: list[str], say: Say
) -> None:
    """After a heal (some services had died under a running cloud and were
    started again here), no server may stay in BUILD for ever.

    Nova settles most itself: a nova-compute started again sets the servers
    it was building to ERROR (its init_host), and a build whose message
    RabbitMQ lost is sent again when the services reconnect (measured:
    ACTIVE). What it cannot settle stays in BUILD with no end: a build whose
    database write died with MariaDB (measured: "scheduling" for good, its
    placement allocation failed). So `up` watches the servers in BUILD, and
    one whose task state and host have not changed for BUILD_QUIET seconds
    is stuck (Nova's `updated` cannot tell: for a server not yet on a host
    it reads "now"). A stuck server on a host is set to ERROR (an admin's
    reset-state); one that never reached a host is deleted, since Nova's
    reset-state fails on it (HTTP 500: it has no instance in a cell yet,
    measured). Each is named in the output; ACTIVE and ERROR servers are
    left alone."""
    compute = bootstrap.admin_connection(layout, state).compute
    began = time.monotonic()
    seen: dict[str, tuple[object, object]] = {}
    since: dict[str, float] = {}
    building: list[Any] = []
    stuck: list[Any] = []
    while True:
        now = time.monotonic()
        try:
            building = [s for s in compute.servers(all_projects=True) if s.status == "BUILD"]
        except (SDKException, ClientException):
            if now - began > BUILD_SETTLE_LIMIT:
                raise
            time.sleep(2)  # an API worker that restarts under us: ask again
            continue
        for server in building:
            mark = (server.task_state, server.compute_host)
            if seen.get(server.id) != mark:
                seen[server.id], since[server.id] = mark, now
        stuck = [server for server in building if now - since[server.id] >= BUILD_QUIET]
        if len(stuck) == len(building) or now - began > BUILD_SETTLE_LIMIT:
            break
        time.sleep(2)
    why = f"in BUILD with no change for {BUILD_QUIET:g}s after {', '.join(restarted)} started again"
    for server in stuck:
        where = f"{server.name} ({server.id}, task state {server.task_state})"
        if server.compute_host:
            compute.reset_server_state(server, "error")
            say(f"{where}: {why}: set to ERROR")
        else:
            compute.delete_server(server)
            compute.wait_for_delete(server, wait=120)
            say(f"{where}: {why}, on no host yet (Nova cannot set it to ERROR): deleted")
    moving = len(building) - len(stuck)
    if moving:
        say(f"{moving} server(s) still building after {BUILD_SETTLE_LIMIT:g}s, and moving on")


def _ensure_running(layout: Layout, service: Service, say: Say) -> bool:
    """Running and answering afterwards; True if it was (re)started here."""
    pid = processes.read_pid(layout.pidfile(service.name))
    digest_file = layout.run / f"{service.name}.config-digest"
    digest = service.config_digest(layout)
    if pid is not None and digest_file.exists() and digest_file.read_text() != digest:
        say(f"{service.name}: its configuration changed; restarting it")
        processes.stop(layout.pidfile(service.name), service.stop_timeout)
        pid = None
    if pid is not None:
        if _wait_until_answers(layout, service, pid, timeout=service.start_timeout):
            return False
        raise CloudError(
            f"{service.name} (pid {pid}) runs but does not answer "
            f"(log: {layout.logfile(service.name)})"
        )
    strays = stray_processes(layout, service)
    if strays:  # ours by its command line, but not in a pid file: never start a second
        raise CloudError(
            f"{service.name}: pid(s) {', '.join(map(str, strays))} from this cloud run without "
            "a pid file; run `container-ci cloud down` first"
        )
    if service.port and tcp_answers(PORTS[service.port]):
        raise CloudError(
            f"{service.name}: port {PORTS[service.port]} on 127.0.0.1 is taken by a process "
            "this cloud did not start (another local cloud, or a system service)"
        )
    started = time.monotonic()
    if service.prepare is not None:
        service.prepare(layout)
    pid = processes.spawn(
        service.argv(layout),
        layout.pidfile(service.name),
        layout.logfile(service.name),
        env=service.env(layout),
        cwd=layout.root,
    )
    if not _wait_until_answers(layout, service, pid, timeout=service.start_timeout):
        if processes.exited(pid):
            processes.stop(layout.pidfile(service.name), service.stop_timeout)  # its pid file
            raise CloudError(
                f"{service.name} exited during start: {_last_error(layout.logfile(service.name))} "
                f"(log: {layout.logfile(service.name)})"
            )
        processes.stop(layout.pidfile(service.name), service.stop_timeout)
        raise CloudError(
            f"{service.name} did not answer within {service.start_timeout:g}s "
            f"(log: {layout.logfile(service.name)})"
        )
    digest_file.write_text(digest)
    port = f", port {PORTS[service.port]}" if service.port else ""
    say(f"{service.name}: started (pid {pid}{port}) in {time.monotonic() - started:.1f}s")
    return True


def _wait_until_answers(layout: Layout, service: Service, pid: int, timeout: float) -> bool:
    return processes.wait_until_answers(pid, lambda: service.answers(layout), timeout)


def _last_error(log: Path) -> str:
    return processes.last_error(log)


def stray_processes(
    layout: Layout, service: Service | None = None, marker: str | None = None
) -> list[int]:
    """Processes of this cloud (their command line names its venv or config)
    that no pid file records: a crashed `up`, or a deleted state. Only those
    of one service, or only those whose command line names marker (a path
    in the state dir) instead of the state dir."""
    recorded = {processes.read_pid(layout.pidfile(s.name)) for s in SERVICES}
    marker = marker or str(layout.root)
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) in recorded:
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        text = " ".join(part.decode(errors="replace") for part in argv)
        if marker not in text or "privsep-helper" in text:
            continue
        if service is None or _is_service(text, service, layout):
            found.append(int(proc.name))
    return sorted(found)


def _is_service(command_line: str, service: Service, layout: Layout) -> bool:
    program = " ".join(program_argv(service.argv(layout)))
    return program in command_line or f"cci-{service.name}" in command_line


# -- down -------------------------------------------------------------------


def down(layout: Layout, say: Say = print) -> None:
    say = _timed(say)
    with private.owner_only(), _one_at_a_time(layout, say):
        _down(layout, say)


def _down(layout: Layout, say: Say) -> None:
    if running_components(layout) or zun.PLUGIN_SPEC.exists():
        _remove_containers(layout, say)
    if _api_up(layout):
        try:
            deleted = delete_servers(layout)
        except (CloudError, SDKException, ClientException) as exc:
            # Stopping must go on: the domains left are removed below.
            say(f"could not delete every server through Nova: {exc}")
        else:
            if deleted:
                say(f"deleted {deleted} server(s)")
    # The OpenStack services and agents all at once (each waits out its own
    # graceful stop: nova-compute's and the RPC server's take 10 s or more,
    # in a row they took a minute); then, in reverse start order, what they
    # stood on: the data plane, Open vSwitch, RabbitMQ, MariaDB.
    upper = [s for s in SERVICES if s.name not in FOUNDATIONS]
    with ThreadPoolExecutor(max_workers=len(upper)) as pool:
        stopped = pool.map(lambda s: (s, _stop(layout, s)), reversed(upper))
        for service, pid in stopped:
            if pid is not None:
                say(f"{service.name}: stopped (pid {pid})")
    for service in reversed([s for s in SERVICES if s.name in FOUNDATIONS]):
        if service.name == "ovs-vswitchd":  # the agents are gone: take their data plane down
            _remove_data_plane(layout, say)
        pid = _stop(layout, service)
        if pid is not None:
            say(f"{service.name}: stopped (pid {pid})")
    _stop_strays(layout, say)
    if zun.remove_plugin_spec():
        say(f"removed {zun.PLUGIN_SPEC}")
    for name in zun.remove_kuryr_veths():
        say(f"removed {name} (kuryr's, of a container gone)")
    exec_root = second_docker_exec_root(layout)
    if exec_root.exists():
        shutil.rmtree(exec_root, ignore_errors=True)
        say(f"removed {exec_root}")
    for name in _remove_domains():
        say(f"removed leftover libvirt domain {name}")
    for name in _remove_docker_servers():
        say(f"removed leftover container {name} of Nova's Docker driver")
    for device in _detach_loop_devices(layout):
        say(f"detached {device}")
    say("down: no process of the local cloud runs")


def _remove_containers(layout: Layout, say: Say) -> None:
    """The container service's containers (through Zun while it answers,
    so their ports go too), then whatever Zun left on either engine (its
    `zun-` containers) and the Docker networks kuryr made, while kuryr still
    runs to answer for them."""
    zun_up = all(
        processes.read_pid(layout.pidfile(name))
        for name in ("keystone", "zun-api", "zun-compute", "kuryr-libnetwork")
    )
    if zun_up:
        try:
            deleted = zun.delete_containers(
                bootstrap.admin_connection(layout, bootstrap.CloudState.load_or_create(layout))
            )
        except (CloudError, SDKException, ClientException) as exc:
            say(f"could not delete every container through Zun: {exc}")
        else:
            if deleted:
                say(f"deleted {deleted} container(s) through the container service")
    for engine in zun.engines(layout):
        removed, network_ids = zun.remove_leftovers(engine)
        for name in removed:
            say(f"removed {name}")
        if network_ids and processes.read_pid(layout.pidfile("mariadb")):
            zun.forget_networks(layout, network_ids)


def _stop(layout: Layout, service: Service) -> int | None:
    return processes.stop(layout.pidfile(service.name), service.stop_timeout)


def _stop_strays(layout: Layout, say: Say, marker: str | None = None) -> None:
    """Stops the cloud's processes no pid file records; with a marker, only
    those whose command line also names it."""
    for pid in stray_processes(layout, marker=marker):
        say(f"stopping stray pid {pid} of this cloud")
        processes.stop_pid(pid, timeout=30)


def _remove_data_plane(layout: Layout, say: Say) -> None:
    """What the DHCP agent left running (dnsmasq, haproxy: their command
    lines name Neutron's state dir), its ports' veths and namespaces, then the bridges with
    every port on them. Only those: RabbitMQ's and the databases' children
    are strays too until their own service stops them."""
    _stop_strays(layout, say, marker=str(layout.data / "neutron"))
    for device in network.remove_dhcp_veths(layout):
        say(f"removed DHCP port device {device}")
    for namespace in network.remove_namespaces(layout):
        say(f"removed namespace {namespace}")
    for bridge in network.remove_bridges():
        say(f"removed bridge {bridge}")


def _api_up(layout: Layout) -> bool:
    names = {"keystone", "nova-api", "nova-compute", "nova-conductor"}
    return all(processes.read_pid(layout.pidfile(name)) for name in names)


def delete_servers(layout: Layout, timeout: float = 120) -> int:
    """Every server of the cloud, all projects, deleted and waited for."""
    state = bootstrap.CloudState.load_or_create(layout)
    compute = bootstrap.admin_connection(layout, state).compute
    servers = list(compute.servers(all_projects=True))
    for server in servers:
        compute.delete_server(server, force=server.status == "ERROR")
    deadline = time.monotonic() + timeout
    remaining = servers
    while remaining and time.monotonic() < deadline:
        time.sleep(0.5)
        remaining = list(compute.servers(all_projects=True))
    if remaining:
        raise CloudError(
            f"{len(remaining)} server(s) still there {timeout:g}s after their delete: "
            + ", ".join(f"{s.name} ({s.status})" for s in remaining)
        )
    return len(servers)


def _remove_domains() -> list[str]:
    """Domains Nova named after our template and left behind (e.g. after a
    crash), then what libvirt 9.0 leaves in its runtime dir of every domain
    that stopped (empty <name>.dev/.devpts/.fuse dirs, the .sock): Nova's
    domains, never removed, had left 2,669 of them there (measured)."""
    import libvirt

    from container_ci.targets.libvirt_lxc import remove_runtime_leftovers

    removed: list[str] = []
    try:
        conn = libvirt.open("lxc:///")
    except libvirt.libvirtError:
        return removed
    try:
        for domain in conn.listAllDomains(0):
            if domain.name().startswith(DOMAIN_PREFIX):
                if domain.isActive():
                    domain.destroy()
                domain.undefine()
                removed.append(domain.name())
        existing = {domain.name() for domain in conn.listAllDomains(0)}
    finally:
        conn.close()
    for name in runtime_leftovers() - existing:
        remove_runtime_leftovers(name)
    return removed


def runtime_leftovers() -> set[str]:
    """Names of Nova's domains with something in libvirt's LXC runtime dir."""
    from container_ci.targets.libvirt_lxc import runtime_leftover_names

    return runtime_leftover_names(DOMAIN_PREFIX)


def docker_servers() -> list[str]:
    """Containers Nova's Docker driver made (by its label), on the setup's engine."""
    import docker
    import docker.errors

    try:
        client = docker.from_env(timeout=30)
    except docker.errors.DockerException:
        return []
    try:
        listed = client.containers.list(all=True, filters={"label": DOCKER_SERVER_LABEL})
        return [str(container.name) for container in listed]
    except docker.errors.DockerException:
        return []
    finally:
        client.close()


def _remove_docker_servers() -> list[str]:
    """What the driver left behind (a crash, a run killed): `down` deleted
    every server through Nova before. Then the Glance images it loaded into
    the engine (its cache, `cci-nova-glance/<image id>`)."""
    names = docker_servers()
    for name in names:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
    for image in docker_server_images():
        subprocess.run(["docker", "rmi", "-f", image], capture_output=True, check=False)
    return names


def docker_server_images() -> list[str]:
    """The driver's image cache on the setup's engine."""
    listed = subprocess.run(
        ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}", DOCKER_IMAGE_CACHE + "/*"],
        capture_output=True,
        text=True,
        check=False,
    )
    return [line for line in listed.stdout.split() if line.startswith(DOCKER_IMAGE_CACHE + "/")]


def loop_devices(layout: Layout) -> list[tuple[str, str]]:
    """(device, backing file) of loop devices backed by a file of this cloud."""
    done = subprocess.run(
        ["losetup", "--json", "--list"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0 or not done.stdout.strip():
        return []
    devices = json.loads(done.stdout).get("loopdevices", [])
    root = str(layout.root)
    return [
        (d["name"], d.get("back-file") or "")
        for d in devices
        if (d.get("back-file") or "").startswith(root)
    ]


def _detach_loop_devices(layout: Layout) -> list[str]:
    detached = []
    for device, _ in loop_devices(layout):
        for mount in _mounts_of(device):
            subprocess.run(["umount", "-l", mount], check=False)
        if subprocess.run(["losetup", "-d", device], check=False).returncode == 0:
            detached.append(device)
    return detached


def _mounts_of(device: str) -> Iterable[str]:
    for line in Path("/proc/mounts").read_text().splitlines():
        fields = line.split()
        if fields and fields[0] == device:
            yield fields[1]


def purge(layout: Layout, say: Say = print) -> None:
    """`down`, then remove the state dir (keeping the venv) and the clouds.yaml entry."""
    down(layout, say)
    for child in layout.root.iterdir() if layout.root.exists() else ():
        if child != layout.venv:
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    clouds_yaml.remove_entry()
    say(f"purged {layout.root} (the services' venv kept) and the clouds.yaml entry")


# -- status and logs ----------------------------------------------------------


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    pid: int | None
    port: int | None
    health: str  # "healthy", "running" (no socket to ask), "not answering", "stopped"

    @property
    def ok(self) -> bool:
        return self.health in ("healthy", "running")


def status(layout: Layout) -> list[ServiceStatus]:
    """Each service (those of a component only when it runs): the API ones
    answer on their port; the RPC-only Nova services are healthy when Nova's
    own service list reports them up, the zun-computes when Zun's does."""
    rows = []
    reported = _nova_services_up(layout)
    for service in services_of(running_components(layout)):
        pid = processes.read_pid(layout.pidfile(service.name))
        port = PORTS[service.port] if service.port else None
        if pid is None:
            health = "stopped"
        elif service.name in reported:
            health = "healthy" if reported[service.name] else "not reporting to nova"
        else:
            health = "healthy" if service.answers(layout) else "not answering"
        rows.append(ServiceStatus(service.name, pid, port, health))
    return rows


def _nova_services_up(layout: Layout) -> dict[str, bool]:
    """nova-conductor/-scheduler/-compute -> up, from os-services (empty if unreachable)."""
    if not layout.state_file.exists():
        return {}
    try:
        state = bootstrap.CloudState.load_or_create(layout)
        return bootstrap.nova_services_up(bootstrap.admin_connection(layout, state))
    except Exception:  # noqa: BLE001 - status reports what it sees, it does not fail
        return {}
