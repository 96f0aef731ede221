"""The local cloud's database server: Debian's MariaDB (MySQL is what every
OpenStack service is developed against; SQLite cannot take Nova's four
processes writing at once, nor Neutron's migrations). Its files live in the
state dir; it listens on a Unix socket only (no TCP) and runs as root, so
nothing outside the state dir needs to be readable by another user. Its
files are 0600 and its directories 0700 (`FILE_MODES`); no SQL statement
is ever on a command line (another user sees those in /proc/*/cmdline),
the one that sets the password least of all."""

from __future__ import annotations

import os
import subprocess

from container_ci.cloud.layout import Layout
from container_ci.errors import CloudError
from container_ci.private import redact

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
# mysys reads these at start (default 0660 and 0700, whatever the process's
# umask: mariadbd resets it from them).
FILE_MODES = {"UMASK": "0600", "UMASK_DIR": "0700"}


def server_env(layout: Layout) -> dict[str, str]:
    return dict(FILE_MODES)


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
        env={**os.environ, **FILE_MODES},
        check=False,
    )
    if done.returncode != 0:
        raise CloudError(
            f"mariadb-install-db failed: {(done.stderr or done.stdout).strip()[-300:]}"
        )


def prepare(layout: Layout) -> None:
    """Before a start: its socket's directory, its system tables."""
    layout.make_socket_dir(layout.mariadb_socket)
    install_db(layout)


def server_argv(layout: Layout) -> list[str]:
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
    execute(layout, statements, "creating the databases", secret=password)


def execute(layout: Layout, statements: list[str], what: str, secret: str = "") -> None:
    """SQL statements as MariaDB's root, over the cloud's socket, on the
    client's standard input; `secret` is never quoted in the error."""
    done = subprocess.run(
        ["mariadb", "--no-defaults", f"--socket={layout.mariadb_socket}", "--batch"],
        input="".join(f"{statement};\n" for statement in statements),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise CloudError(f"{what} failed: {redact(done.stderr.strip(), secret)}")
