"""Secrets and exposure of the real local cloud, as another local user
would find them: with the container service added (every process the
cloud can run), nothing in its state dir is open to others beyond what
`modes.WIDER` lists, every socket its processes (and the daemons `setup`
starts) listen on is on loopback or in a network namespace of the cloud's
own, and the cloud's password is in no log, no command's output and no
process's command line, not even while an `up` runs.

The module-scoped cloud of test_local_cloud.py; one xdist group with it
(fixed ports). A cloud started by an older container-ci must be taken
down first: its processes keep the umask they were started with."""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import os
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from container_ci import paths, private
from container_ci.cloud import clouds_yaml, lifecycle, modes, network, processes
from container_ci.cloud.layout import PORTS, Layout
from container_ci.cloud.services import SERVICES, second_docker_exec_root
from container_ci.provision import daemons
from tests.functional.test_local_cloud import local_cloud  # noqa: F401 - the module's cloud
from tests.helpers import cli_argv, run_cli

pytestmark = [pytest.mark.xdist_group("local-cloud"), pytest.mark.functional]
HOST_NETWORK = os.readlink("/proc/self/ns/net")


@pytest.fixture(scope="module")
def whole_cloud(local_cloud: Layout) -> Iterator[Layout]:  # noqa: F811
    """The cloud with the container service: its second Docker Engine,
    kuryr, Zun's API and computes run too."""
    up = run_cli("cloud", "up", "--with", "container-service", timeout=900)
    assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
    yield local_cloud


def password(layout: Layout) -> str:
    return str(json.loads(layout.state_file.read_text())["password"])


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _with_descendants(pids: set[int]) -> set[int]:
    found = set(pids)
    for pid in pids:
        try:
            found.update(child.pid for child in psutil.Process(pid).children(recursive=True))
        except psutil.NoSuchProcess:
            continue
    return found


def cloud_processes(layout: Layout) -> set[int]:
    """The cloud's services (pid files), what they started (gunicorn's
    workers, privsep daemons, containerd), what the DHCP agent left running
    on its own (dnsmasq, haproxy: strays by their command line), and the
    daemons `container-ci setup` started (dockerd, libvirtd) with theirs."""
    roots = {processes.read_pid(layout.pidfile(s.name)) for s in SERVICES}
    roots |= {daemons.managed_pid(name) for name in ("dockerd", "libvirtd")}
    roots |= set(lifecycle.stray_processes(layout))
    return _with_descendants({pid for pid in roots if pid is not None})


