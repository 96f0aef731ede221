"""Captures an LXC domain's PTY console into a log file, across reboots.

libvirt's LXC driver only offers PTY consoles (no log file). The stream is
non-blocking and read from libvirt's event loop: a blocking `recv` in a
thread would hold the connection's RPC and stall every other call on it
until the next keepalive. The stream ends whenever init exits (reboot,
stop), so a small supervisor re-attaches as soon as the domain runs again;
the PTY buffers what the guest printed in between. Besides the stream's
events, the supervisor drains the (non-blocking) stream twice a second: a
console once stayed silent for 60 s with the reader attached, which a
missed readable event explains and a drain survives.

A capture that can no longer attach (its supervisor blocked in a libvirt
call past ATTACH_PATIENCE, or its connection closed) says so in
`stuck()`; the target then gives it up and starts another (bench/chaos in
CI, once: a rebuilt guest's console never attached again in 118 s, with
no attach error)."""

from __future__ import annotations

import contextlib
import threading
import time
from io import FileIO
from pathlib import Path

import libvirt

from container_ci import abandoned
from container_ci.targets.base import StateWaiter
from container_ci.thread_stacks import innermost_calls

_EVENTS = (
    libvirt.VIR_STREAM_EVENT_READABLE
    | libvirt.VIR_STREAM_EVENT_ERROR
    | libvirt.VIR_STREAM_EVENT_HANGUP
)


