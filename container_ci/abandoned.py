"""Threads left blocked in a backend library's call: a step past its
deadline (runner/timeouts.py), a console stream whose close libvirtd never
answered (targets/lxc_console.py). Nothing can interrupt such a call, and
it may hold a lock the library's finalizers take at the interpreter's exit:
`container-ci` then leaves with os._exit once its work is written (see
cli.console_script). A module of its own so both layers can report here."""

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
