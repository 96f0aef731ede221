"""Containers a killed dockerd left behind in containerd, out of the Engine's sight.

A SIGKILLed dockerd can leave containers that the Engine started again
after does not know, in two forms (bench/chaos, a dockerd fault per run):

- a containerd record (and maybe its task: a containerd-shim and the
  guest's processes) of a container the Engine has forgotten;
- a containerd-shim with no record at all, often still holding `runc init`
  of a task that was being created when dockerd (and its containerd) died.

`docker ps` and the Engine's API list neither, so `sweep` reaches them
through containerd itself with `ctr`, and through the shim binary's own
`delete` action (what containerd runs after a shim it lost: `runc delete
--force`, then unmount the bundle's rootfs). Both ship with containerd,
which docker.io depends on.

Only containers whose hostname carries the harness's name prefix are
touched: Docker sets a container's hostname to its name, and every
container the harness makes is named `cci-<run>-...`. A container the
Engine does not know is never in use by a run, which reaches containerd
only through the Engine."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from container_ci.errors import InfrastructureError

# dockerd's own containerd (started by dockerd when no system containerd
# runs, as on these machines), then the system's
ADDRESSES = (
    Path("/var/run/docker/containerd/containerd.sock"),
    Path("/run/containerd/containerd.sock"),
)
NAMESPACE = "moby"  # dockerd's --containerd-namespace default
SHIM_NAME = "containerd-shim-runc-v2"
CTR_TIMEOUT = 30.0
EXIT_WAIT = 5.0


@dataclass(frozen=True)
class Shim:
    pid: int
    bundle: Path  # the task's bundle dir: the shim's working directory


@dataclass(frozen=True)
class Orphan:
    """A container of the Engine's namespace the Engine does not know."""

    id: str
    hostname: str
    shim: Shim | None


def containerd_address() -> Path | None:
    """The containerd socket the local Engine uses, if this process may use it."""
    if os.geteuid() != 0 or shutil.which("ctr") is None:
        return None
    return next((path for path in ADDRESSES if path.is_socket()), None)


class _CtrFailed(Exception):
    """ctr ran and refused; the message is its first line of stderr."""


def _ctr(address: Path, *args: str) -> str:
    argv = ["ctr", "--address", str(address), "--namespace", NAMESPACE, *args]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=CTR_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise InfrastructureError(
            f"containerd: ctr {' '.join(args)} took over {CTR_TIMEOUT:g}s ({address})"
        ) from exc
    if done.returncode != 0:
        raise _CtrFailed((done.stderr.strip() or f"exit {done.returncode}").splitlines()[0])
    return done.stdout


def running_shims() -> dict[str, Shim]:
    """The Engine namespace's shims on this machine, by container id, from /proc."""
    shims: dict[str, Shim] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            if not argv[0].endswith(SHIM_NAME) or _flag(argv, "-namespace") != NAMESPACE:
                continue
            container_id = _flag(argv, "-id")
            if container_id:
                shims[container_id] = Shim(int(entry.name), (entry / "cwd").resolve(strict=True))
        except OSError:
            continue  # gone meanwhile
    return shims


def _flag(argv: list[str], name: str) -> str:
    with contextlib.suppress(ValueError, IndexError):
        return argv[argv.index(name) + 1]
    return ""


def list_ids(address: Path) -> list[str]:
    """Every container containerd holds in the Engine's namespace."""
    try:
        return _ctr(address, "containers", "list", "--quiet").split()
    except _CtrFailed as exc:
        raise InfrastructureError(f"containerd: list containers ({address}): {exc}") from exc


