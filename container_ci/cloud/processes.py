"""Processes the local cloud and the local Zuul start: pid files that also
record the process's start time, so a recycled pid is never mistaken for ours
and never signalled; waiting until one answers, and what its log says when it
does not; one `up`/`down` of a state dir at a time."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path


def _start_time(pid: int) -> str | None:
    """Field 22 of /proc/<pid>/stat (clock ticks since boot); None if gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    if fields[0] == "Z":
        return None
    return fields[19]


def read_pid(pidfile: Path) -> int | None:
    """The pid in `pidfile` if that very process still runs."""
    try:
        pid_text, started = pidfile.read_text().split()
        pid = int(pid_text)
    except (OSError, ValueError):
        return None
    return pid if _start_time(pid) == started else None


def write_pid(pidfile: Path, pid: int) -> None:
    started = _start_time(pid)
    pidfile.write_text(f"{pid} {started}\n")


def spawn(
    argv: Sequence[str],
    pidfile: Path,
    logfile: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    umask: int | None = None,
) -> int:
    """Start `argv` in its own session (our Ctrl-C does not reach it), output
    appended to `logfile`, and record it in `pidfile`. It inherits our umask
    (owner-only under `cloud up` and `zuul up`), or gets `umask`."""
    logfile.parent.mkdir(parents=True, exist_ok=True)
    with open(logfile, "ab") as log:
        log.write(
            f"\n--- started by container-ci cloud at {time.ctime()}: {' '.join(argv)}\n".encode()
        )
        log.flush()
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            start_new_session=True,
            umask=-1 if umask is None else umask,
        )
    write_pid(pidfile, process.pid)
    return process.pid


def exited(pid: int) -> bool:
    # Reap it if it is our child (a zombie would look alive to kill(0)).
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    return _start_time(pid) is None


def stop(pidfile: Path, timeout: float) -> int | None:
    """Stop the process `pidfile` records (see `stop_pid`). Returns the pid
    stopped, or None when none of ours ran."""
    pid = read_pid(pidfile)
    if pid is not None:
        stop_pid(pid, timeout)
    pidfile.unlink(missing_ok=True)
    return pid


def stop_pid(pid: int, timeout: float) -> None:
    """SIGTERM, wait up to `timeout` for it to exit, then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if exited(pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    while not exited(pid):
        time.sleep(0.05)


def wait_until_answers(pid: int, answers: Callable[[], bool], timeout: float) -> bool:
    """True once `answers()` does; False if the process exits or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if exited(pid):
            return False
        if answers():
            return True
        time.sleep(0.25)
    return False


# What marks the line of a log that says why a process did not start.
ERROR_MARKERS = ("ERROR", "Error", "error:", "CRITICAL", "Traceback")


def last_error(log: Path, markers: Sequence[str] = ERROR_MARKERS) -> str:
    """The last line of `log` with one of `markers`, else its last line."""
    if not log.exists():
        return "no log"
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    for line in reversed(lines):
        if any(word in line for word in markers):
            return line[:300]
    return lines[-1][:300] if lines else "no output"


def tail(path: Path, lines: int) -> list[str]:
    if not path.exists():
        return []
    return path.read_text(errors="replace").splitlines()[-lines:]


@contextlib.contextmanager
def one_at_a_time(lock: Path, say: Callable[[str], None], waiting: str) -> Iterator[None]:
    """Hold `lock` (a file, made with its directory) for the block; `waiting`
    is said when another holder makes this one wait."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(waiting)
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield
