"""`container-ci run` end to end: load and check input, run, write results.

All input is loaded and checked before anything is created, so bad input
exits 2 with `file:line: message` and leaves nothing behind."""

from __future__ import annotations

import functools
import signal
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import FrameType

from rich.console import Console

from container_ci.errors import BadInput, InfrastructureError
from container_ci.results.model import PairResult, RunResult
from container_ci.results.subunit import SubunitRecorder
from container_ci.results.writers import SUBUNIT_NAME, write_reports
from container_ci.runner.display import LiveDisplay, PlainDisplay, summary_line, summary_table
from container_ci.runner.engine import Runner
from container_ci.runner.listeners import BaseListener, FanOut
from container_ci.scenarios.loader import load_capabilities, load_scenarios
from container_ci.targets.cloud import CloudOptions, cloud_region
from container_ci.targets.registry import CLOUD_TARGETS, target_factory


class SubunitListener(BaseListener):
    """Streams each pair into results.subunit as it finishes."""

    def __init__(self, recorder: SubunitRecorder) -> None:
        self.recorder = recorder

    def pair_started(self, scenario: str, target: str, started_at: datetime) -> None:
        self.recorder.pair_started(scenario, target, started_at)

    def pair_finished(self, result: PairResult) -> None:
        self.recorder.pair_finished(result)


def run_session(
    targets: Sequence[str],
    scenario_files: Sequence[Path],
    capabilities: Path,
    concurrency: int,
    output: Path,
    run_id: str,
    plain: bool = False,
    record: bool = True,
    db_url: str | None = None,
    job: str = "container-ci-local",
    cloud: CloudOptions | None = None,
) -> int:
    """Run, write the results to `output`, and (`record`) store the run in
    the stability store at `db_url` (None: the default store)."""
    if not scenario_files:
        raise BadInput("no scenario files to run")
    scenarios = load_scenarios(scenario_files)
    matrix = load_capabilities(capabilities)
    for name in targets:
        target_factory(name)  # unknown target names are bad input, before anything runs
    if any(name in CLOUD_TARGETS for name in targets):
        cloud_region((cloud or CloudOptions()).cloud)  # an unknown cloud too
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"{output}: cannot create the output directory: {exc}") from exc

    console = Console()
    if not console.is_terminal:
        console = Console(width=160)  # CI logs: do not fold tables to 80 columns
    live = console.is_terminal and not plain
    display = LiveDisplay(console) if live else PlainDisplay()
    recorder = SubunitRecorder(output / SUBUNIT_NAME)
    try:
        runner = Runner(
            scenarios,
            targets,
            matrix,
            functools.partial(target_factory, cloud=cloud),
            run_id,
            concurrency=concurrency,
            listener=FanOut(display, SubunitListener(recorder)),
        )
        result = _run_with_signals(runner)
    finally:
        unwritten = _close(recorder)
    written: dict[str, Path] = {}
    try:
        written = write_reports(result, output)
    except OSError as exc:  # each file is replaced whole: none is left half-written
        unwritten.append(f"{output}: {exc.strerror or exc}")
    console.print(summary_table(result))
    console.print(summary_line(result), markup=False, highlight=False)
    if unwritten:
        # A full or broken disk: the machine's fault. The run cleaned up; a
        # torn stream is refused by the stability ingest, never half-stored.
        raise InfrastructureError(f"results not written: {'; '.join(unwritten)}")
    console.print(
        f"results: {output / SUBUNIT_NAME}, {written['junit']}, {written['summary']}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    if record:
        _record(result, db_url, job, console)
    return result.exit_code


def _close(recorder: SubunitRecorder) -> list[str]:
    """Close the stream; what could not be written (a full disk), if anything."""
    try:
        recorder.close()
    except OSError as exc:
        return [f"{recorder.path}: {exc.strerror or exc}"]
    return []


def _record(result: RunResult, db: str | None, job: str, console: Console) -> None:
    """Into the stability store, so local runs build a history. A store that
    cannot be written is reported, and does not change the run's exit code."""
    from container_ci.stability.ingest.runner_reader import build_from_run
    from container_ci.stability.ingest.writer import record_build
    from container_ci.stability.store import Store

    try:
        with Store(db) as store:
            record_build(store, build_from_run(result, job))
    except Exception as exc:  # noqa: BLE001 - the run's own results are already written
        console.print(f"stability store: not recorded: {exc}", markup=False, highlight=False)
        return
    console.print(
        f"stability store: recorded as job {job} ({store.safe_url})",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def _run_with_signals(runner: Runner) -> RunResult:
    """SIGINT and SIGTERM cancel the run; cleanup still happens before we return."""

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        runner.cancel(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return runner.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sys.stdout.flush()