class ConsoleCapture:
    # Seconds one attach (a lookup, a state and an openConsole: calls libvirtd
    # answers in milliseconds) may take before the capture counts as stuck.
    ATTACH_PATIENCE = 10.0

    def __init__(
        self,
        conn: libvirt.virConnect,
        domain_name: str,
        log_path: Path,
        waiter: StateWaiter | None = None,
    ) -> None:
        self._conn = conn
        self._waiter = waiter
        self._name = domain_name
        self.log_path = log_path
        self._stop = threading.Event()
        self._detached = threading.Event()
        self._lock = threading.Lock()
        self._read_lock = threading.Lock()  # event loop and supervisor both drain
        self._stream: libvirt.virStream | None = None
        self.bytes_read = 0
        self._log: FileIO | None = None
        self.attaches = 0  # for diagnostics when a console stays silent
        self.last_error = ""
        self.replaces = ""  # why the capture before this one was given up
        self._attach_started: float | None = None
        self._thread = threading.Thread(
            target=self._supervise, name=f"cci-console-{domain_name}", daemon=True
        )

    def start(self) -> None:
        self._log = open(self.log_path, "ab", buffering=0)  # noqa: SIM115 - closed in stop()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._detached.set()
        if self._waiter is not None:
            self._waiter.notify()
        self._thread.join(timeout=5)
        self._detach()
        if self._log is not None:
            self._log.close()

    def read(self) -> str:
        try:
            return self.log_path.read_bytes().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def _supervise(self) -> None:
        """Attach whenever the domain runs, for as long as the capture is
        wanted: an exception libvirt's binding raises besides libvirtError
        is kept for the diagnostics and the loop goes on (a supervisor that
        had ended would leave the console unread for good, silently)."""
        while not self._stop.is_set():
            try:
                self._supervise_once()
            except Exception as exc:  # noqa: BLE001 - kept and shown, see above
                self.last_error = f"{type(exc).__name__}: {exc}"
                self._stop.wait(0.5)

    def _supervise_once(self) -> None:
        """While the domain does not run, wait for the target's lifecycle
        events instead of polling libvirtd: every thread shares its one
        connection."""
        if self._stream is None and not self._attach():
            if self._waiter is not None:
                self._waiter.wait_for_event(0.5)
            else:
                self._stop.wait(0.05)
            return
        self._detached.wait(0.5)
        self._detached.clear()
        with self._lock:
            stream = self._stream
        if stream is not None and not self._stop.is_set():
            self._drain(stream)

    def _attach(self) -> bool:
        self._attach_started = time.monotonic()
        try:
            domain = self._conn.lookupByName(self._name)
            if not domain.isActive():
                return False
            stream = self._conn.newStream(libvirt.VIR_STREAM_NONBLOCK)
            domain.openConsole(None, stream, 0)
            if self._stop.is_set():  # stopped or given up on meanwhile
                self._abort_in_thread(stream)
                return False
            with self._lock:
                self._stream = stream
            stream.eventAddCallback(_EVENTS, self._on_stream_event, None)
        except libvirt.libvirtError as exc:
            self.last_error = str(exc)
            self._detach()
            return False
        finally:
            self._attach_started = None
        self.attaches += 1
        return True

    def stuck(self) -> str:
        """Why this capture will read nothing more although it is wanted,
        or "": its supervisor ended, or one attach has taken longer than
        ATTACH_PATIENCE (a call libvirtd does not answer)."""
        if self._stop.is_set() or not self._thread.ident:
            return ""
        if not self._thread.is_alive():
            return f"its supervisor ended (last error: {self.last_error or 'none'})"
        if not connection_open(self._conn):
            return "its connection to libvirtd closed"
        started = self._attach_started
        if started is not None and time.monotonic() - started > self.ATTACH_PATIENCE:
            return (
                f"an attach took over {self.ATTACH_PATIENCE:g}s, in "
                f"{innermost_calls(self._thread) or 'unknown'}"
            )
        return ""

    def abandon(self) -> None:
        """Give up on a stuck capture without waiting for it: it writes no
        more, and its thread is counted for the process's exit."""
        self._stop.set()
        self._detached.set()
        abandoned.track(self._thread)
        self._detach()
        if self._log is not None:
            self._log.close()

    def diagnostics(self) -> str:
        """How the reader stands, and when it is not attached, where its
        supervisor is: bench/chaos met a console of a rebuilt guest never
        attached again in 118 s, with no attach error, and could not tell
        whether the supervisor was waiting, blocked in a libvirt call or
        gone."""
        attached = "attached" if self._stream is not None else "not attached"
        error = f"; last attach error: {self.last_error}" if self.last_error else ""
        where = ""
        if self._stream is None:
            where = f"; supervisor {innermost_calls(self._thread) or 'ended'}"
        replaced = f"; replaced a reader given up on: {self.replaces}" if self.replaces else ""
        return (
            f"console reader {attached}, {self.attaches} attach(es), "
            f"{self.bytes_read} byte(s) read{error}{where}{replaced}"
        )

    def _on_stream_event(self, stream: libvirt.virStream, events: int, _opaque: object) -> None:
        """Runs in libvirt's event loop thread: drain what is readable, never block."""
        if self._drain(stream) and events & (
            libvirt.VIR_STREAM_EVENT_ERROR | libvirt.VIR_STREAM_EVENT_HANGUP
        ):
            self._detach()

    def _drain(self, stream: libvirt.virStream) -> bool:
        """Read until EAGAIN; False (and detached) at EOF or on an error."""
        with self._read_lock:
            try:
                while True:
                    data = stream.recv(65536)
                    if data == -2:  # EAGAIN: nothing more for now
                        return True
                    if not isinstance(data, bytes) or not data:
                        break  # EOF: init exited (reboot or stop)
                    self.bytes_read += len(data)
                    if self._log is not None and not self._log.closed:
                        self._log.write(data.replace(b"\r", b""))
            except (libvirt.libvirtError, ValueError):
                pass
        self._detach()
        return False

    def _detach(self) -> None:
        """Drop the stream; its abort, a call to libvirtd, in a thread of
        its own. libvirtd may never answer it: a stream it closed itself at
        the PTY's hangup (the domain killed, its init gone) takes no more
        messages, and the abort then waits for ever. Made inline, that had
        blocked a delete step past its 65 s (bench/chaos, twice: libvirtd
        logged "stream is not open" as it began), or the event loop every
        console and lifecycle event is read in."""
        with self._lock:
            stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(libvirt.libvirtError):
                stream.eventRemoveCallback()  # local: no call to libvirtd
            self._abort_in_thread(stream)
        self._detached.set()

    def _abort_in_thread(self, stream: libvirt.virStream) -> None:
        """Abort `stream` in a thread of its own, counted for the process's
        exit (see _detach: libvirtd may never answer)."""
        closer = threading.Thread(
            target=_abort, args=(stream,), name=f"cci-console-close-{self._name}", daemon=True
        )
        closer.start()
        abandoned.track(closer)


def connection_open(conn: libvirt.virConnect) -> bool:
    """Asked of the client library, not of libvirtd: no call that may wait."""
    try:
        return bool(conn.isAlive() == 1)
    except libvirt.libvirtError:
        return False


def _abort(stream: libvirt.virStream) -> None:
    with contextlib.suppress(libvirt.libvirtError):
        stream.abort()
