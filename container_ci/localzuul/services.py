"""The processes of the local Zuul, in start order, and how each is asked
whether it is ready: a port that answers, PostgreSQL's pg_isready, a
command socket a Zuul component creates once it runs, zuul-web's API."""

from __future__ import annotations

import os
import pwd
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from container_ci import private
from container_ci.localzuul import configs
from container_ci.localzuul.errors import ZuulError
from container_ci.localzuul.layout import HOST, PORTS, Layout

POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")


def tcp_answers(port: int, host: str = HOST) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def http_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - 127.0.0.1 only
            return int(response.status) == 200
    except (OSError, urllib.error.URLError, ValueError):
        return False


def as_postgres(argv: list[str]) -> list[str]:
    """setpriv execs the program as user postgres (runuser would stay its
    parent, and our pid file would name runuser instead of the server)."""
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", *argv]


def prepare_postgres(layout: Layout) -> None:
    """The cluster, made once: owned by postgres, trust auth (the socket
    directory is reachable by root and postgres only)."""
    postgres = pwd.getpwnam("postgres")
    layout.postgres.mkdir(parents=True, exist_ok=True)
    layout.postgres_socket_dir.mkdir(parents=True, exist_ok=True)
    for path in (layout.postgres, layout.postgres_socket_dir):
        os.chown(path, postgres.pw_uid, postgres.pw_gid)
        path.chmod(0o700)
    if (layout.postgres_data / "PG_VERSION").exists():
        return
    done = subprocess.run(
        as_postgres([str(POSTGRES_BIN / "initdb"), "-D", str(layout.postgres_data), "-A", "trust",
                     "-U", "postgres", "--no-sync", "-E", "UTF8"]),
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise ZuulError(f"initdb failed: {done.stderr.strip()[-300:]}")


def postgres_argv(layout: Layout) -> list[str]:
    return as_postgres([
        str(POSTGRES_BIN / "postgres"), "-D", str(layout.postgres_data),
        "-k", str(layout.postgres_socket_dir), "-p", str(PORTS["postgresql"]),
        "-c", "listen_addresses=", "-c", "max_connections=100",
    ])  # fmt: skip


def postgres_answers(layout: Layout) -> bool:
    done = subprocess.run(
        [str(POSTGRES_BIN / "pg_isready"), "-q", "-h", str(layout.postgres_socket_dir),
         "-p", str(PORTS["postgresql"])],
        capture_output=True, check=False,
    )  # fmt: skip
    return done.returncode == 0


def ensure_database(layout: Layout) -> bool:
    """Zuul's database; True if created here."""
    psql = [str(POSTGRES_BIN / "psql"), "-h", str(layout.postgres_socket_dir),
            "-p", str(PORTS["postgresql"]), "-U", "postgres", "-tAc"]  # fmt: skip
    query = f"SELECT 1 FROM pg_database WHERE datname = '{configs.DATABASE}'"
    found = subprocess.run([*psql, query], capture_output=True, text=True, check=False)
    if found.stdout.strip() == "1":
        return False
    done = subprocess.run(
        [*psql, f"CREATE DATABASE {configs.DATABASE}"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise ZuulError(f"creating Zuul's database failed: {done.stderr.strip()[-300:]}")
    return True


def prepare_sshd(layout: Layout) -> None:
    """sshd refuses to start without its privilege separation directory."""
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)


@dataclass(frozen=True)
class Service:
    name: str
    argv: Callable[[Layout], list[str]]
    answers: Callable[[Layout], bool]
    port: str | None = None  # a key of PORTS
    prepare: Callable[[Layout], None] | None = None
    start_timeout: float = 60
    stop_timeout: float = 30
    # None: ours (077, `zuul up`'s); else this one (see sshd's).
    umask: int | None = None


def _socket_exists(name: str) -> Callable[[Layout], bool]:
    return lambda layout: (layout.run / f"{name}.socket").exists()


SERVICES: tuple[Service, ...] = (
    Service(
        "zookeeper",
        configs.zookeeper_argv,
        lambda layout: tcp_answers(PORTS["zookeeper"]),
        port="zookeeper",
    ),
    Service(
        "postgresql",
        postgres_argv,
        postgres_answers,
        port="postgresql",
        prepare=prepare_postgres,
    ),
    Service(
        "sshd",
        configs.sshd_argv,
        lambda layout: tcp_answers(PORTS["sshd"]),
        port="sshd",
        prepare=prepare_sshd,
        # The static node: the jobs it runs get the umask of an ordinary
        # node's login (their workspaces are in root's home, 0700).
        umask=private.SYSTEM_DEFAULT,
    ),
    Service(
        "log-server",
        configs.log_server_argv,
        lambda layout: tcp_answers(PORTS["logs"]),
        port="logs",
    ),
    Service(
        "zuul-scheduler",
        lambda layout: configs.zuul_argv(layout, "scheduler"),
        _socket_exists("scheduler"),
        start_timeout=120,
    ),
    Service(
        "zuul-executor",
        lambda layout: configs.zuul_argv(layout, "executor"),
        lambda layout: _socket_exists("executor")(layout) and tcp_answers(PORTS["finger"]),
        port="finger",
        start_timeout=120,
        stop_timeout=60,
    ),
    Service(
        "zuul-launcher",
        lambda layout: configs.zuul_argv(layout, "launcher"),
        _socket_exists("launcher"),
    ),
    Service(
        "zuul-web",
        lambda layout: configs.zuul_argv(layout, "web"),
        lambda layout: http_answers(layout.url("zuul-web", "/api/info")),
        port="zuul-web",
        # zuul-web serves only once the scheduler has primed the layout; the
        # first time, that generates two keys for each of ~60 projects.
        start_timeout=600,
    ),
)

BY_NAME = {service.name: service for service in SERVICES}
