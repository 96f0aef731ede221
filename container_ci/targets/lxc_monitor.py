"""Whether libvirtd still holds its monitor connection to an LXC domain's
controller (libvirt_lxc), and what the controller logged when it went.

libvirtd learns everything about a running LXC guest through that one
connection: the controller reports the guest's init pid when it starts
and its exit status when it ends, and libvirtd completes a reboot (it
stops and starts the domain again) when that status says SIGHUP. libvirt
9.0 loses the connection by itself when a domain starts under load, with
no fault anywhere: virLXCMonitorNew registers the socket with the event
loop before it adds the monitor protocol, and when the controller's first
event (the init's pid, sent at once if the guest is already up) arrives
in between, the event loop finds "No program found for event" and closes
the connection, before the close callback that would tell libvirtd the
domain ended is set (libvirtd's debug log, bench/chaos-like load on these
machines: 5 of about 330 runs, 1-80 ms after the start; the controller
logs "End of file while reading data" then, and "Dropping event 1 because
libvirtd is not connected" at the guest's end). The domain runs on, and
libvirt calls it running after its controller has gone: a reboot can
never complete, a stop is noticed only by a destroy.

Nothing outside libvirtd can connect it again; what the harness can do is
see it and say so, in the driver's words, at the operation it breaks."""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path

RUNTIME_DIR = Path("/run/libvirt/lxc")  # the controllers' sockets and pid files
CONTROLLER_LOGS = Path("/var/log/libvirt/lxc")  # libvirt_lxc's log of each domain
UNIX_SOCKETS = Path("/proc/net/unix")
SS_CONNECTED = "03"  # /proc/net/unix's St column: a connected stream socket
# Every message about a lost monitor starts so: bench/chaos tells such a
# failure (libvirt's own) from the harness's by it.
MONITOR_LOST = "libvirtd lost its monitor connection"
START_LINE = ": starting up"  # what libvirtd writes to the log before each start
EOF_LINE = "End of file while reading data"
LOSS_PATIENCE = 0.5  # seconds a missing connection is looked for again


def monitor_connections(socket_path: Path, table: Path = UNIX_SOCKETS) -> int:
    """How many connections the controller has accepted on its monitor
    socket and still holds: an accepted Unix socket carries its listener's
    path, and the controller closes its end once libvirtd's is gone. Only
    libvirtd connects there."""
    wanted = str(socket_path)
    count = 0
    for line in table.read_text(errors="replace").splitlines()[1:]:
        fields = line.split(None, 7)
        if len(fields) == 8 and fields[7] == wanted and fields[5] == SS_CONNECTED:
            count += 1
    return count


def recorded_controller_pid(name: str, runtime_dir: Path = RUNTIME_DIR) -> int | None:
    """The pid libvirt wrote for the domain's controller (RUNTIME_DIR/<name>.pid),
    whether or not that process still runs; None without a readable one."""
    try:
        return int((runtime_dir / f"{name}.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def controller_pid(name: str, runtime_dir: Path = RUNTIME_DIR) -> int | None:
    """The domain's libvirt_lxc controller, if it runs."""
    pid = recorded_controller_pid(name, runtime_dir)
    if pid is None:
        return None
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0]
    except OSError:
        return None
    return pid if os.path.basename(command) == b"libvirt_lxc" else None


def _stamp(line: str) -> datetime | None:
    """The time of a controller log line ("2026-12-02 12:26:02.813+0000: ...")."""
    try:
        return datetime.strptime(line[:28], "%Y-%m-%d %H:%M:%S.%f%z")
    except ValueError:
        return None


def eof_after_start(log: Path) -> str:
    """When the controller, since its last start, read the end of libvirtd's
    connection ("at 12:26:02.813, 1 ms after its start"), or ""."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    starts = [i for i, line in enumerate(lines) if line.endswith(START_LINE)]
    if not starts:
        return ""
    started = _stamp(lines[starts[-1]])
    for line in lines[starts[-1] + 1 :]:
        if EOF_LINE in line:
            at = _stamp(line)
            if at is None:
                return "since its start"
            when = f"at {at:%H:%M:%S}.{at.microsecond // 1000:03d}"
            if started is None:
                return when
            return f"{when}, {(at - started).total_seconds() * 1000:.0f} ms after its start"
    return ""


def monitor_loss(
    name: str,
    runtime_dir: Path = RUNTIME_DIR,
    logs: Path = CONTROLLER_LOGS,
    table: Path = UNIX_SOCKETS,
    patience: float = LOSS_PATIENCE,
) -> str:
    """Why libvirtd can no longer hear the running domain `name`, or "".
    Asked only while libvirtd answers and calls the domain running (a
    libvirtd killed and started again connects anew to every controller):
    then a controller that runs with no connection means libvirtd dropped
    it without noticing. A loss is for good, so a connection not seen yet
    is looked for again for `patience` seconds (one being accepted)."""
    pid = controller_pid(name, runtime_dir)
    deadline = time.monotonic() + patience
    while pid is not None and not monitor_connections(runtime_dir / f"{name}.sock", table):
        if time.monotonic() >= deadline:
            seen = eof_after_start(logs / f"{name}.log")
            read = f"read the end of it {seen}" if seen else "has no connection from libvirtd"
            return (
                f"{MONITOR_LOST} to {name} (its controller, pid {pid}, {read}; libvirt "
                "9.0 drops it, unnoticed, when the controller's first event comes before "
                "the monitor protocol is registered): libvirtd hears nothing more of this "
                "guest, so it cannot complete a reboot"
            )
        time.sleep(0.1)
        pid = controller_pid(name, runtime_dir)
    return ""
