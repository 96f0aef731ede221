"""Test ids as stestr (and so `tempest run`) sees them, listed for real:
the exclude lists and regexes that Tempest jobs use are checked against
these, never against names typed by hand."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from container_ci.errors import BadInput


def list_tests(test_path: Path, top_dir: Path, regex: str, what: str) -> tuple[str, ...]:
    """`stestr list REGEX` of the tests under test_path: full ids, attributes
    included. `what` names them in the error when stestr cannot."""
    with tempfile.TemporaryDirectory(prefix="cci-stestr-") as scratch:
        # A scratch stestr project: `stestr list` wants a repository.
        Path(scratch, ".stestr.conf").write_text(
            f"[DEFAULT]\ntest_path={test_path}\ntop_dir={top_dir}\n"
        )
        for command in (["init"], ["list", regex]):
            done = subprocess.run(
                [sys.executable, "-m", "stestr", *command],
                cwd=scratch,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise BadInput(f"stestr could not list {what}: {done.stderr.strip()[-400:]}")
    return tuple(line for line in done.stdout.split() if line and not line.startswith(" "))
