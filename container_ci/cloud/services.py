"""The local cloud's processes, in start order: how each is started, how we
know it is up, and how long it may take to stop."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from container_ci.cloud import configs, mariadb, network, zun
from container_ci.cloud.configs import COMPUTE_HOST
from container_ci.cloud.layout import HOST, PORTS, Layout
from container_ci.errors import CloudError
from container_ci.private import redact

RABBITMQ_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
RABBITMQCTL = Path("/usr/lib/rabbitmq/bin/rabbitmqctl")


@dataclass(frozen=True)
class Service:
    name: str
    argv: Callable[[Layout], list[str]]
    env: Callable[[Layout], dict[str, str]] = lambda layout: {}
    port: str | None = None  # key of PORTS it listens on
    http_path: str | None = None  # answered (any status < 500) when the API is up
    start_timeout: float = 90.0
    stop_timeout: float = 30.0
    config: str | None = None  # its directory under etc/: a change there restarts it
    prepare: Callable[[Layout], None] | None = field(default=None, compare=False)
    probe: Callable[[Layout], bool] | None = field(default=None, compare=False)
    # None: always part of the cloud; else the `cloud up --with` that adds it.
    component: str | None = None

    def config_digest(self, layout: Layout) -> str:
        """Of its command line, its environment and its config dir's files:
        a change to any restarts it (a new RabbitMQ environment had reached
        running clouds only when they were restarted by hand)."""
        digest = hashlib.sha256()
        started_with = [self.argv(layout), sorted(self.env(layout).items())]
        digest.update(json.dumps(started_with).encode() + b"\0")
        if self.config:
            for path in sorted(layout.config_dir(self.config).rglob("*")):
                if path.is_file():
                    digest.update(str(path).encode() + b"\0" + path.read_bytes())
        return digest.hexdigest()

    def answers(self, layout: Layout) -> bool:
        if self.probe is not None:
            return self.probe(layout)
        if self.port is None:
            return True  # no socket of its own: running is all we can see
        if self.http_path is None:
            return tcp_answers(PORTS[self.port])
        return http_status(PORTS[self.port], self.http_path) is not None


def tcp_answers(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return True
    except OSError:
        return False


def http_status(port: int, path: str) -> int | None:
    """The status of GET `path`, or None when nothing (or a 5xx) answers."""
    connection = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        connection.request("GET", path)
        status = connection.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()
    return status if status < 500 else None


def _wsgi_service(
    name: str,
    module: str,
    config: str,
    http_path: str,
    extra_env: dict[str, str] | None = None,
    component: str | None = None,
) -> Service:
    """An OpenStack WSGI app under gunicorn on its loopback port, one worker,
    loaded through the shim (`CCI_WSGI_MODULE`), its config dir in the
    service's own `OS_<SERVICE>_CONFIG_DIR` variable."""

    def argv(layout: Layout) -> list[str]:
        gunicorn = layout.zun_bin("gunicorn") if component else layout.bin("gunicorn")
        return [
            str(gunicorn),
            "--bind", f"{HOST}:{PORTS[name]}",
            "--workers", "1",
            "--threads", "4",
            "--timeout", "300",
            "--graceful-timeout", "10",
            "--name", f"cci-{name}",
            "--pythonpath", str(layout.etc / "wsgi"),
            "cci_wsgi:application",
        ]  # fmt: skip

    def env(layout: Layout) -> dict[str, str]:
        config_env = f"OS_{config.upper()}_CONFIG_DIR"
        return {
            "CCI_WSGI_MODULE": module,
            config_env: str(layout.config_dir(config)),
            **(extra_env or {}),
        }

    return Service(
        name, argv, env=env, port=name, http_path=http_path, config=config, component=component
    )


