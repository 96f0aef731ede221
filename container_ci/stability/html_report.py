"""The HTML stability report: one self-contained file (inline CSS and SVG, no
script, a Content-Security-Policy that forbids any), rendered with Jinja2 with
autoescaping on, so text from results can never become markup."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from container_ci.stability.analysis import NEW_DAYS, JobAnalysis, trend_title
from container_ci.stability.drivers import DriverComparison, rows_for_html
from container_ci.stability.operations import OperationMatrix
from container_ci.stability.policy import Decision

CHART_WIDTH, CHART_HEIGHT, MARGIN = 600, 160, 12


def trend_chart(analysis: JobAnalysis) -> dict[str, Any]:
    """Polyline of the daily or weekly pass rates (analysis.granularity) and
    a polygon for their 95% interval band; SVG text names the first and last
    period and the scale, so the chart reads without hovering (no script)."""
    periods = [(period, rate) for period, rate in analysis.trend if rate.runs]
    chart: dict[str, Any] = {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "points": [],
        "granularity": analysis.granularity,
        "first": periods[0][0] if periods else "",
        "last": periods[-1][0] if len(periods) > 1 else "",
    }
    if not periods:
        chart.update(line="", band="")
        return chart
    step = (CHART_WIDTH - 2 * MARGIN) / max(1, len(periods) - 1)

    def y(value: float) -> float:
        return round(CHART_HEIGHT - MARGIN - value * (CHART_HEIGHT - 2 * MARGIN), 1)

    xs = [round(MARGIN + i * step, 1) for i in range(len(periods))]
    rates = [rate for _period, rate in periods]
    highs = [f"{x},{y(rate.interval[1])}" for x, rate in zip(xs, rates, strict=True)]
    lows = [f"{x},{y(rate.interval[0])}" for x, rate in zip(xs, rates, strict=True)]
    chart["band"] = " ".join(highs + lows[::-1])
    chart["line"] = " ".join(f"{x},{y(rate.rate)}" for x, rate in zip(xs, rates, strict=True))
    chart["points"] = [
        {"x": x, "y": y(rate.rate), "label": f"{period}: {rate.rate:.1%} of {rate.runs} runs"}
        for x, (period, rate) in zip(xs, periods, strict=True)
    ]
    return chart


def render_html(
    analyses: list[tuple[JobAnalysis, dict[str, Any]]],
    store: str,
    comparison: DriverComparison | None = None,
    decisions: dict[str, Decision] | None = None,
    operations: OperationMatrix | None = None,
) -> str:
    environment = Environment(
        loader=PackageLoader("container_ci.stability", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
    )
    jobs = []
    for analysis, grid in analyses:
        low, high = analysis.pass_rate.interval
        decision = (decisions or {}).get(analysis.job)
        jobs.append(
            {
                "verdict": decision.lines() if decision else None,
                "verdict_kind": decision.verdict if decision else None,
                "name": analysis.job,
                "since": analysis.since,
                "until": analysis.until,
                "rate": analysis.pass_rate,
                "low": low,
                "high": high,
                "flaky": analysis.flaky_tests,
                "failing": [t for t in analysis.tests if t.failures][:30],
                "signatures": analysis.signatures[:20],
                "grid": grid,
                "chart": trend_chart(analysis),
                "trend_title": trend_title(analysis),
                "top_flaky": analysis.top_flaky[:10],
                "new_days": NEW_DAYS,
                "as_of": analysis.as_of,
                "stale": decision.evidence.stale if decision else False,
            }
        )
    template = environment.get_template("report.html.j2")
    side_by_side = None
    if comparison is not None and len(comparison.drivers) > 1:
        side_by_side = {
            "drivers": comparison.drivers,
            "jobs": comparison.jobs,
            "totals": comparison.totals(),
            "alone": comparison.alone,
            "rows": list(rows_for_html(comparison)),
        }
    return template.render(
        jobs=jobs,
        store=store,
        drivers=side_by_side,
        operations=operations if operations is not None and operations.drivers else None,
        generated=datetime.now(UTC).isoformat(timespec="seconds"),
    )
