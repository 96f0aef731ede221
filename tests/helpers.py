"""Running `container-ci` in tests, as a user runs it, and waiting on what it does."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import chdir, redirect_stderr, redirect_stdout
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def cli_argv(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "container_ci.cli", *map(str, args)]


def run_cli(
    *args: str | Path,
    cwd: Path = REPO,
    env: dict[str, str | None] | None = None,
    timeout: float = 600,
    in_process: bool = False,
) -> subprocess.CompletedProcess[str]:
    """`container-ci ARGS` from `cwd`, its exit code and output captured.

    By default a process of its own, exactly as a user starts it (the
    interpreter, the entry module, signals, exit codes), with this process's
    environment changed by `env` (None unsets a variable). `in_process`
    calls the same `main()` in this process instead: faster, and it sees a
    test's monkeypatches."""
    if not in_process:
        return subprocess.run(
            cli_argv(*args),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=_environment(env),
            check=False,
        )
    if env:
        raise ValueError("in_process: set the environment with monkeypatch.setenv")
    from container_ci import cli

    out, err = io.StringIO(), io.StringIO()
    with chdir(cwd), redirect_stdout(out), redirect_stderr(err):
        try:
            code = cli.main([str(arg) for arg in args])
        except SystemExit as exit_:  # argparse: --help, a bad option
            code = exit_.code if isinstance(exit_.code, int) else 2
    return subprocess.CompletedProcess(list(map(str, args)), code, out.getvalue(), err.getvalue())


def start_cli(*args: str | Path, output: Path, cwd: Path = REPO) -> subprocess.Popen[str]:
    """`container-ci ARGS` in the background, its output in `output`: for
    tests that signal it or stop its daemon while it runs."""
    handle = open(output, "w")  # noqa: SIM115 - owned by the process
    return subprocess.Popen(
        cli_argv(*args),
        cwd=cwd,
        stdout=handle,
        stderr=subprocess.STDOUT,
        text=True,
        env=_environment(None),
    )


def _environment(changes: dict[str, str | None] | None) -> dict[str, str]:
    merged: dict[str, str | None] = {**os.environ, "PYTHONUNBUFFERED": "1", **(changes or {})}
    return {key: value for key, value in merged.items() if value is not None}


def ingest_concurrently(
    db_url: str, files: list[Path], rotations: tuple[int, ...], logs: Path, timeout: float
) -> None:
    """`stability ingest` of the same files from several processes at once,
    each starting at another file (a rotation of the list); each must succeed."""
    processes = [
        start_cli(
            "stability", "--db", db_url, "ingest", "--job", "nova-lxc",
            *files[shift:], *files[:shift],
            output=logs / f"ingest-{shift}.log",
        )
        for shift in rotations
    ]  # fmt: skip
    for shift, process in zip(rotations, processes, strict=True):
        process.wait(timeout=timeout)
        assert process.returncode == 0, (logs / f"ingest-{shift}.log").read_text()


def table_counts(db_url: str) -> dict[str, int]:
    """Rows in each table of the stability store at `db_url`."""
    from sqlalchemy import func, select

    from container_ci.stability.store import Store
    from container_ci.stability.tables import Build, FailureSignature, Job, Test, TestResult

    with Store(db_url) as store, store.session() as session:
        return {
            table.__tablename__: session.scalar(select(func.count()).select_from(table)) or 0
            for table in (Job, Build, Test, TestResult, FailureSignature)
        }


def wait_until(condition: Callable[[], object], seconds: float = 5.0) -> bool:
    """Whether `condition()` came true within `seconds` (asked every 10 ms)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False
