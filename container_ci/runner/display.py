"""What a person watching the run sees: a live table on a terminal, plain
timestamped lines otherwise (CI logs), and a summary table at the end."""

from __future__ import annotations

import sys
import threading
import time
from datetime import datetime
from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.table import Table

from container_ci.results.model import (
    PairResult,
    PairStatus,
    RunResult,
    StepResult,
    StepStatus,
    TargetInfo,
)
from container_ci.runner.listeners import BaseListener

STYLE = {
    "passed": "green",
    "failed": "bold red",
    "error": "bold magenta",
    "skipped": "yellow",
    "unavailable": "bold magenta",
    "running": "cyan",
    "waiting": "dim",
}


class PlainDisplay(BaseListener):
    """One line per event; every line readable on its own in a CI log."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()

    def _say(self, text: str) -> None:
        with self._lock:
            print(f"{time.strftime('%H:%M:%S')} {text}", file=self.stream, flush=True)

    def run_started(
        self, run_id: str, pairs: list[tuple[str, str]], targets: list[TargetInfo]
    ) -> None:
        names = ", ".join(
            f"{t.name} ({t.version})" if t.available else f"{t.name} (UNAVAILABLE)" for t in targets
        )
        self._say(f"run {run_id}: {len(pairs)} scenario x target pair(s) on {names}")

    def pair_started(self, scenario: str, target: str, started_at: datetime) -> None:
        self._say(f"[{target}] {scenario}: started")

    def step_finished(self, scenario: str, target: str, step: StepResult) -> None:
        if step.status == StepStatus.PASSED:
            detail = f" ({step.message})" if step.message else ""
        else:
            detail = f": {step.message}" if step.message else ""
        self._say(
            f"[{target}] {scenario}: step {step.index + 1} {step.name} "
            f"{step.status.upper()} in {step.duration:.2f}s{detail}"
        )

    def pair_finished(self, result: PairResult) -> None:
        reason = f": {result.message}" if result.message else ""
        self._say(
            f"[{result.target}] {result.scenario}: {result.status.upper()} "
            f"in {result.duration:.2f}s{reason}"
        )
        for error in result.cleanup_errors:
            self._say(f"[{result.target}] {result.scenario}: cleanup: {error}")

    def notice(self, message: str) -> None:
        self._say(message)


class LiveDisplay(BaseListener):
    """A table of every pair, refreshed in place, for people at a terminal."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._lock = threading.Lock()
        self._rows: dict[tuple[str, str], dict[str, str | float]] = {}
        self._live: Live | None = None

    def run_started(
        self, run_id: str, pairs: list[tuple[str, str]], targets: list[TargetInfo]
    ) -> None:
        for scenario, target in pairs:
            self._rows[(scenario, target)] = {"status": "waiting", "step": "", "start": 0.0}
        self._live = Live(
            get_renderable=self._table, console=self.console, refresh_per_second=8, transient=True
        )
        self._live.start()

    def pair_started(self, scenario: str, target: str, started_at: datetime) -> None:
        with self._lock:
            self._rows[(scenario, target)].update(status="running", start=time.monotonic())

    def step_finished(self, scenario: str, target: str, step: StepResult) -> None:
        with self._lock:
            self._rows[(scenario, target)]["step"] = f"{step.index + 1}. {step.name}: {step.status}"

    def pair_finished(self, result: PairResult) -> None:
        with self._lock:
            row = self._rows[(result.scenario, result.target)]
            row.update(status=result.status.value, step=result.message[:80])
            row["elapsed"] = result.duration

    def notice(self, message: str) -> None:
        self.console.print(message)

    def run_finished(self, result: RunResult) -> None:
        if self._live is not None:
            self._live.stop()

    def _table(self) -> Table:
        table = Table(title="container-ci run", expand=False)
        for column in ("scenario", "target", "status", "time", "last step"):
            table.add_column(column)
        with self._lock:
            for (scenario, target), row in self._rows.items():
                status = str(row["status"])
                if "elapsed" in row:
                    elapsed = float(row["elapsed"])
                elif status == "running":
                    elapsed = time.monotonic() - float(row["start"])
                else:
                    elapsed = 0.0
                table.add_row(
                    scenario,
                    target,
                    f"[{STYLE.get(status, '')}]{status}[/]",
                    f"{elapsed:.1f}s",
                    str(row["step"]),
                )
        return table


def summary_table(result: RunResult) -> Table:
    table = Table(title=f"container-ci run {result.run_id}")
    for column in ("scenario", "target", "result", "steps", "time"):
        table.add_column(column, no_wrap=True)
    table.add_column("reason", overflow="fold")
    for pair in result.pairs:
        counts = {status: 0 for status in StepStatus}
        for step in pair.steps:
            counts[step.status] += 1
        steps = f"{counts[StepStatus.PASSED]} ok"
        if counts[StepStatus.SKIPPED]:
            steps += f", {counts[StepStatus.SKIPPED]} skip"
        if counts[StepStatus.FAILED] + counts[StepStatus.ERROR]:
            steps += f", {counts[StepStatus.FAILED] + counts[StepStatus.ERROR]} bad"
        status = pair.status.value
        table.add_row(
            pair.scenario,
            pair.target,
            f"[{STYLE.get(status, '')}]{status.upper()}[/]",
            steps,
            f"{pair.duration:.1f}s",
            _shorten(pair.message, 90),
        )
    return table


def _shorten(text: str, width: int) -> str:
    """Full reasons are in the result files; the table keeps rows readable."""
    return text if len(text) <= width else text[: width - 1] + "…"


def summary_line(result: RunResult) -> str:
    parts = [f"{result.count(status)} {status.value}" for status in PairStatus]
    line = f"run {result.run_id}: " + ", ".join(parts)
    if result.interrupted:
        line += f"; interrupted by {result.interrupted}"
    return f"{line}; exit {result.exit_code}"
