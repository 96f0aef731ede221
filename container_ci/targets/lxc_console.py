"""Captures an LXC domain's PTY console into a log file, across reboots.

libvirt's LXC driver only offers PTY consoles (no log file). The stream is
non-blocking and read from libvirt's event loop: a blocking `recv` in a
thread would hold the connection's RPC and stall every other call on it
until the next keepalive. The stream ends whenever init exits (reboot,
stop), so a small supervisor re-attaches as soon as the domain runs again;
the PTY buffers what the guest printed in between. Besides the stream's
events, the supervisor drains the (non-blocking) stream twice a second: a
console once stayed silent for 60 s with the reader attached, which a
missed readable event explains and a drain survives."""

from __future__ import annotations

import contextlib
import threading
from io import FileIO
from pathlib import Path

import libvirt

from container_ci import abandoned
from container_ci.targets.base import StateWaiter

_EVENTS = (
    libvirt.VIR_STREAM_EVENT_READABLE
    | libvirt.VIR_STREAM_EVENT_ERROR
    | libvirt.VIR_STREAM_EVENT_HANGUP
)


class ConsoleCapture:
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
        """Attach whenever the domain runs. While it does not, wait for the
        target's lifecycle events instead of polling libvirtd: libvirtd serves
        only 5 concurrent requests per client, and every thread shares it."""
        while not self._stop.is_set():
            if self._stream is None and not self._attach():
                if self._waiter is not None:
                    self._waiter.wait_for_event(0.5)
                else:
                    self._stop.wait(0.05)
                continue
            self._detached.wait(0.5)
            self._detached.clear()
            with self._lock:
                stream = self._stream
            if stream is not None and not self._stop.is_set():
                self._drain(stream)

    def _attach(self) -> bool:
        try:
            domain = self._conn.lookupByName(self._name)
            if not domain.isActive():
                return False
            stream = self._conn.newStream(libvirt.VIR_STREAM_NONBLOCK)
            domain.openConsole(None, stream, 0)
            with self._lock:
                self._stream = stream
            stream.eventAddCallback(_EVENTS, self._on_stream_event, None)
        except libvirt.libvirtError as exc:
            self.last_error = str(exc)
            self._detach()
            return False
        self.attaches += 1
        return True

    def diagnostics(self) -> str:
        attached = "attached" if self._stream is not None else "not attached"
        error = f"; last attach error: {self.last_error}" if self.last_error else ""
        return (
            f"console reader {attached}, {self.attaches} attach(es), "
            f"{self.bytes_read} byte(s) read{error}"
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
            closer = threading.Thread(
                target=_abort, args=(stream,), name=f"cci-console-close-{self._name}", daemon=True
            )
            closer.start()
            abandoned.track(closer)
        self._detached.set()


def _abort(stream: libvirt.virStream) -> None:
    with contextlib.suppress(libvirt.libvirtError):
        stream.abort()
