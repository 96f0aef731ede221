"""Threads left blocked in a backend library's call: a step past its
deadline (runner/timeouts.py), a console stream whose close libvirtd never
answered (targets/lxc_console.py). Nothing can interrupt such a call, and
it may hold a lock the library's finalizers take at the interpreter's exit:
`container-ci` then leaves with os._exit once its work is written (see
cli.console_script). A module of its own so both layers can report here.

A wait in an abandoned thread (for a state, for console text) ends at its
next check: nobody reads its result, and the run waits for abandoned calls
before its final sweep (bench/chaos: a SIGINT during a reboot step's wait
for the new boot's console made the run wait 30 s more, the wait's own
deadline, for a guest its cleanup had deleted)."""

from __future__ import annotations

import threading

_lock = threading.Lock()
_threads: list[threading.Thread] = []


def track(thread: threading.Thread) -> None:
    """Count `thread` while it runs (it may return on its own later)."""
    with _lock:
        _threads[:] = [known for known in _threads if known.is_alive()]
        _threads.append(thread)


def still_running() -> int:
    """How many tracked calls of this process have not returned yet."""
    with _lock:
        return sum(1 for thread in _threads if thread.is_alive())


def current_is_abandoned() -> bool:
    """Whether the calling thread was given up on (its result unread)."""
    current = threading.current_thread()
    with _lock:
        return any(thread is current for thread in _threads)
