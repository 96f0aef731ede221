"""The same tests on Nova's compute drivers, side by side.

Nova's promise for containers is that a caller of the compute API need not
know which driver runs the server; what keeps it is the same tests passing
on each. The store does not record a build's compute driver: the job name
says it. A job belongs to a driver when the driver's name (a row of the
capability matrix's `compute_drivers:`) is a dash-separated part of it,
`tempest-upstream-libvirt-lxc`, `container-ci-nova-docker`,
`nova-docker-tempest-local`, or the last part of the driver's name is, when no
other driver ends that way (`nova-lxc-tempest-local` is libvirt-lxc's). A job
naming no driver, or two, is left out.

For each test that ran on at least two drivers in their newest builds (50
per driver, RECENT_BUILDS): its runs and outcomes on each, and its latest
outcome, with the skip reason or failure text; the
report lists the tests whose latest outcomes differ. A class that skips in
its setUpClass is one result in a stream (`setUpClass (module.Class)`):
on a driver with such a result, each test of that class another driver ran
counts as skipped with its reason, so a whole class Tempest skips on one
driver and runs on the other shows test by test."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from container_ci.stability.tables import Build, Job, Test, TestResult

CLASS_FIXTURE = re.compile(r"^(setUpClass|tearDownClass) \((?P<cls>[\w.]+)\)$")
# The store's statuses, as the comparison counts them.
OUTCOME = {"success": "pass", "xfail": "pass", "skip": "skip", "fail": "fail", "uxsuccess": "fail"}
REASON_CHARS = 240
# The builds of each driver's jobs the comparison reads, newest first: the
# drivers as they are now, not years of history.
RECENT_BUILDS = 50


def job_driver(job: str, drivers: Sequence[str]) -> str | None:
    """The compute driver a job's name says, or None (no driver, or two)."""
    parts = job.split("-")

    def names(driver: str) -> bool:
        words = driver.split("-")
        return any(parts[i : i + len(words)] == words for i in range(len(parts)))

    found = {driver for driver in drivers if names(driver)}
    if not found:
        for driver in drivers:
            tail = driver.split("-")[-1]
            sharing = [d for d in drivers if d.split("-")[-1] == tail]
            if len(sharing) == 1 and tail in parts:
                found.add(driver)
    return found.pop() if len(found) == 1 else None


@dataclass
class Outcomes:
    """A test's results on one driver, infrastructure failures set aside."""

    runs: int = 0
    passed: int = 0
    skipped: int = 0
    failed: int = 0
    last: str = ""  # pass, skip or fail: the newest build's
    reason: str = ""  # the newest result's skip reason or failure text

    def count(self, outcome: str) -> None:
        self.runs += 1
        if outcome == "pass":
            self.passed += 1
        elif outcome == "skip":
            self.skipped += 1
        else:
            self.failed += 1

    def latest(self, outcome: str, text: str | None) -> None:
        self.last = outcome
        self.reason = " ".join((text or "").split())[:REASON_CHARS]


@dataclass
class DriverComparison:
    drivers: list[str]  # those with at least one job in the store
    jobs: dict[str, list[str]]  # driver -> its jobs
    tests: dict[str, dict[str, Outcomes]] = field(default_factory=dict)  # on two drivers or more
    # Per driver, the tests it alone ran (those the others exclude, or suites
    # only it runs).
    alone: dict[str, int] = field(default_factory=dict)

    def totals(self) -> dict[str, dict[str, int]]:
        """Per driver, the latest outcome of the tests run on two drivers or more."""
        counts = {driver: {"tests": 0, "pass": 0, "skip": 0, "fail": 0} for driver in self.drivers}
        for by_driver in self.tests.values():
            for driver, outcomes in by_driver.items():
                counts[driver]["tests"] += 1
                counts[driver][outcomes.last] += 1
        return counts

    def differing(self) -> dict[str, dict[str, Outcomes]]:
        """The tests whose latest outcome is not the same on every driver that
        ran them, or that some driver with jobs never ran."""
        return {
            test: by_driver
            for test, by_driver in self.tests.items()
            if len({outcomes.last for outcomes in by_driver.values()}) > 1
            or len(by_driver) < len(self.drivers)
        }


def driver_jobs(session: Session, drivers: Sequence[str]) -> dict[str, list[str]]:
    """Driver -> the jobs whose names say it (sorted)."""
    jobs: dict[str, list[str]] = {}
    for name in session.scalars(select(Job.name).order_by(Job.name)):
        driver = job_driver(name, drivers)
        if driver:
            jobs.setdefault(driver, []).append(name)
    return jobs


