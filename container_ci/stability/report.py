"""Stability reports in HTML (html_report.py), Markdown (pasted into the
review that moves a job, and its evidence under reports/: evidence.py) and
JSON (for scripts). Per job: pass rate and its interval, trend (daily while
the job is young, weekly after), a grid of recent builds x tests, top flaky
tests, failing tests and failure signatures, new ones marked."""

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
from container_ci.stability.analysis import (
    NEW_DAYS,
    JobAnalysis,
    analyse_job,
    jobs,
    store_clock,
    trend_title,
)
from container_ci.stability.html_report import render_html
from container_ci.stability.operations import OperationMatrix, operation_matrix
from container_ci.stability.policy import Decision
from container_ci.stability.store import Store
from container_ci.stability.tables import Build, Job, Test, TestResult

GRID_BUILDS = 20
TOP_FLAKY = 10
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
        as_of = store_clock(session)
        return [
            (analyse_job(session, name, as_of=as_of), build_grid(session, name)) for name in names
        ]


def escape_md(text: str) -> str:
    """Text from results in a Markdown table cell or list item: no markup,
    no broken rows."""
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
            "stale": decision.evidence.stale,
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
        "trend": {
            "granularity": analysis.granularity,
            "points": [
                {
                    analysis.granularity: period,
                    "runs": rate.runs,
                    "passed": rate.passed,
                    "rate": rate.rate,
                    "interval_95": list(rate.interval),
                }
                for period, rate in analysis.trend
            ],
        },
        "as_of": analysis.as_of.isoformat() if analysis.as_of else None,
        "tests": [asdict(test) | {"failure_rate": test.failure_rate} for test in analysis.tests],
        "top_flaky": [
            {"test_id": t.test_id, "builds_affected": t.failures, "runs": t.runs, "flips": t.flips}
            for t in analysis.top_flaky[:TOP_FLAKY]
        ],
        "signatures": [
            asdict(s)
            | {
                "first_seen": s.first_seen.isoformat() if s.first_seen else None,
                "last_seen": s.last_seen.isoformat() if s.last_seen else None,
                "first_in_store": s.first_in_store.isoformat() if s.first_in_store else None,
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
    lines = [f"## Job `{escape_md(analysis.job)}`", ""]
    if decision is not None:
        first, *rest = decision.lines()
        lines += [f"**Verdict: {first}**", ""] + [f"- {escape_md(r)}" for r in rest] + [""]
    lines += [
        f"- window: {analysis.since or '-'} to {analysis.until or '-'}",
        f"- runs counted: {rate.runs} (passed {rate.passed}, failed {rate.failed}); "
        f"infrastructure failures set aside: {rate.infrastructure}; not run: {rate.not_run}",
        f"- pass rate: {rate.rate:.1%} (95% Wilson interval {low:.1%} - {high:.1%})",
        f"- flaky tests (passed and failed on the same change and patchset): "
        f"{len(analysis.flaky_tests)}",
        "",
        f"### Trend: {trend_title(analysis)}",
        "",
        f"| {analysis.granularity} | runs | pass rate | 95% interval |",
        "| --- | ---: | ---: | --- |",
    ]
    for period, point in analysis.trend:
        p_low, p_high = point.interval
        lines.append(f"| {period} | {point.runs} | {point.rate:.1%} | {p_low:.1%} - {p_high:.1%} |")
    builds = grid["builds"]
    lines += ["", f"### Last {len(builds)} build(s) x tests", ""]
    header = "| test | " + " | ".join(str(i + 1) for i in range(len(builds))) + " |"
    lines += [header, "| --- |" + " :---: |" * len(builds)]
    for test, cells in grid["tests"].items():
        lines.append(f"| {escape_md(test)} | " + " | ".join(cells) + " |")
    lines += [""] + [
        f"{i + 1}. `{escape_md(b['uuid'])}` {b['result']} {b['start_time'] or ''}"
        for i, b in enumerate(builds)
    ]
    if analysis.flaky_tests:
        lines += [
            "",
            "### Top flaky tests, by builds affected",
            "",
            "| test | builds affected | runs | flips |",
            "| --- | ---: | ---: | ---: |",
        ] + [
            f"| {escape_md(t.test_id)} | {t.failures} | {t.runs} | {t.flips} |"
            for t in analysis.top_flaky[:TOP_FLAKY]
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
                f"| {escape_md(test.test_id)} | {test.runs} | {test.failures} | "
                f"{test.failure_rate:.1%} | {test.flips} |"
            )
    if analysis.signatures:
        lines += [
            "",
            "### Failure signatures",
            "",
            f"New: first seen in the store within {NEW_DAYS} days of its newest build "
            f"({analysis.as_of or '-'}).",
            "",
            "| signature | new? | count | first seen | last seen | tests | text |",
            "| --- | --- | ---: | --- | --- | --- | --- |",
        ]
        for s in analysis.signatures[:20]:
            lines.append(
                f"| `{s.digest[:12]}` | {novelty(s.new)} | {s.count} | "
                f"{s.first_in_store or s.first_seen or '-'} | {s.last_seen or '-'} | "
                f"{escape_md(', '.join(s.tests[:3]))} | {escape_md(s.normalized[:160])} |"
            )
    return "\n".join(lines) + "\n"


def novelty(new: bool) -> str:
    return "**NEW**" if new else "known"


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
    side_by_side = drivers.to_markdown(comparison, escape_md)
    operations = operations or OperationMatrix(drivers=[], operations=[])
    by_operation = operations.to_markdown(escape_md)
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
