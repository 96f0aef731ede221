"""A console reader that can no longer attach says so, and can be given up
without waiting on it; its supervisor outlives an unexpected error."""

from __future__ import annotations

import threading
import time

import libvirt
import pytest

from container_ci import abandoned
from container_ci.targets.lxc_console import ConsoleCapture
from tests.helpers import wait_until


class Stream:
    def __init__(self) -> None:
        self.aborted = threading.Event()

    def abort(self) -> None:
        self.aborted.set()

    def eventAddCallback(self, *_args: object) -> None:  # noqa: N802 - libvirt's names
        raise AssertionError("a capture given up on must not read")

    def eventRemoveCallback(self) -> None:  # noqa: N802
        pass


class Domain:
    def __init__(self, active: bool) -> None:
        self.active = active
        self.opened: list[Stream] = []

    def isActive(self) -> bool:  # noqa: N802
        return self.active

    def openConsole(self, _dev: object, stream: Stream, _flags: int) -> None:  # noqa: N802
        self.opened.append(stream)


class OpenConnection:
    """What the client library says of a connection (no call to libvirtd)."""

    open = True

    def isAlive(self) -> int:  # noqa: N802
        return 1 if self.open else 0


class UnansweredConnection(OpenConnection):
    """Its first lookup is answered only when the test says so, as a call
    libvirtd does not answer; the domain runs."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.domain = Domain(active=True)
        self.streams: list[Stream] = []

    def lookupByName(self, _name: str) -> Domain:  # noqa: N802
        self.release.wait(30)
        return self.domain

    def newStream(self, _flags: int) -> Stream:  # noqa: N802
        self.streams.append(Stream())
        return self.streams[-1]


def test_an_attach_libvirtd_does_not_answer_is_stuck_and_can_be_given_up(tmp_path):
    conn = UnansweredConnection()
    capture = ConsoleCapture(conn, "cci-t-x-vm", tmp_path / "console.log")  # type: ignore[arg-type]
    capture.ATTACH_PATIENCE = 0.2
    before = abandoned.still_running()
    capture.start()
    try:
        assert capture.stuck() == ""
        assert wait_until(lambda: capture.stuck() != "")
        assert "an attach took over 0.2s, in" in capture.stuck()
        assert "lookupByName" in capture.stuck(), "says which call"
        assert "supervisor test_lxc_console_stuck.py" in capture.diagnostics()
        started = time.monotonic()
        capture.abandon()
        assert time.monotonic() - started < 1.0, "never waits on the stuck call"
        assert abandoned.still_running() == before + 1, "counted for the process's exit"
        assert capture.stuck() == "", "given up: nothing more is expected of it"
    finally:
        conn.release.set()
    # The call returns at last: the console it opened is closed, never read.
    assert wait_until(lambda: bool(conn.streams) and conn.streams[0].aborted.is_set())
    assert wait_until(lambda: abandoned.still_running() == before)


class FlakyConnection(OpenConnection):
    """Raises what a libvirt binding should not (not a libvirtError) once,
    then finds the domain shut off."""

    def __init__(self) -> None:
        self.lookups = 0

    def lookupByName(self, _name: str) -> Domain:  # noqa: N802
        self.lookups += 1
        if self.lookups == 1:
            raise RuntimeError("unexpected")
        return Domain(active=False)


def test_the_supervisor_outlives_an_unexpected_error(tmp_path):
    conn = FlakyConnection()
    capture = ConsoleCapture(conn, "cci-t-x-vm", tmp_path / "console.log")  # type: ignore[arg-type]
    capture.start()
    try:
        assert wait_until(lambda: conn.lookups >= 3), "it went on trying"
        assert capture.last_error == "RuntimeError: unexpected"
        assert capture.stuck() == ""
    finally:
        capture.stop()


@pytest.mark.parametrize(
    ("is_open", "error", "stuck"),
    [
        (True, "Domain not found", ""),
        # Attaches on a closed connection fail at once, for ever: no attach
        # takes long, so only the connection's state tells that this reader
        # will read nothing more (the target starts another, on a connection
        # opened again).
        (False, "internal error: client socket is closed", "its connection to libvirtd closed"),
    ],
)
def test_a_libvirt_error_is_an_attach_error_and_only_a_closed_connection_is_stuck(
    tmp_path, is_open: bool, error: str, stuck: str
):
    class Refusing(OpenConnection):
        open = is_open

        def lookupByName(self, _name: str) -> Domain:  # noqa: N802
            raise libvirt.libvirtError(error)

    capture = ConsoleCapture(Refusing(), "cci-t-x-vm", tmp_path / "console.log")  # type: ignore[arg-type]
    capture.start()
    try:
        assert wait_until(lambda: capture.last_error != "")
        assert f"last attach error: {error}" in capture.diagnostics()
        assert capture.stuck() == stuck
    finally:
        capture.stop()
