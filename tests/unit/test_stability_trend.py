"""The trend: a point per day while a job is young (its builds span less
than YOUNG_DAYS), per ISO week after, each with its 95% interval; in the
Markdown, the JSON and the HTML's inline SVG (no script, the same CSP). On
real streams: the harness's own runs, jsonschema's suite run here (subunit
and JUnit), stestr's recorded run with its failure."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from container_ci.stability.analysis import YOUNG_DAYS, analyse_job, wilson_interval
from container_ci.stability.ingest.sources import ingest_path
from container_ci.stability.report import job_reports, write_reports
from container_ci.stability.store import Store
from tests.fakes.real_streams import (
    harness_run,
    retime,
    retime_junit,
    stestr_failure_stream,
    third_party_junit,
    third_party_subunit,
)

T0 = datetime(2026, 8, 3, 9, 0, tzinfo=UTC)  # a Monday: ISO week 2026-W32
CSP = (
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
    "style-src 'unsafe-inline'; img-src data:\">"
)


def ingest(store: Store, path: Path, job: str) -> None:
    assert all(i.new for i in ingest_path(store, path, job))


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.fixture
def young(store: Store, tmp_path: Path) -> Store:
    """The harness's own runs, one a day for ten days: days 2 and 7 fail
    (its recorded container service error), day 7 twice."""
    for day in range(10):
        start = T0 + timedelta(days=day)
        ingest(store, harness_run(tmp_path / f"run-{day}", f"r{day}", start, day in (2, 7)),
               "container-ci-local")  # fmt: skip
    again = T0 + timedelta(days=7, hours=3)
    ingest(store, harness_run(tmp_path / "run-7b", "r7b", again, True), "container-ci-local")
    return store


def test_a_young_job_has_a_point_per_day(young):
    with young.session() as session:
        analysis = analyse_job(session, "container-ci-local")
    assert analysis.granularity == "day"
    points = {day: (rate.runs, rate.passed) for day, rate in analysis.trend}
    assert len(points) == 10
    assert points["2026-08-05"] == (1, 0)
    assert points["2026-08-10"] == (2, 0)
    assert points["2026-08-04"] == (1, 1)
    assert [week for week, _ in analysis.weekly] == ["2026-W32", "2026-W33"]


def test_the_daily_trend_is_in_every_report_format(young, tmp_path):
    paths = write_reports(tmp_path / "out", job_reports(young), young.safe_url)
    markdown = paths["markdown"].read_text()
    assert f"### Trend: pass rate by day (young: its builds span under {YOUNG_DAYS} days)" in (
        markdown
    )
    low, high = wilson_interval(0, 2)
    assert f"| 2026-08-10 | 2 | 0.0% | {low:.1%} - {high:.1%} |" in markdown
    (job,) = json.loads(paths["json"].read_text())
    assert job["trend"]["granularity"] == "day"
    assert [p["day"] for p in job["trend"]["points"]][:2] == ["2026-08-03", "2026-08-04"]
    assert job["trend"]["points"][7]["interval_95"] == [low, high]

    html = paths["html"].read_text()
    assert CSP in html and "<script" not in html.lower()
    assert "Trend: pass rate by day (young: its builds span under 28 days)" in html
    assert 'aria-label="pass rate by day with its 95% interval"' in html
    assert ">2026-08-03</text>" in html and ">2026-08-12</text>" in html
    assert html.count("<circle ") == 10 and "<polygon points=" in html
    assert "<title>2026-08-10: 0.0% of 2 runs</title>" in html
    assert "10 point(s), one per day" in html


def test_an_older_job_has_a_point_per_iso_week(store, tmp_path):
    """jsonschema's suite run here, as subunit every other day for ten weeks
    and once as JUnit; stestr's recorded failing run in week 3."""
    suite = third_party_subunit()
    for day in range(0, 70, 2):
        stream = retime(suite, T0 + timedelta(days=day))
        ingest(store, write(tmp_path / f"s{day}.subunit", stream), "jsonschema-py3")
    failing = retime(stestr_failure_stream(), T0 + timedelta(days=15))
    ingest(store, write(tmp_path / "stestr.subunit", failing), "jsonschema-py3")
    junit = third_party_junit(tmp_path / "pytest.xml")
    ingest(store, retime_junit(junit, tmp_path / "j.xml", T0 + timedelta(days=71)),
           "jsonschema-py3")  # fmt: skip
    with store.session() as session:
        analysis = analyse_job(session, "jsonschema-py3")
    assert analysis.granularity == "week"
    assert analysis.trend == analysis.weekly
    weeks = dict(analysis.trend)
    assert len(weeks) == 11 and weeks["2026-W34"].runs == 5
    assert (weeks["2026-W34"].passed, weeks["2026-W34"].failed) == (4, 1)

    paths = write_reports(tmp_path / "out", job_reports(store), store.safe_url)
    assert "### Trend: pass rate by ISO week\n\n| week | runs |" in paths["markdown"].read_text()
    (job,) = json.loads(paths["json"].read_text())
    assert job["trend"]["granularity"] == "week"
    assert job["trend"]["points"][3] == {
        "week": "2026-W35",
        "runs": 3,
        "passed": 3,
        "rate": 1.0,
        "interval_95": list(wilson_interval(3, 3)),
    }
    html = paths["html"].read_text()
    assert "Trend: pass rate by ISO week" in html and ">2026-W32</text>" in html


def test_young_means_builds_spanning_less_than_four_weeks(store, tmp_path):
    suite = third_party_subunit()
    ingest(store, write(tmp_path / "a.subunit", retime(suite, T0)), "j")
    later = T0 + timedelta(days=YOUNG_DAYS) - timedelta(minutes=1)
    ingest(store, write(tmp_path / "b.subunit", retime(suite, later)), "j")
    with store.session() as session:
        assert analyse_job(session, "j").granularity == "day"
    ingest(store, write(tmp_path / "c.subunit", retime(suite, T0 + timedelta(YOUNG_DAYS))), "j")
    with store.session() as session:
        analysis = analyse_job(session, "j")
        assert analysis.granularity == "week"
        # A window of the newest two weeks is young again: the decision's view.
        assert analyse_job(session, "j", timedelta(days=14)).granularity == "day"
    assert [week for week, _ in analysis.trend] == ["2026-W32", "2026-W36"]
