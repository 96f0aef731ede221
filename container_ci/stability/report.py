"""Stability reports in HTML (html_report.py), Markdown (pasted into the
review that moves a job) and JSON (for scripts). Per job: pass rate and its
interval, weekly trend, a grid of recent builds x tests, failing tests and
failure signatures."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from container_ci.errors import BadInput
from container_ci.scenarios.model import CapabilityMatrix
from container_ci.stability import drivers
from container_ci.stability.analysis import JobAnalysis, analyse_job, jobs
from container_ci.stability.html_report import render_html
from container_ci.stability.operations import OperationMatrix, operation_matrix
from container_ci.stability.policy import Decision
from container_ci.stability.store import Store
from container_ci.stability.tables import Build, Job, Test, TestResult

GRID_BUILDS = 20
CELL = {"success": "pass", "fail": "FAIL", "skip": "skip", "xfail": "xfail", "uxsuccess": "FAIL"}


def build_grid(session: Session, job: str, limit: int = GRID_BUILDS) -> dict[str, Any]:
    """The newest builds of a job (columns) against every test they ran (rows)."""
    builds = session.execute(
        select(Build.id, Build.uuid, Build.result, Build.start_time)
        .join(Job)
        .where(Job.name == job)
        .order_by(Build.start_time.desc(), Build.id.desc())
        .limit(limit)
    ).all()[::-1]
    ids = [b.id for b in builds]
    cells: dict[str, dict[int, str]] = {}
    if ids:
        rows = session.execute(
            select(TestResult.build_id, Test.test_id, TestResult.status, TestResult.infrastructure)
            .join(Test, TestResult.test_id == Test.id)
            .where(TestResult.build_id.in_(ids))
        )
        for build_id, test_id, status, infrastructure in rows:
            cells.setdefault(test_id, {})[build_id] = (
                "infra" if infrastructure else CELL.get(status, status)
            )
    return {
        "builds": [
            {
                "uuid": b.uuid,
                "result": b.result,
                "start_time": b.start_time.isoformat() if b.start_time else None,
            }
            for b in builds
        ],
        "tests": {test: [row.get(b.id, "") for b in builds] for test, row in sorted(cells.items())},
    }


def job_reports(store: Store, only: str | None = None) -> list[tuple[JobAnalysis, dict[str, Any]]]:
    """Each job's analysis (its whole history) and its grid of recent builds."""
    with store.session() as session:
        known = jobs(session)
        if only and only not in known:
            raise BadInput(f"job {only!r} is not in the store {store.safe_url}")
        names = [only] if only else known
        return [(analyse_job(session, name), build_grid(session, name)) for name in names]


def _escape_md(text: str) -> str:
    return (
        str(text)
        .replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("`", "\\`")
        .replace("\n", " ")
    )


def to_json(
    analysis: JobAnalysis, grid: dict[str, Any], decision: Decision | None = None
) -> dict[str, Any]:
    low, high = analysis.pass_rate.interval
    verdict = None
    if decision is not None:
        verdict = {
            "stage": decision.stage,
            "verdict": decision.verdict,
            "target_stage": decision.target_stage,
            "reasons": decision.reasons,
            "outlook": decision.outlook,
            "passes_to_promote": decision.passes_to_promote,
            "failures_to_demote": decision.failures_to_demote,
        }
    return {
        "job": analysis.job,
        "decision": verdict,
        "window": [
            analysis.since.isoformat() if analysis.since else None,
            analysis.until.isoformat() if analysis.until else None,
        ],
        "pass_rate": {
            **asdict(analysis.pass_rate),
            "rate": analysis.pass_rate.rate,
            "interval_95": [low, high],
        },
        "weekly": [
            {
                "week": week,
                "runs": rate.runs,
                "passed": rate.passed,
                "rate": rate.rate,
                "interval_95": list(rate.interval),
            }
            for week, rate in analysis.weekly
        ],
        "tests": [asdict(test) | {"failure_rate": test.failure_rate} for test in analysis.tests],
        "signatures": [
            asdict(s)
            | {
                "first_seen": s.first_seen.isoformat() if s.first_seen else None,
                "last_seen": s.last_seen.isoformat() if s.last_seen else None,
            }
            for s in analysis.signatures
        ],
        "grid": grid,
    }


