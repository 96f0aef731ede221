"""ConsoleCapture never waits on libvirtd to close a console stream."""

from __future__ import annotations

import threading
import time

from container_ci import abandoned
from container_ci.targets.lxc_console import ConsoleCapture


class UnansweredStream:
    """A stream libvirtd closed at the PTY's hangup: its abort is never
    answered (bench/chaos: a delete blocked past its 65 s in it)."""

    def __init__(self) -> None:
        self.released = threading.Event()
        self.aborting = threading.Event()

    def eventRemoveCallback(self) -> None:  # noqa: N802 - libvirt's name
        pass

    def abort(self) -> None:
        self.aborting.set()
        self.released.wait(30)


def test_closing_a_stream_libvirtd_does_not_answer_blocks_nothing(tmp_path):
    capture = ConsoleCapture(conn=None, domain_name="cci-t-x-vm", log_path=tmp_path / "console.log")  # type: ignore[arg-type]
    stream = UnansweredStream()
    capture._stream = stream  # type: ignore[assignment]
    before = abandoned.still_running()
    started = time.monotonic()
    try:
        capture._detach()
        assert time.monotonic() - started < 1.0
        assert stream.aborting.wait(5), "the abort was made, in a thread of its own"
        assert abandoned.still_running() == before + 1, "counted for the process's exit"
    finally:
        stream.released.set()
    deadline = time.monotonic() + 5
    while abandoned.still_running() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert abandoned.still_running() == before
