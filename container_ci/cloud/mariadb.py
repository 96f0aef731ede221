"""The local cloud's database server: Debian's MariaDB (MySQL is what every
OpenStack service is developed against; SQLite cannot take Nova's four
processes writing at once, nor Neutron's migrations). Its files live in the
state dir; it listens on a Unix socket only (no TCP) and runs as root, so
nothing outside the state dir needs to be readable by another user."""

from __future__ import annotations

import subprocess

from container_ci.cloud.layout import Layout
from container_ci.errors import CloudError

DATABASES = (
    "keystone",
    "placement",
    "glance",
    "neutron",
    "nova_api",
    "nova_cell0",
    "nova_cell1",
    "zun",
)
USER = "cci"


def install_db(layout: Layout) -> None:
    """The system tables, once (mariadb-install-db), before the first start."""
    if (layout.mariadb_data / "mysql").is_dir():
        return
    layout.mariadb_data.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            "mariadb-install-db",
            "--no-defaults",
            f"--datadir={layout.mariadb_data}",
            "--user=root",
            "--auth-root-authentication-method=socket",
            "--skip-test-db",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise CloudError(
            f"mariadb-install-db failed: {(done.stderr or done.stdout).strip()[-300:]}"
        )


def server_argv(layout: Layout) -> list[str]:
    layout.mariadb_socket.parent.mkdir(parents=True, exist_ok=True)
    return [
        "mariadbd",
        "--no-defaults",
        f"--datadir={layout.mariadb_data}",
        f"--socket={layout.mariadb_socket}",
        f"--pid-file={layout.run / 'mariadbd.own.pid'}",
        "--skip-networking",
        "--user=root",
        "--max-connections=500",
        "--innodb-buffer-pool-size=128M",
        "--innodb-flush-log-at-trx-commit=2",  # a test cloud: speed over durability
        "--character-set-server=utf8mb4",
    ]


def answers(layout: Layout) -> bool:
    done = subprocess.run(
        ["mariadb-admin", "--no-defaults", f"--socket={layout.mariadb_socket}", "ping"],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def create_databases(layout: Layout, password: str) -> None:
    """Every service's database and the one user they share (idempotent)."""
    statements = [
        f"CREATE DATABASE IF NOT EXISTS {name} CHARACTER SET utf8mb4" for name in DATABASES
    ]
    statements += [
        f"CREATE USER IF NOT EXISTS '{USER}'@'localhost' IDENTIFIED BY '{password}'",
        f"GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'localhost'",
    ]
    execute(layout, statements, "creating the databases")


def execute(layout: Layout, statements: list[str], what: str) -> None:
    """SQL statements as MariaDB's root, over the cloud's socket."""
    done = subprocess.run(
        [
            "mariadb",
            "--no-defaults",
            f"--socket={layout.mariadb_socket}",
            "-e",
            "; ".join(statements),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise CloudError(f"{what} failed: {done.stderr.strip()}")
