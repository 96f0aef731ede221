"""Replacing a file all at once: a reader (or a crash) sees the old file or
the new one, never half of either."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_text_atomically(path: Path, text: str, mode: int | None = None) -> None:
    """Write `text` to a scratch file beside `path`, then rename it over it.
    The file keeps the permissions `path` had (a new one is 0600, as the
    scratch file is made); with `mode`, it has exactly `mode` from before
    its first byte is written: a file holding a secret (clouds.yaml) is
    never readable by others, not even for a moment."""
    descriptor, scratch = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        if mode is not None:
            os.fchmod(descriptor, mode)
        elif path.exists():
            os.fchmod(descriptor, path.stat().st_mode & 0o777)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(scratch, path)
    finally:
        if os.path.exists(scratch):
            os.unlink(scratch)
