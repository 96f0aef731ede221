"""summary.json: the run as plain JSON, for scripts and the stability store.

`read_summary` is the inverse of `write_summary` (console logs are not kept:
they live in the subunit stream and the JUnit system-out)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from container_ci.atomic import write_text_atomically
from container_ci.errors import BadInput
from container_ci.results.model import (
    PairResult,
    PairStatus,
    RunResult,
    StepResult,
    StepStatus,
    TargetInfo,
)

FORMAT = "container-ci-summary/1"


def to_dict(run: RunResult) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "run_id": run.run_id,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat(),
        "duration": round((run.finished_at - run.started_at).total_seconds(), 6),
        "exit_code": run.exit_code,
        "interrupted": run.interrupted,
        "counts": {status.value: run.count(status) for status in PairStatus},
        "targets": [
            {"name": t.name, "available": t.available, "reason": t.reason, "version": t.version}
            for t in run.targets
        ],
        "results": [_pair_dict(pair) for pair in run.pairs],
    }


def _pair_dict(pair: PairResult) -> dict[str, Any]:
    return {
        "test_id": pair.test_id,
        "scenario": pair.scenario,
        "target": pair.target,
        "scenario_file": pair.scenario_file,
        "status": pair.status.value,
        "started_at": pair.started_at.isoformat(),
        "finished_at": pair.finished_at.isoformat(),
        "duration": round(pair.duration, 6),
        "message": pair.message,
        "cleanup_errors": list(pair.cleanup_errors),
        "steps": [
            {
                "index": step.index,
                "name": step.name,
                "op": step.op,
                "status": step.status.value,
                "started_at": step.started_at.isoformat(),
                "duration": step.duration,
                "message": step.message,
                "line": step.line,
            }
            for step in pair.steps
        ],
    }


def write_summary(run: RunResult, path: Path) -> None:
    write_text_atomically(path, json.dumps(to_dict(run), indent=2) + "\n")


def read_summary(path: Path) -> RunResult:
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc.strerror}") from exc
    except ValueError as exc:
        raise BadInput(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise BadInput(f"{path}: not a container-ci summary (format {found!r}, want {FORMAT!r})")
    try:
        return RunResult(
            run_id=data["run_id"],
            started_at=datetime.fromisoformat(data["started_at"]),
            finished_at=datetime.fromisoformat(data["finished_at"]),
            interrupted=data.get("interrupted", ""),
            targets=[TargetInfo(**target) for target in data["targets"]],
            pairs=[_pair_from(pair) for pair in data["results"]],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BadInput(f"{path}: malformed summary: {type(exc).__name__}: {exc}") from exc


def _pair_from(data: dict[str, Any]) -> PairResult:
    return PairResult(
        scenario=data["scenario"],
        target=data["target"],
        status=PairStatus(data["status"]),
        started_at=datetime.fromisoformat(data["started_at"]),
        finished_at=datetime.fromisoformat(data["finished_at"]),
        message=data["message"],
        cleanup_errors=list(data["cleanup_errors"]),
        scenario_file=data.get("scenario_file", ""),
        steps=[
            StepResult(
                index=step["index"],
                name=step["name"],
                op=step["op"],
                status=StepStatus(step["status"]),
                started_at=datetime.fromisoformat(step["started_at"]),
                duration=step["duration"],
                message=step["message"],
                line=step["line"],
            )
            for step in data["steps"]
        ],
    )
