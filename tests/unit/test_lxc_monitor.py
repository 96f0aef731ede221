"""How the libvirt-lxc target tells that libvirtd lost a domain's monitor
connection: from the kernel's table of Unix sockets (real sockets here)
and the controller's log (lines as libvirt_lxc 9.0 writes them, recorded
on these machines)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from container_ci.targets import lxc_monitor
from container_ci.targets.lxc_monitor import (
    MONITOR_LOST,
    eof_after_start,
    monitor_connections,
    monitor_loss,
)
from tests.helpers import wait_until

NAME = "cci-t-vm"  # short: a socket path has at most 107 bytes
STARTED = "2026-12-02 12:26:02.760+0000: starting up"
LOST = [
    "2026-12-02 12:26:02.813+0000: 26987: info : libvirt version: 9.0.0, package: 9.0.0-4+deb12u2",
    "2026-12-02 12:26:02.813+0000: 26987: info : hostname: vm",
    "2026-12-02 12:26:02.813+0000: 26987: error : virNetSocketReadWire:1793 : "
    "End of file while reading data: Input/output error",
    "2026-12-02 12:26:04.954+0000: 26987: warning : virLXCControllerEventSend:2200 : "
    "Dropping event 1 because libvirtd is not connected",
]


def _wait_for(count: int, path: Path) -> int:
    deadline = time.monotonic() + 5
    while (seen := monitor_connections(path)) != count and time.monotonic() < deadline:
        time.sleep(0.02)
    return seen


def test_connections_are_counted_on_the_listeners_path_until_closed(tmp_path):
    path = tmp_path / f"{NAME}.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen()
    try:
        assert monitor_connections(path) == 0  # the listener itself is not one
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(str(path))
        accepted, _ = listener.accept()
        assert _wait_for(1, path) == 1
        client.close()
        assert accepted.recv(1) == b""  # what the controller reads: the end
        accepted.close()
        assert _wait_for(0, path) == 0
        assert monitor_connections(tmp_path / "other.sock") == 0
    finally:
        listener.close()


def test_the_end_read_after_the_last_start_is_dated(tmp_path):
    log = tmp_path / "vm.log"
    log.write_text("\n".join([STARTED, "PATH=/bin /usr/lib/libvirt/libvirt_lxc", *LOST]) + "\n")
    assert eof_after_start(log) == "at 12:26:02.813, 53 ms after its start"


def test_an_end_read_before_the_last_start_is_not_this_boots(tmp_path):
    """A libvirtd killed and started again ends the old connection too; a
    start after that is a new controller with a new connection."""
    log = tmp_path / "vm.log"
    later = "2026-12-02 12:27:00.000+0000: starting up"
    log.write_text("\n".join([STARTED, *LOST, later]) + "\n")
    assert eof_after_start(log) == ""
    assert eof_after_start(tmp_path / "absent.log") == ""


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[bytes]]]:
    """A process that is a libvirt_lxc by its command line, its pid file in a
    runtime dir and its monitor socket listening there."""
    runtime = tmp_path / "run"
    runtime.mkdir()
    process = subprocess.Popen(["libvirt_lxc", "60"], executable="/bin/sleep")
    (runtime / f"{NAME}.pid").write_text(f"{process.pid}\n")
    # until it has exec'd, the child's command line is still this Python's
    assert wait_until(lambda: lxc_monitor.controller_pid(NAME, runtime) == process.pid)
    try:
        yield runtime, process
    finally:
        process.kill()
        process.wait()


def test_a_controller_libvirtd_is_connected_to_has_lost_nothing(controller, tmp_path):
    runtime, _process = controller
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(runtime / f"{NAME}.sock"))
    listener.listen()
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.connect(str(runtime / f"{NAME}.sock"))
        accepted, _ = listener.accept()
        assert monitor_loss(NAME, runtime_dir=runtime, logs=tmp_path, patience=2) == ""
        accepted.close()
    finally:
        client.close()
        listener.close()


def test_a_running_controller_with_no_connection_is_a_loss_said_with_its_log(controller, tmp_path):
    runtime, process = controller
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / f"{NAME}.log").write_text("\n".join([STARTED, *LOST]) + "\n")
    started = time.monotonic()
    loss = monitor_loss(NAME, runtime_dir=runtime, logs=logs, patience=0.3)
    assert time.monotonic() - started >= 0.3  # looked for again first
    assert loss.startswith(f"{MONITOR_LOST} to {NAME} (its controller, pid {process.pid}, ")
    assert "read the end of it at 12:26:02.813, 53 ms after its start" in loss
    assert "cannot complete a reboot" in loss
    (logs / f"{NAME}.log").unlink()
    assert "has no connection from libvirtd" in monitor_loss(
        NAME, runtime_dir=runtime, logs=logs, patience=0
    )


def test_no_controller_running_is_not_taken_for_a_loss(controller, tmp_path):
    """A controller that has exited may be one whose end libvirtd has not
    read yet: libvirt's own answer says more then."""
    runtime, process = controller
    process.kill()
    process.wait()
    assert monitor_loss(NAME, runtime_dir=runtime, logs=tmp_path, patience=0) == ""
    (runtime / f"{NAME}.pid").write_text("not a pid\n")
    assert monitor_loss(NAME, runtime_dir=runtime, logs=tmp_path, patience=0) == ""


def test_another_program_under_the_pid_is_no_controller(tmp_path):
    """Pids are reused: the pid file of a controller long gone may name
    another process."""
    other = subprocess.Popen(["sleep", "60"])
    try:
        (tmp_path / f"{NAME}.pid").write_text(f"{other.pid}\n")
        assert lxc_monitor.controller_pid(NAME, runtime_dir=tmp_path) is None
    finally:
        other.kill()
        other.wait()