def find_orphans(
    address: Path,
    shims: dict[str, Shim],
    containerd_ids: list[str],
    engine_ids: set[str],
    prefix: str,
) -> list[Orphan]:
    """Containers with a containerd record or a running shim that are not in
    `engine_ids`, whose hostname starts with `prefix`. List in this order:
    shims, containerd's records, the Engine's; the Engine records a
    container before containerd does, and containerd before its shim
    starts, so a container being made meanwhile is never taken for an
    orphan (one being removed is removed either way)."""
    found = []
    for container_id in dict.fromkeys([*containerd_ids, *shims]):
        if container_id in engine_ids:
            continue
        shim = shims.get(container_id)
        if container_id in containerd_ids:
            hostname = _recorded_hostname(address, container_id)
        else:
            hostname = _bundle_hostname(shim.bundle) if shim else ""
        if hostname.startswith(prefix):
            found.append(Orphan(container_id, hostname, shim))
    return found


def _recorded_hostname(address: Path, container_id: str) -> str:
    try:
        info = json.loads(_ctr(address, "containers", "info", container_id))
    except (_CtrFailed, json.JSONDecodeError):
        return ""  # gone meanwhile, or not a record we can read: not ours to touch
    return str((info.get("Spec") or {}).get("hostname") or "")


def _bundle_hostname(bundle: Path) -> str:
    try:
        spec = json.loads((bundle / "config.json").read_text())
    except (OSError, ValueError):
        return ""
    return str(spec.get("hostname") or "")


def remove_orphan(address: Path, container_id: str, name: str) -> None:
    """Through containerd: SIGKILL the task's processes, delete the task
    (its shim exits) and the record. Then a shim still running (containerd
    lost it): its own `delete` (runc delete --force, the rootfs unmounted),
    SIGKILL, and its bundle dir removed. Each step tolerates what an earlier
    one, or containerd itself, already removed."""
    with contextlib.suppress(_CtrFailed):  # no task, or it has exited
        _ctr(address, "tasks", "kill", "--all", "--signal", "SIGKILL", container_id)
    _wait(lambda: not _task_running(address, container_id))
    with contextlib.suppress(_CtrFailed):
        _ctr(address, "tasks", "delete", "--force", container_id)
    try:
        _ctr(address, "containers", "delete", container_id)
    except _CtrFailed as exc:
        if "not found" not in str(exc):
            raise InfrastructureError(
                f"containerd: delete orphaned container {name} ({container_id[:12]}): {exc}"
            ) from exc
    shim = running_shims().get(container_id)
    if shim is not None:
        _end_lost_shim(address, container_id, name, shim)
    # dockerd's own bundle dir for it (fifos, its copy of the spec), beside
    # the socket of the containerd it started
    engine_bundle = address.parent / container_id
    if address.parent.name == "containerd" and engine_bundle.is_dir():
        shutil.rmtree(engine_bundle, ignore_errors=True)


def _end_lost_shim(address: Path, container_id: str, name: str, shim: Shim) -> None:
    delete = [SHIM_NAME, "-namespace", NAMESPACE, "-id", container_id,
              "-address", str(address), "delete"]  # fmt: skip
    try:
        subprocess.run(delete, cwd=shim.bundle, capture_output=True, timeout=CTR_TIMEOUT,
                       check=False)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InfrastructureError(
            f"containerd: {SHIM_NAME} delete of {name} ({container_id[:12]}): {exc}"
        ) from exc
    with contextlib.suppress(ProcessLookupError):
        os.kill(shim.pid, signal.SIGKILL)
    _wait(lambda: not Path(f"/proc/{shim.pid}/cwd").exists())
    if os.path.ismount(shim.bundle / "rootfs"):
        raise InfrastructureError(
            f"containerd: {name} ({container_id[:12]}): {shim.bundle}/rootfs is still mounted"
        )
    if shim.bundle.name == container_id:  # the task's own dir, never another path
        shutil.rmtree(shim.bundle, ignore_errors=True)


def _wait(done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + EXIT_WAIT
    while time.monotonic() < deadline and not done():
        time.sleep(0.1)


def _task_running(address: Path, container_id: str) -> bool:
    try:
        listing = _ctr(address, "tasks", "list")
    except _CtrFailed:
        return False
    return any(
        fields[0] == container_id and fields[2] == "RUNNING"
        for fields in (line.split() for line in listing.splitlines()[1:])
        if len(fields) >= 3
    )