def to_markdown(
    analysis: JobAnalysis, grid: dict[str, Any], decision: Decision | None = None
) -> str:
    rate = analysis.pass_rate
    low, high = rate.interval
    lines = [f"## Job `{_escape_md(analysis.job)}`", ""]
    if decision is not None:
        first, *rest = decision.lines()
        lines += [f"**Verdict: {first}**", ""] + [f"- {_escape_md(r)}" for r in rest] + [""]
    lines += [
        f"- window: {analysis.since or '-'} to {analysis.until or '-'}",
        f"- runs counted: {rate.runs} (passed {rate.passed}, failed {rate.failed}); "
        f"infrastructure failures set aside: {rate.infrastructure}; not run: {rate.not_run}",
        f"- pass rate: {rate.rate:.1%} (95% Wilson interval {low:.1%} - {high:.1%})",
        f"- flaky tests (passed and failed on the same change and patchset): "
        f"{len(analysis.flaky_tests)}",
        "",
        "### Weekly trend",
        "",
        "| week | runs | pass rate | 95% interval |",
        "| --- | ---: | ---: | --- |",
    ]
    for week, weekly in analysis.weekly:
        w_low, w_high = weekly.interval
        lines.append(f"| {week} | {weekly.runs} | {weekly.rate:.1%} | {w_low:.1%} - {w_high:.1%} |")
    builds = grid["builds"]
    lines += ["", f"### Last {len(builds)} build(s) x tests", ""]
    header = "| test | " + " | ".join(str(i + 1) for i in range(len(builds))) + " |"
    lines += [header, "| --- |" + " :---: |" * len(builds)]
    for test, cells in grid["tests"].items():
        lines.append(f"| {_escape_md(test)} | " + " | ".join(cells) + " |")
    lines += [""] + [
        f"{i + 1}. `{_escape_md(b['uuid'])}` {b['result']} {b['start_time'] or ''}"
        for i, b in enumerate(builds)
    ]
    failing = [t for t in analysis.tests if t.failures]
    if failing:
        lines += [
            "",
            "### Failing tests",
            "",
            "| test | runs | failures | rate | flips |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for test in failing[:30]:
            lines.append(
                f"| {_escape_md(test.test_id)} | {test.runs} | {test.failures} | "
                f"{test.failure_rate:.1%} | {test.flips} |"
            )
    if analysis.signatures:
        lines += [
            "",
            "### Failure signatures",
            "",
            "| signature | count | first seen | last seen | tests | text |",
            "| --- | ---: | --- | --- | --- | --- |",
        ]
        for s in analysis.signatures[:20]:
            lines.append(
                f"| `{s.digest[:12]}` | {s.count} | {s.first_seen or '-'} | {s.last_seen or '-'} | "
                f"{_escape_md(', '.join(s.tests[:3]))} | {_escape_md(s.normalized[:160])} |"
            )
    return "\n".join(lines) + "\n"


def operations_by_driver(store: Store, matrix: CapabilityMatrix) -> OperationMatrix:
    """Each compute driver x each operation (stability/operations.py)."""
    with store.session() as session:
        return operation_matrix(session, matrix)


def driver_comparison(store: Store, compute_drivers: list[str]) -> drivers.DriverComparison:
    """The same tests on each compute driver (stability/drivers.py)."""
    with store.session() as session:
        return drivers.compare_drivers(session, compute_drivers)


def write_reports(
    output: Path,
    analyses: list[tuple[JobAnalysis, dict[str, Any]]],
    store: str = "",
    comparison: drivers.DriverComparison | None = None,
    decisions: dict[str, Decision] | None = None,
    operations: OperationMatrix | None = None,
) -> dict[str, Path]:
    """stability.html, .md and .json; drivers.json (the driver comparison,
    also first in the HTML and Markdown when it compares two drivers or
    more) and operations.json (the driver x operation matrix, next)."""
    output.mkdir(parents=True, exist_ok=True)
    comparison = comparison or drivers.DriverComparison(drivers=[], jobs={})
    side_by_side = drivers.to_markdown(comparison, _escape_md)
    operations = operations or OperationMatrix(drivers=[], operations=[])
    by_operation = operations.to_markdown(_escape_md)
    decisions = decisions or {}
    markdown = "# container-ci stability report\n\n" + "\n".join(
        ([by_operation] if by_operation else [])
        + ([side_by_side] if side_by_side else [])
        + [to_markdown(analysis, grid, decisions.get(analysis.job)) for analysis, grid in analyses]
    )
    paths = {
        "html": output / "stability.html",
        "markdown": output / "stability.md",
        "json": output / "stability.json",
        "drivers": output / "drivers.json",
        "operations": output / "operations.json",
    }
    paths["html"].write_text(render_html(analyses, store, comparison, decisions, operations))
    paths["markdown"].write_text(markdown)
    paths["json"].write_text(
        json.dumps(
            [to_json(analysis, grid, decisions.get(analysis.job)) for analysis, grid in analyses],
            indent=2,
            default=str,
        )
        + "\n"
    )
    paths["drivers"].write_text(json.dumps(drivers.to_json(comparison), indent=2) + "\n")
    paths["operations"].write_text(json.dumps(operations.to_json(), indent=2) + "\n")
    return paths