def _rabbitmq_env(layout: Layout) -> dict[str, str]:
    base = layout.data / "rabbitmq"
    return {
        "HOME": str(base),  # its Erlang cookie lives there, not in root's home
        "RABBITMQ_NODENAME": "cci@localhost",
        "RABBITMQ_NODE_IP_ADDRESS": HOST,
        "RABBITMQ_NODE_PORT": str(PORTS["rabbitmq"]),
        "RABBITMQ_DIST_PORT": str(PORTS["rabbitmq-dist"]),
        "ERL_EPMD_ADDRESS": HOST,
        "ERL_EPMD_PORT": str(PORTS["epmd"]),
        "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
        "RABBITMQ_LOG_BASE": str(base / "log"),
        "RABBITMQ_CONFIG_FILE": str(layout.config_dir("rabbitmq") / "rabbitmq.conf"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(layout.config_dir("rabbitmq") / "enabled_plugins"),
        "RABBITMQ_PID_FILE": str(base / "rabbitmq.pid"),
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        # rabbitmq-server then execs the Erlang VM (as under systemd) instead
        # of waiting on it as a child: the pid recorded is the broker's own.
        # A SIGKILL of the recorded shell had left the broker running,
        # unrecorded, on its port, and the next `up` refused to start
        # it again (measured); the VM stops cleanly on SIGTERM itself.
        "RUNNING_UNDER_SYSTEMD": "true",
    }


# rabbitmqctl is an Erlang node of its own while it runs: without this its
# distribution port (35672-35682) listens on every address.
CTL_ERL_ARGS = "-kernel inet_dist_use_interface {127,0,0,1}"


def rabbitmqctl(
    layout: Layout, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`stdin`: what a command reads there (a password: never an argument,
    which every local user can read in /proc/*/cmdline while it runs)."""
    return subprocess.run(
        [str(RABBITMQCTL), *args],
        env={**os.environ, **_rabbitmq_env(layout), "RABBITMQ_CTL_ERL_ARGS": CTL_ERL_ARGS},
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )


def queue_consumers(layout: Layout, queue: str) -> int:
    """How many consumers RabbitMQ's `queue` has (0 when it does not exist)."""
    listed = rabbitmqctl(
        layout, "list_queues", "--quiet", "--no-table-headers", "name", "consumers"
    )
    for line in listed.stdout.splitlines():
        name, _, count = line.partition("\t")
        if name == queue and count.strip().isdigit():
            return int(count)
    return 0


def ensure_rabbitmq_user(layout: Layout, password: str) -> None:
    """The `cci` user with the current password and every permission on `/`
    (its default_user setting only applies to a node's very first boot).
    The password goes to rabbitmqctl's standard input, which it reads when
    the command line names the user alone."""
    added = rabbitmqctl(layout, "add_user", "cci", stdin=password + "\n")
    if added.returncode != 0 and "already exists" not in added.stderr + added.stdout:
        raise CloudError(f"rabbitmqctl add_user: {redact(added.stderr.strip(), password)[-300:]}")
    for args, stdin in (
        (("change_password", "cci"), password + "\n"),
        (("set_permissions", "-p", "/", "cci", ".*", ".*", ".*"), None),
    ):
        done = rabbitmqctl(layout, *args, stdin=stdin)
        if done.returncode != 0:
            error = redact(done.stderr.strip(), password)[-300:]
            raise CloudError(f"rabbitmqctl {args[0]}: {error}")


def _nova(binary: str) -> Callable[[Layout], list[str]]:
    def argv(layout: Layout) -> list[str]:
        return [
            str(layout.bin(binary)),
            "--config-file",
            str(layout.config_dir("nova") / "nova.conf"),
        ]

    return argv


def _nova_compute(layout: Layout) -> list[str]:
    """nova-compute, or with the Docker driver its launcher (which registers
    the driver where nova 34 looks for drivers, then runs nova-compute)."""
    if configs.configured_compute_driver(layout) == "docker":
        return [
            str(layout.bin("python")), "-m", f"{configs.DOCKER_DRIVER_PACKAGE}.launch",
            "--config-file", str(layout.config_dir("nova") / "nova.conf"),
        ]  # fmt: skip
    return _nova("nova-compute")(layout)


def _nova_compute_env(layout: Layout) -> dict[str, str]:
    if configs.configured_compute_driver(layout) == "docker":
        return {"PYTHONPATH": str(layout.config_dir("nova"))}
    return {}


def _ovsdb_server(layout: Layout) -> list[str]:
    return [
        "ovsdb-server",
        str(layout.ovs_database),
        f"--remote=punix:{network.OVSDB_SOCKET}",
        f"--unixctl={layout.run / 'ovsdb-server.ctl'}",
        "--no-chdir",
    ]


def _ovsdb_answers(layout: Layout) -> bool:
    done = subprocess.run(
        ["ovs-vsctl", f"--db={network.OVSDB}", "--no-wait", "--timeout=2", "show"],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def _ovs_vswitchd(layout: Layout) -> list[str]:
    return [
        "ovs-vswitchd",
        network.OVSDB,
        f"--unixctl={layout.run / 'ovs-vswitchd.ctl'}",
        "--no-chdir",
    ]


def _vswitchd_answers(layout: Layout) -> bool:
    done = subprocess.run(
        ["ovs-appctl", "-t", str(layout.run / "ovs-vswitchd.ctl"), "version"],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def _neutron(binary: str, *inis: str) -> Callable[[Layout], list[str]]:
    def argv(layout: Layout) -> list[str]:
        files = ("neutron.conf", *inis)
        return [
            str(layout.bin(binary)),
            *(
                arg
                for name in files
                for arg in ("--config-file", str(layout.config_dir("neutron") / name))
            ),
        ]

    return argv


def _rpc_server_consumes(layout: Layout) -> bool:
    """Its queues have consumers: agents started before that lose their first
    calls (the DHCP agent then took 110 s to come up, measured)."""
    done = rabbitmqctl(layout, "list_queues", "-q", "name", "consumers")
    consumers = dict(
        line.split()[:2] for line in done.stdout.splitlines() if len(line.split()) >= 2
    )
    return all(consumers.get(queue, "0") != "0" for queue in ("q-plugin", "q-reports-plugin"))


def _agent_alive(agent_type: str) -> Callable[[Layout], bool]:
    """Neutron lists the agent, on our host, alive."""

    def alive(layout: Layout) -> bool:
        from keystoneauth1.exceptions import ClientException
        from openstack.exceptions import SDKException

        from container_ci.cloud import bootstrap

        try:
            connection = bootstrap.admin_connection(
                layout, bootstrap.CloudState.load_or_create(layout)
            )
            agents = connection.network.agents(agent_type=agent_type, host=COMPUTE_HOST)
            return any(agent.is_alive for agent in agents)
        except (SDKException, ClientException):
            return False

    return alive


def in_uts_namespace(hostname: str, argv: list[str], before: str = "") -> list[str]:
    """`argv` in a UTS namespace of its own whose hostname is `hostname`:
    for programs that take their host name from gethostname() alone. With
    `before`, also in a mount namespace of its own where that shell command
    runs first."""
    script = f'{before} && hostname "$0" && exec "$@"' if before else 'hostname "$0" && exec "$@"'
    namespaces = ["--uts", "--mount"] if before else ["--uts"]
    return ["unshare", *namespaces, "--", "sh", "-c", script, hostname, *argv]


def program_argv(argv: list[str]) -> list[str]:
    """The command line a process of `argv` shows once it runs (without the
    namespace wrapper, which execs it)."""
    if argv[:1] == ["unshare"] and "sh" in argv:
        return argv[argv.index("sh") + 4 :]
    return argv


def _kuryr(layout: Layout) -> list[str]:
    return in_uts_namespace(
        COMPUTE_HOST,
        [
            str(layout.zun_bin("kuryr-server")),
            "--config-file",
            str(layout.config_dir("kuryr") / "kuryr.conf"),
        ],
    )


def _zun_compute(number: int) -> Callable[[Layout], list[str]]:
    def argv(layout: Layout) -> list[str]:
        etc = layout.config_dir("zun")
        return [
            str(layout.zun_bin("zun-compute")),
            "--config-file", str(etc / "zun.conf"),
            "--config-file", str(etc / f"compute-{number}.conf"),
        ]  # fmt: skip

    return argv


# Docker's exec root: kuryr refuses a network namespace (SandboxKey) anywhere
# but /var/run/docker/netns/ (its request schema), so the second engine sees
# a directory of its own there, bind-mounted in a mount namespace of its own.
DOCKER_EXEC_ROOT = "/var/run/docker"


def second_docker_exec_root(layout: Layout) -> Path:
    """Short (containerd's sockets live there) and on tmpfs, as /run/docker is."""
    digest = hashlib.sha256(str(layout.root).encode()).hexdigest()[:12]
    return Path("/run") / f"cci-docker-{zun.SECOND_HOST}-{digest}"


def _second_dockerd(layout: Layout) -> list[str]:
    """A Docker Engine of the container service's own for its second host:
    its own data, exec root and socket, and no bridge, iptables rules or
    forwarding of its own (kuryr gives its containers their network)."""
    own = second_docker_exec_root(layout)
    return in_uts_namespace(
        zun.SECOND_HOST,
        [
            "dockerd",
            f"--host=unix://{layout.second_docker_socket}",
            f"--data-root={layout.data / ('docker-' + zun.SECOND_HOST)}",
            f"--exec-root={DOCKER_EXEC_ROOT}",
            f"--pidfile={layout.run / 'dockerd-own.pid'}",
            f"--config-file={layout.config_dir('docker') / 'daemon.json'}",
            f"--cgroup-parent={zun.SECOND_HOST}",
            "--bridge=none",
            "--iptables=false",
            "--ip-masq=false",
            "--ip-forward=false",
            "--userland-proxy=false",
        ],
        before=f"mkdir -p {own} {DOCKER_EXEC_ROOT} && mount --bind {own} {DOCKER_EXEC_ROOT}",
    )


def _prepare_second_dockerd(layout: Layout) -> None:
    layout.make_socket_dir(layout.second_docker_socket)
    daemon_json = layout.config_dir("docker") / "daemon.json"
    daemon_json.parent.mkdir(parents=True, exist_ok=True)
    daemon_json.write_text("{}\n")


def _second_dockerd_answers(layout: Layout) -> bool:
    import docker
    import docker.errors

    try:
        client = docker.DockerClient(base_url=f"unix://{layout.second_docker_socket}", timeout=5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (docker.errors.DockerException, OSError):
        return False


def _zun_host_up(host: Callable[[Layout], str]) -> Callable[[Layout], bool]:
    """Zun's service list has this zun-compute, up."""

    def up(layout: Layout) -> bool:
        from keystoneauth1.exceptions import ClientException

        from container_ci.cloud import bootstrap

        try:
            connection = bootstrap.admin_connection(
                layout, bootstrap.CloudState.load_or_create(layout)
            )
            return zun.hosts_up(connection).get(host(layout), False)
        except ClientException:
            return False

    return up


# What the OpenStack services stand on: stopped last, one at a time, after
# every other service has exited.
FOUNDATIONS = frozenset({"mariadb", "epmd", "rabbitmq", "ovsdb-server", "ovs-vswitchd"})

SERVICES: tuple[Service, ...] = (
    Service(
        "mariadb",
        mariadb.server_argv,
        env=mariadb.server_env,
        prepare=mariadb.prepare,
        probe=mariadb.answers,
        stop_timeout=60,
    ),
    Service(
        "epmd",
        lambda layout: ["epmd", "-address", HOST, "-port", str(PORTS["epmd"])],
        port="epmd",
    ),
    Service(
        "rabbitmq",
        lambda layout: [str(RABBITMQ_SERVER)],
        config="rabbitmq",
        env=_rabbitmq_env,
        port="rabbitmq",
        stop_timeout=60,
    ),
    Service(
        "ovsdb-server",
        _ovsdb_server,
        prepare=network.prepare_ovsdb,
        probe=_ovsdb_answers,
    ),
    Service(
        "ovs-vswitchd",
        _ovs_vswitchd,
        prepare=network.configure_vswitchd,
        probe=_vswitchd_answers,
    ),
    _wsgi_service("keystone", "keystone.wsgi.api", "keystone", "/v3"),
    _wsgi_service("placement", "placement.wsgi.api", "placement", "/"),
    _wsgi_service("glance", "glance.wsgi.api", "glance", "/"),
    _wsgi_service("neutron", "neutron.wsgi.api", "neutron", "/", {"CCI_CONFIGURE_MAPPERS": "1"}),
    # Neutron's WSGI API serves no RPC: the agents' side is a process of its own.
    Service(
        "neutron-rpc-server",
        _neutron("neutron-rpc-server", "plugins/ml2/ml2_conf.ini"),
        config="neutron",
        probe=_rpc_server_consumes,
    ),
    _wsgi_service("nova-api", "nova.wsgi.osapi_compute", "nova", "/"),
    _wsgi_service("nova-metadata", "nova.wsgi.metadata", "nova", "/"),
    Service("nova-conductor", _nova("nova-conductor"), config="nova"),
    Service("nova-scheduler", _nova("nova-scheduler"), config="nova"),
    # nova-compute shuts down slowly (graceful_shutdown_timeout in nova.conf):
    # `down` waits for it, and `up` never starts a second one beside it.
    Service(
        "nova-compute",
        _nova_compute,
        env=_nova_compute_env,
        config="nova",
        stop_timeout=90,
    ),
    # The OVS agent logs SIGTERM and goes on: a short wait, then SIGKILL.
    Service(
        "neutron-openvswitch-agent",
        _neutron("neutron-openvswitch-agent", "ovs_agent.ini"),
        config="neutron",
        probe=_agent_alive("Open vSwitch agent"),
        stop_timeout=5,
    ),
    Service(
        "neutron-dhcp-agent",
        _neutron("neutron-dhcp-agent", "dhcp_agent.ini"),
        config="neutron",
        probe=_agent_alive("DHCP agent"),
    ),
    Service(
        "neutron-metadata-agent",
        _neutron("neutron-metadata-agent", "metadata_agent.ini"),
        config="neutron",
        probe=_agent_alive("Metadata agent"),
    ),
    Service(
        "link-watcher",
        lambda layout: [sys.executable, "-m", "container_ci.cloud.link_watcher", str(layout.root)],
        stop_timeout=5,
    ),
    # The container service (`cloud up --with container-service`), see zun.py.
    Service(
        "kuryr-libnetwork",
        _kuryr,
        config="kuryr",
        port="kuryr",
        prepare=lambda layout: zun.write_plugin_spec(),
        component=zun.COMPONENT,
    ),
    _wsgi_service(
        "zun-api",
        "zun.wsgi.api",
        "zun",
        "/",
        {"CCI_WSGI_ARGS": "--config-file etc/zun/zun.conf"},  # relative to the state dir, its cwd
        component=zun.COMPONENT,
    ),
    Service(
        f"dockerd-{zun.SECOND_HOST}",
        _second_dockerd,
        config="docker",
        prepare=_prepare_second_dockerd,
        probe=_second_dockerd_answers,
        stop_timeout=60,
        component=zun.COMPONENT,
    ),
    Service(
        "zun-compute",
        _zun_compute(1),
        config="zun",
        probe=_zun_host_up(lambda layout: zun.first_host(layout)),
        component=zun.COMPONENT,
    ),
    Service(
        "zun-compute-2",
        _zun_compute(2),
        config="zun",
        probe=_zun_host_up(lambda layout: zun.SECOND_HOST),
        component=zun.COMPONENT,
    ),
)


def services_of(components: frozenset[str]) -> tuple[Service, ...]:
    """The cloud's services with those of the `components` added."""
    return tuple(s for s in SERVICES if s.component is None or s.component in components)