def recent_results(
    session: Session, names: list[str], limit: int = RECENT_BUILDS
) -> list[tuple[str, str, str | None]]:
    """(test id, status, failure text) of the newest `limit` builds of the
    jobs `names`, newest build first; infrastructure results left out.
    Bounded so that a report over years of history reads a few builds."""
    builds = session.scalars(
        select(Build.id)
        .join(Job)
        .where(Job.name.in_(names))
        .order_by(Build.start_time.desc(), Build.id.desc())
        .limit(limit)
    ).all()
    if not builds:
        return []
    order = {build: index for index, build in enumerate(builds)}
    rows = sorted(
        session.execute(
            select(TestResult.build_id, Test.test_id, TestResult.status, TestResult.failure_text)
            .join(Test, TestResult.test_id == Test.id)
            .where(TestResult.build_id.in_(builds), TestResult.infrastructure.is_(False))
        ).all(),
        key=lambda row: order[row[0]],
    )
    return [(test, status, text) for _build, test, status, text in rows]


def compare_drivers(session: Session, drivers: Sequence[str]) -> DriverComparison:
    """The newest builds of each driver's jobs, their results gathered per test."""
    jobs = driver_jobs(session, drivers)
    comparison = DriverComparison(drivers=sorted(jobs), jobs=jobs)
    if len(jobs) < 2:
        return comparison
    gathered: dict[str, dict[str, Outcomes]] = {}
    for driver, names in jobs.items():
        for test, status, text in recent_results(session, names):
            outcomes = gathered.setdefault(test, {}).get(driver)
            outcome = OUTCOME.get(status, "fail")
            if outcomes is None:
                outcomes = gathered[test][driver] = Outcomes()
                outcomes.latest(outcome, text)  # newest first: the first seen is the latest
            outcomes.count(outcome)
    _spread_class_skips(gathered)
    comparison.tests = {
        test: by_driver for test, by_driver in sorted(gathered.items()) if len(by_driver) > 1
    }
    comparison.alone = {driver: 0 for driver in comparison.drivers}
    for by_driver in gathered.values():
        if len(by_driver) == 1:
            comparison.alone[next(iter(by_driver))] += 1
    return comparison


def _spread_class_skips(gathered: dict[str, dict[str, Outcomes]]) -> None:
    """A driver's `setUpClass (module.Class)` result becomes its result for
    every test of that class the other drivers ran; the class-level entry is
    then dropped where it stood for tests (it compares nothing)."""
    classes: dict[str, dict[str, Outcomes]] = {}
    for test, by_driver in gathered.items():
        match = CLASS_FIXTURE.match(test)
        if match:
            classes.setdefault(match.group("cls"), {}).update(by_driver)
    if not classes:
        return
    spread: set[str] = set()
    for test, by_driver in gathered.items():
        owner = test.split("[", 1)[0].rsplit(".", 1)[0]
        for driver, outcomes in classes.get(owner, {}).items():
            if driver not in by_driver:
                by_driver[driver] = copy.copy(outcomes)
                spread.add(owner)
    for test in list(gathered):
        match = CLASS_FIXTURE.match(test)
        if match and match.group("cls") in spread:
            del gathered[test]


def to_json(comparison: DriverComparison) -> dict[str, Any]:
    return {
        "drivers": comparison.drivers,
        "jobs": comparison.jobs,
        "totals": comparison.totals(),
        "run_on_one_driver_only": comparison.alone,
        "differing": {
            test: {driver: vars(outcomes) for driver, outcomes in by_driver.items()}
            for test, by_driver in comparison.differing().items()
        },
    }


def cell(outcomes: Outcomes | None) -> str:
    """One driver's column for a test: its latest outcome and tally."""
    if outcomes is None:
        return "not run"
    tally = f"{outcomes.passed}/{outcomes.runs} passed"
    return f"{outcomes.last} ({tally})" + (f": {outcomes.reason}" if outcomes.reason else "")


def to_markdown(comparison: DriverComparison, escape: Callable[[str], str]) -> str:
    """The section for stability.md; `escape` is the report's Markdown escaper."""
    if len(comparison.drivers) < 2:
        return ""
    totals = comparison.totals()
    lines = [
        "## Compute drivers side by side",
        "",
        "Tests run on two drivers or more, their latest outcome on each "
        "(jobs: "
        + "; ".join(f"{d}: {', '.join(comparison.jobs[d])}" for d in comparison.drivers)
        + ").",
        "",
        "| driver | tests | passed | skipped | failed | run on this driver only |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for driver in comparison.drivers:
        t = totals[driver]
        lines.append(
            f"| {driver} | {t['tests']} | {t['pass']} | {t['skip']} | {t['fail']} "
            f"| {comparison.alone.get(driver, 0)} |"
        )
    differing = comparison.differing()
    lines += ["", f"### Tests whose outcome differs ({len(differing)})", ""]
    if differing:
        lines += [
            "| test | " + " | ".join(comparison.drivers) + " |",
            "| --- |" + " --- |" * len(comparison.drivers),
        ]
        for test, by_driver in differing.items():
            cells = [escape(cell(by_driver.get(d))) for d in comparison.drivers]
            lines.append(f"| {escape(test)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def rows_for_html(comparison: DriverComparison) -> Iterable[dict[str, Any]]:
    for test, by_driver in comparison.differing().items():
        yield {
            "test": test,
            "cells": [
                {
                    "last": (by_driver[d].last if d in by_driver else "not-run"),
                    "text": cell(by_driver.get(d)),
                }
                for d in comparison.drivers
            ],
        }