def network_namespace(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        return None


def on_loopback(address: str) -> bool:
    parsed = ipaddress.ip_address(address.split("%")[0])
    mapped = getattr(parsed, "ipv4_mapped", None)
    return parsed.is_loopback or bool(mapped and mapped.is_loopback)


def listening(pids: set[int]) -> list[tuple[int, str, str, int]]:
    """(pid, program, address, port) of every TCP socket listening and every
    UDP socket bound (unconnected) in this machine's network namespace
    that one of `pids` holds (psutil reads /proc/net and each /proc/<pid>/fd)."""
    found = []
    for connection in psutil.net_connections(kind="inet"):
        if connection.pid not in pids or not connection.laddr:
            continue
        tcp = connection.type == socket.SOCK_STREAM
        if (tcp and connection.status != psutil.CONN_LISTEN) or (not tcp and connection.raddr):
            continue
        try:
            program = psutil.Process(connection.pid).name()
        except psutil.NoSuchProcess:
            continue
        found.append((connection.pid, program, connection.laddr.ip, connection.laddr.port))
    return found


def test_every_socket_the_cloud_opens_is_on_loopback_or_namespaced(whole_cloud: Layout):
    pids = cloud_processes(whole_cloud)
    namespaced = {
        psutil.Process(pid).name()
        for pid in pids
        if network_namespace(pid) not in (None, HOST_NETWORK)
    }
    # The DHCP agent's dnsmasq and the metadata proxy serve the guests from
    # the network's namespace (qdhcp-*): nothing outside the cloud's bridges
    # reaches them.
    assert {"dnsmasq", "haproxy"} <= namespaced, namespaced
    sockets = listening(pids)
    exposed = [entry for entry in sockets if not on_loopback(entry[2])]
    assert exposed == [], f"listening beyond loopback: {exposed}"
    ports = {port for _, _, _, port in sockets}
    # Not vacuous: the APIs, RabbitMQ (AMQP, Erlang distribution), epmd,
    # the OpenFlow controller and kuryr were all seen, on loopback.
    expected = set(PORTS.values())
    assert expected <= ports, f"not listening: {sorted(expected - ports)}"


def test_nothing_the_cloud_keeps_is_open_to_other_users(whole_cloud: Layout):
    assert modes.open_to_others(whole_cloud) == []
    assert mode(whole_cloud.root) == 0o700
    assert mode(paths.data_dir()) == 0o700
    assert mode(clouds_yaml.clouds_yaml_path()) == 0o600
    # Each exception is real, or it goes from the list: some path it names
    # (as modes.is_wider reads a pattern: fnmatch, `*` crossing `/`) is open.
    exposed = [
        path.relative_to(whole_cloud.root).as_posix()
        for path, status in private.walk(whole_cloud.root)
        if status.st_mode & 0o077
    ]
    for pattern, _ in modes.WIDER:
        assert any(fnmatch.fnmatchcase(path, pattern) for path in exposed), pattern
    # Open vSwitch's database socket (a system path: os-vif and libvirt look
    # there): made under our umask, root's only.
    ovsdb = network.OVSDB_SOCKET.lstat()
    assert stat.S_ISSOCK(ovsdb.st_mode) and not ovsdb.st_mode & 0o007 and ovsdb.st_gid == 0
    # The second Docker Engine's exec root (containerd's sockets), in /run.
    assert mode(second_docker_exec_root(whole_cloud)) & 0o077 == 0
    # What the services create from now on is owner-only too: they run
    # under a umask of 077 (inherited from `up`), but for the programs
    # that set their own (mariadbd from UMASK, dockerd resets it to 022).
    own_umask = {"mariadb": "0066", "dockerd-cci-zun-2": "0022"}
    for service in SERVICES:
        pid = processes.read_pid(whole_cloud.pidfile(service.name))
        assert pid is not None, service.name
        assert umask(pid) == own_umask.get(service.name, "0077"), service.name


def umask(pid: int) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Umask:"):
            return line.split()[1]
    raise AssertionError(f"no Umask in /proc/{pid}/status")


def test_the_setups_files_are_owner_only(whole_cloud: Layout):
    """`container-ci setup` (run before, and again here: it tightens what
    an older version left): the data dir, the daemons' logs and pid files,
    the image store's directories. The guests' root file systems in the
    store keep a distribution's modes (doc/local_cloud.md, Files and modes)."""
    done = run_cli("setup", timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert mode(paths.data_dir()) == 0o700
    assert [p for p in [paths.daemons_dir(), *paths.daemons_dir().iterdir()]
            if mode(p) & 0o077] == []  # fmt: skip
    for directory in (paths.lxc_images_dir().parent, paths.lxc_images_dir()):
        assert mode(directory) == 0o700, directory
    assert [p for p in paths.data_dir().glob("stability.sqlite*") if mode(p) & 0o077] == []


def test_the_password_is_in_no_log_no_output_and_no_command_line(whole_cloud: Layout):
    secret = password(whole_cloud)
    assert len(secret) >= 24
    logs = [whole_cloud.logs, whole_cloud.data / "rabbitmq" / "log", paths.daemons_dir()]
    quoting = [
        path
        for directory in logs
        for path in directory.rglob("*")
        if path.is_file() and secret.encode() in path.read_bytes()
    ]
    assert quoting == []
    outputs = [
        run_cli("cloud", "--help"),
        run_cli("cloud", "up", "--help"),
        run_cli("cloud", "status"),
        run_cli("cloud", "logs", "-n", "200"),
        run_cli("cloud", "up", "--compute-driver", "no-such-driver"),  # argparse's error
        run_cli("cloud", "logs", "no-such-service"),  # BadInput
    ]
    assert [o.returncode for o in outputs[-2:]] == [2, 2]
    for done in outputs:
        assert secret not in done.stdout + done.stderr, done.args
    # A second `up` sets RabbitMQ's and MariaDB's passwords again: watch
    # every command line on the machine, and every socket its children
    # listen on, while it runs.
    seen_in_argv: set[str] = set()
    listened: set[tuple[str, str, int]] = set()
    up = subprocess.Popen(cli_argv("cloud", "up"), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)  # fmt: skip
    deadline = time.monotonic() + 900
    while up.poll() is None and time.monotonic() < deadline:
        seen_in_argv |= _command_lines_with(secret)
        children = _with_descendants({up.pid}) - {up.pid}
        listened |= {(p, a, port) for _, p, a, port in listening(children) if not on_loopback(a)}
        time.sleep(0.02)
    output, _ = up.communicate(timeout=60)
    assert up.returncode == 0, output[-3000:]
    assert secret not in output
    assert seen_in_argv == set()
    assert listened == set()


def _command_lines_with(secret: str) -> set[str]:
    found = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes()
        except OSError:
            continue
        if secret.encode() in argv:
            found.add(argv.split(b"\0")[0].decode(errors="replace"))
    return found
