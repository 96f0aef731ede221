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
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

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


# a helper thread -> the thread it works for (a fleet's members, one each)
_working_for: dict[threading.Thread, threading.Thread] = {}


def current_is_abandoned() -> bool:
    """Whether the calling thread, or the one it works for, was given up
    on (its result unread)."""
    current: threading.Thread | None = threading.current_thread()
    with _lock:
        while current is not None:
            if any(thread is current for thread in _threads):
                return True
            current = _working_for.get(current)
    return False


def work_for(parent: threading.Thread, action: Callable[[T], R]) -> Callable[[T], R]:
    """`action`, to run in a helper thread on behalf of `parent`: a wait in
    it ends when `parent` is given up on (bench/chaos: a fleet's boot step
    abandoned at a SIGTERM left its members' state waits running 30 s)."""

    def on_behalf(argument: T) -> R:
        helper = threading.current_thread()
        with _lock:
            _working_for[helper] = parent
        try:
            return action(argument)
        finally:
            with _lock:
                _working_for.pop(helper, None)

    return on_behalf
