"""A `container-ci run` output directory (its summary.json) as a build."""

from __future__ import annotations

from pathlib import Path

from container_ci.results.model import PairStatus, RunResult, StepStatus
from container_ci.results.summary import read_summary
from container_ci.results.writers import SUMMARY_NAME
from container_ci.stability.ingest.model import FAIL, SKIP, SUCCESS, ParsedBuild, ParsedResult

DEFAULT_JOB = "container-ci-local"
STATUS = {
    PairStatus.PASSED: SUCCESS,
    PairStatus.FAILED: FAIL,
    PairStatus.SKIPPED: SKIP,
    PairStatus.ERROR: FAIL,
    PairStatus.UNAVAILABLE: FAIL,
}
INFRASTRUCTURE = (PairStatus.ERROR, PairStatus.UNAVAILABLE)


def build_from_run(run: RunResult, job: str = DEFAULT_JOB) -> ParsedBuild:
    results = []
    for pair in run.pairs:
        failure = None
        if pair.status in (PairStatus.FAILED, PairStatus.ERROR, PairStatus.UNAVAILABLE):
            bad = [
                f"step {s.index + 1} {s.name}: {s.message}"
                for s in pair.steps
                if s.status in (StepStatus.FAILED, StepStatus.ERROR)
            ]
            failure = "\n".join(bad) or pair.message
        elif pair.status == PairStatus.SKIPPED:
            failure = pair.message or None
        results.append(
            ParsedResult(
                test_id=pair.test_id,
                status=STATUS[pair.status],
                duration=pair.duration,
                failure_text=failure,
                infrastructure=pair.status in INFRASTRUCTURE,
            )
        )
    if run.interrupted:
        result = "ABORTED"
    elif run.exit_code == 1:
        result = "FAILURE"
    elif run.exit_code == 3:
        result = "NODE_FAILURE"  # the local "node": a backend unavailable or broken
    else:
        result = "SUCCESS"
    return ParsedBuild(
        uuid=f"container-ci:{run.run_id}",
        job=job,
        source="container-ci",
        result=result,
        pipeline="local",
        start_time=run.started_at,
        end_time=run.finished_at,
        duration=(run.finished_at - run.started_at).total_seconds(),
        results=results,
    )


def read_output_dir(path: Path, job: str = DEFAULT_JOB) -> ParsedBuild:
    return build_from_run(read_summary(path / SUMMARY_NAME), job)
