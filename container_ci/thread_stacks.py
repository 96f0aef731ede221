"""Where a thread is now, for messages about calls that did not return: a
step past its deadline (runner/timeouts.py), a console reader that stopped
attaching (targets/lxc_console.py). Read from CPython's frames of running
threads; nothing is interrupted."""

from __future__ import annotations

import sys
import threading
import traceback
from pathlib import Path
from types import FrameType


def frame_of(thread: threading.Thread) -> FrameType | None:
    """The frame `thread` runs now (None once it has ended)."""
    return sys._current_frames().get(thread.ident or -1)


def stack_of(thread: threading.Thread) -> str:
    """Where `thread` is now, innermost call last, as a traceback shows it."""
    frame = frame_of(thread)
    return "".join(traceback.format_stack(frame)) if frame is not None else ""


def innermost_calls(thread: threading.Thread, depth: int = 3) -> str:
    """`file:line function` of the innermost `depth` calls, innermost first,
    on one line ("" once the thread has ended). threading's own waits are
    left out: they say nothing of what waits."""
    frame = frame_of(thread)
    stack = traceback.extract_stack(frame) if frame is not None else []
    frames = [entry for entry in stack if Path(entry.filename).name != "threading.py"]
    return " <- ".join(
        f"{Path(entry.filename).name}:{entry.lineno} {entry.name}"
        for entry in reversed(frames[-depth:])
    )
