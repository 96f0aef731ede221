"""A throwaway PostgreSQL server for tests and benchmarks: Debian's
`postgresql` package, a fresh cluster in a temp dir, listening on a Unix
socket only (no network), stopped by its pid when done."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

from container_ci.errors import DaemonError
from container_ci.provision import packages

BIN = Path("/usr/lib/postgresql/15/bin")


def _as_postgres(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["runuser", "-u", "postgres", "--", *argv], capture_output=True, text=True, check=False
    )


class PostgresServer:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.socket_dir = directory / "socket"
        self.port = 55432 + os.getpid() % 1000
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        packages.install(["postgresql"])
        postgres = pwd.getpwnam("postgres")
        self.socket_dir.mkdir(parents=True)
        for path in (self.directory, self.socket_dir):
            os.chown(path, postgres.pw_uid, postgres.pw_gid)
        done = _as_postgres(
            [
                str(BIN / "initdb"),
                "-D",
                str(self.data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ]
        )
        if done.returncode != 0:
            raise DaemonError(f"initdb failed: {done.stderr.strip()}")
        self.process = subprocess.Popen(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(BIN / "postgres"),
                "-D",
                str(self.data),
                "-k",
                str(self.socket_dir),
                "-p",
                str(self.port),
                "-c",
                "listen_addresses=",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=50",
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(self.directory / "server.log", "w"),  # noqa: SIM115
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready = _as_postgres(
                [str(BIN / "pg_isready"), "-h", str(self.socket_dir), "-p", str(self.port)]
            )
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise DaemonError(f"postgres did not start: {(self.directory / 'server.log').read_text()}")

    def create_database(self, name: str) -> str:
        done = _as_postgres(
            [
                str(BIN.parent / "bin" / "createdb"),
                "-h",
                str(self.socket_dir),
                "-p",
                str(self.port),
                name,
            ]
        )
        if done.returncode != 0:
            raise DaemonError(f"createdb {name}: {done.stderr.strip()}")
        return f"postgresql+psycopg://postgres@/{name}?host={self.socket_dir}&port={self.port}"

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # smart shutdown of the server we started, by pid
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.directory, ignore_errors=True)
