"""Starting dockerd and libvirtd by hand (these machines have no systemd).

A daemon that already answers is left alone, whoever started it. One that we
start runs in its own session with its pid and log under the data dir, so
tests and operators can find it (and only it) by pid."""

from __future__ import annotations

import grp
import os
import pwd
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from container_ci import paths, private
from container_ci.errors import DaemonError

CGROUP_UNIFIED = Path("/sys/fs/cgroup/unified")


@dataclass(frozen=True)
class DaemonSpec:
    name: str
    argv: tuple[str, ...]
    stale_pidfiles: tuple[str, ...]  # the daemon's own pidfile, removed if its pid is dead
    prepare: Callable[[], None]
    start_timeout: float = 60.0
    # A config file of our own, written beside the pid file and passed with
    # `config_option`; the daemon's defaults for all it does not set.
    config: str = ""
    config_option: str = ""

    def command(self) -> list[str]:
        """The argv to start it with, its config file (re)written first."""
        if not self.config:
            return list(self.argv)
        path = configfile(self.name)
        private.write_private(path, self.config)
        return [*self.argv, self.config_option, str(path)]


def pidfile(name: str) -> Path:
    return paths.daemons_dir() / f"{name}.pid"


def logfile(name: str) -> Path:
    return paths.daemons_dir() / f"{name}.log"


def configfile(name: str) -> Path:
    return paths.daemons_dir() / f"{name}.conf"


def managed_pid(name: str) -> int | None:
    """The pid of the daemon `container-ci setup` started, if it still runs."""
    try:
        pid = int(pidfile(name).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours is not alive
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _remove_stale_pidfile(path: str) -> None:
    try:
        pid = int(Path(path).read_text().strip())
    except (OSError, ValueError):
        return
    if not _alive(pid):
        Path(path).unlink(missing_ok=True)


def start(spec: DaemonSpec, answers: Callable[[], bool]) -> int:
    """Start the daemon and wait until `answers()`; return its pid or raise DaemonError."""
    for stale in spec.stale_pidfiles:
        _remove_stale_pidfile(stale)
    spec.prepare()
    argv = spec.command()
    log_path = logfile(spec.name)
    with open(log_path, "ab") as log:
        log.write(f"\n--- started by container-ci setup at {time.ctime()}\n".encode())
        log.flush()
        try:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # survives our exit and our Ctrl-C
                # A system daemon: the umask an init system gives it, not ours
                # (077, see container_ci.private); its files are its own to mode,
                # and an LXC guest's processes inherit libvirtd's.
                umask=private.SYSTEM_DEFAULT,
            )
        except FileNotFoundError as exc:
            raise DaemonError(f"{spec.name}: {spec.argv[0]} is not installed") from exc
    pidfile(spec.name).write_text(f"{process.pid}\n")
    deadline = time.monotonic() + spec.start_timeout
    while time.monotonic() < deadline:
        if answers():
            return process.pid
        if process.poll() is not None:
            raise DaemonError(
                f"{spec.name} exited with status {process.returncode}: {_last_error(log_path)} "
                f"(log: {log_path})"
            )
        time.sleep(0.2)
    raise DaemonError(
        f"{spec.name} did not answer within {spec.start_timeout:g}s (log: {log_path})"
    )


def _last_error(log_path: Path) -> str:
    lines = [line for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
    for line in reversed(lines):
        lowered = line.lower()
        if "error" in lowered or "fatal" in lowered or "failed" in lowered:
            return line.strip()[:300]
    return lines[-1].strip()[:300] if lines else "no output"


def stop_managed(name: str, timeout: float = 30.0) -> bool:
    """Stop the daemon we started (by its pid only). True if one was stopped."""
    pid = managed_pid(name)
    if pid is None:
        return False
    os.kill(pid, 15)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    if _alive(pid):
        os.kill(pid, 9)
    return True


# -- the two daemons -------------------------------------------------------


def _prepare_docker() -> None:
    pass


def _prepare_libvirt() -> None:
    """Work around two facts of these machines (see doc/ and DESIGN.md).

    - libvirtd loads the QEMU driver too, which refuses to start without the
      `libvirt-qemu` user that libvirt-daemon-system's postinst would create.
    - On a hybrid cgroup mount, LXC domains fail with "Unable to create
      directory /sys/fs/cgroup/unified" until the v2 mount is lazily unmounted."""
    _ensure_group("kvm")
    _ensure_group("libvirt-qemu")
    try:
        pwd.getpwnam("libvirt-qemu")
    except KeyError:
        _run(
            [
                "useradd",
                "--system",
                "-g",
                "kvm",
                "-G",
                "libvirt-qemu",
                "-d",
                "/var/lib/libvirt",
                "-M",
                "-s",
                "/usr/sbin/nologin",
                "libvirt-qemu",
            ]
        )
    if os.path.ismount(CGROUP_UNIFIED):
        _run(["umount", "-l", str(CGROUP_UNIFIED)])


def _ensure_group(name: str) -> None:
    try:
        grp.getgrnam(name)
    except KeyError:
        _run(["groupadd", "--system", name])


def _run(argv: list[str]) -> None:
    """A system change (groupadd, useradd, umount): the system's umask."""
    result = subprocess.run(
        argv, capture_output=True, text=True, umask=private.SYSTEM_DEFAULT, check=False
    )
    if result.returncode != 0:
        raise DaemonError(f"{' '.join(argv)} failed: {result.stderr.strip()}")


DOCKERD = DaemonSpec(
    name="dockerd",
    argv=("dockerd",),
    stale_pidfiles=("/var/run/docker.pid", "/var/run/docker/containerd/containerd.pid"),
    prepare=_prepare_docker,
)
# libvirtd reads no more from a client with max_client_requests (default 5)
# calls in flight, keepalive answers included: a run's connection (steps
# and state waits of many guests share it; its console readers had too,
# until they got one of their own) hit that limit several times a minute
# under bench/chaos, and twice in about 300 runs the
# client's keepalive ran out behind a slow destroy and the connection
# closed, with no fault injected ("Client hit max requests limit 5. This may
# result in keep-alive timeouts" in libvirtd's log just before). Workers
# stay at libvirtd's 20; a request waiting for one no longer stops reading.
LIBVIRTD_CONFIG = """\
# Written by container-ci setup; libvirtd's defaults for all else.
max_client_requests = 64
"""
LIBVIRTD = DaemonSpec(
    name="libvirtd",
    argv=("libvirtd",),
    stale_pidfiles=("/run/libvirtd.pid",),
    prepare=_prepare_libvirt,
    config=LIBVIRTD_CONFIG,
    config_option="--config",
)
