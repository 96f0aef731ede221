"""The local cloud's processes, in start order: how each is started, how we
know it is up, and how long it may take to stop."""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from container_ci.cloud import mariadb, network
from container_ci.cloud.configs import COMPUTE_HOST
from container_ci.cloud.layout import HOST, PORTS, Layout
from container_ci.errors import CloudError

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

    def config_digest(self, layout: Layout) -> str:
        digest = hashlib.sha256()
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
    name: str, module: str, config: str, http_path: str, extra_env: dict[str, str] | None = None
) -> Service:
    """An OpenStack WSGI app under gunicorn on its loopback port, one worker,
    loaded through the shim (`CCI_WSGI_MODULE`), its config dir in the
    service's own `OS_<SERVICE>_CONFIG_DIR` variable."""

    def argv(layout: Layout) -> list[str]:
        return [
            str(layout.bin("gunicorn")),
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

    return Service(name, argv, env=env, port=name, http_path=http_path, config=config)


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
    }


def rabbitmqctl(layout: Layout, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RABBITMQCTL), *args],
        env={**os.environ, **_rabbitmq_env(layout)},
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
    (its default_user setting only applies to a node's very first boot)."""
    added = rabbitmqctl(layout, "add_user", "cci", password)
    if added.returncode != 0 and "already exists" not in added.stderr + added.stdout:
        raise CloudError(f"rabbitmqctl add_user: {added.stderr.strip()[-300:]}")
    for args in (
        ("change_password", "cci", password),
        ("set_permissions", "-p", "/", "cci", ".*", ".*", ".*"),
    ):
        done = rabbitmqctl(layout, *args)
        if done.returncode != 0:
            raise CloudError(f"rabbitmqctl {args[0]}: {done.stderr.strip()[-300:]}")


def _nova(binary: str) -> Callable[[Layout], list[str]]:
    def argv(layout: Layout) -> list[str]:
        return [
            str(layout.bin(binary)),
            "--config-file",
            str(layout.config_dir("nova") / "nova.conf"),
        ]

    return argv


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


# What the OpenStack services stand on: stopped last, one at a time, after
# every other service has exited.
FOUNDATIONS = frozenset({"mariadb", "epmd", "rabbitmq", "ovsdb-server", "ovs-vswitchd"})

SERVICES: tuple[Service, ...] = (
    Service(
        "mariadb",
        mariadb.server_argv,
        prepare=mariadb.install_db,
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
    Service("nova-compute", _nova("nova-compute"), config="nova", stop_timeout=90),
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
)
