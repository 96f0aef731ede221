"""Running one blocking backend call with a deadline and a cancel switch.

Backend calls (docker SDK, libvirt) cannot be interrupted, so each runs in a
daemon thread; when the deadline passes or the run is cancelled the caller
moves on (to cleanup) and the thread is left to finish on its own. The
abandoned threads are tracked so the runner can wait for them, boundedly,
before its final sweep."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from container_ci import abandoned
from container_ci.errors import ContainerCIError, StepTimeout
from container_ci.thread_stacks import innermost_calls, stack_of

T = TypeVar("T")


class Cancelled(ContainerCIError):
    """The run was interrupted (SIGINT/SIGTERM) while this call was running."""


class AbandonedThreads:
    """The calls one run abandoned (each also tracked process-wide, for the
    process's exit: see container_ci.abandoned)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def add(self, thread: threading.Thread) -> None:
        with self._lock:
            self._threads.append(thread)
        abandoned.track(thread)

    def where(self) -> list[str]:
        """Each call still running: its thread's name and its innermost
        frames, one line each (for the run's notice)."""
        with self._lock:
            threads = [thread for thread in self._threads if thread.is_alive()]
        lines = []
        for thread in threads:
            calls = innermost_calls(thread)
            lines.append(f"{thread.name.removeprefix('cci-step-')}: in {calls or 'unknown'}")
        return lines

    def join(self, timeout: float) -> int:
        """Wait up to `timeout` in total; return how many are still running."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return sum(1 for thread in threads if thread.is_alive())


def call_with_deadline(
    func: Callable[[], T],
    timeout: float,
    cancel: threading.Event,
    abandoned: AbandonedThreads,
    what: str,
) -> T:
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = func()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name=f"cci-step-{what}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while thread.is_alive():
        if cancel.is_set():
            abandoned.add(thread)
            raise Cancelled(f"{what}: interrupted")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            abandoned.add(thread)
            raise StepTimeout(
                f"{what} did not finish within {timeout:g}s", blocked_in=stack_of(thread)
            )
        thread.join(min(remaining, 0.1))
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome.get("value")  # type: ignore[return-value]
