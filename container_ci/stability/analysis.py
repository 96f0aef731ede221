"""What the store says about a job: pass rate with its 95% Wilson interval,
weekly trend, per-test failure rates and flips, failure signature clusters.

Infrastructure results (Zuul's NODE_FAILURE, RETRY_LIMIT, ... by default) are
counted apart and left out of the pass rate: they are not the driver's fault.
A flip is the same test on the same change and patchset both passing and
failing: a recheck turned it green, the strongest evidence of flakiness."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from container_ci.stability.models import Build, FailureSignature, Job, Test, TestResult

DEFAULT_INFRASTRUCTURE = ("NODE_FAILURE", "RETRY_LIMIT", "POST_FAILURE", "TIMED_OUT")
PASSING = ("SUCCESS",)
NOT_RUN = ("ABORTED", "SKIPPED", "CANCELED", "DEQUEUED")


def wilson_interval(successes: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a pass rate: honest for small n and rates near 1."""
    if total == 0:
        return (0.0, 1.0)
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    margin = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return (max(0.0, centre - margin), min(1.0, centre + margin))


@dataclass
class PassRate:
    runs: int  # builds that count: passed + failed (not infrastructure, not aborted)
    passed: int
    failed: int
    infrastructure: int
    not_run: int

    @property
    def rate(self) -> float:
        return self.passed / self.runs if self.runs else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.passed, self.runs)


@dataclass
class TestStats:
    test_id: str
    runs: int
    failures: int
    flips: int  # (change, patchset) pairs where the test both passed and failed

    @property
    def failure_rate(self) -> float:
        return self.failures / self.runs if self.runs else 0.0


@dataclass
class SignatureCluster:
    digest: str
    normalized: str
    count: int
    first_seen: datetime | None
    last_seen: datetime | None
    tests: list[str] = field(default_factory=list)
    example_builds: list[str] = field(default_factory=list)


@dataclass
class JobAnalysis:
    job: str
    since: datetime | None
    until: datetime | None
    pass_rate: PassRate
    weekly: list[tuple[str, PassRate]]
    tests: list[TestStats]
    signatures: list[SignatureCluster]

    @property
    def flaky_tests(self) -> list[TestStats]:
        return [test for test in self.tests if test.flips > 0]


def _classify(results: Iterable[str | None], infrastructure: Iterable[str]) -> PassRate:
    infra = set(infrastructure)
    passed = failed = infra_count = not_run = 0
    for result in results:
        if result in PASSING:
            passed += 1
        elif result in infra:
            infra_count += 1
        elif result in NOT_RUN or result is None:
            not_run += 1
        else:
            failed += 1
    return PassRate(passed + failed, passed, failed, infra_count, not_run)


def _week(moment: datetime | None) -> str:
    if moment is None:
        return "unknown"
    year, week, _day = moment.isocalendar()
    return f"{year}-W{week:02d}"


def jobs(session: Session) -> list[str]:
    return list(session.scalars(select(Job.name).order_by(Job.name)))


def analyse_job(
    session: Session,
    job: str,
    window: timedelta | None = None,
    now: datetime | None = None,
    infrastructure: Iterable[str] = DEFAULT_INFRASTRUCTURE,
) -> JobAnalysis:
    infrastructure = tuple(infrastructure)
    query = (
        select(Build.id, Build.uuid, Build.result, Build.start_time, Build.change, Build.patchset)
        .join(Job)
        .where(Job.name == job)
    )
    since = None
    if window is not None:
        until = now or session.scalar(
            select(func.max(Build.start_time)).join(Job).where(Job.name == job)
        )
        if until is not None:
            since = until - window
            query = query.where(Build.start_time >= since)
    builds = session.execute(query.order_by(Build.start_time)).all()
    times = [b.start_time for b in builds if b.start_time is not None]
    rate = _classify((b.result for b in builds), infrastructure)
    by_week: dict[str, list[str | None]] = defaultdict(list)
    for build in builds:
        by_week[_week(build.start_time)].append(build.result)
    weekly = [
        (week, _classify(results, infrastructure)) for week, results in sorted(by_week.items())
    ]

    build_info = {b.id: b for b in builds}
    counted = [b.id for b in builds if b.result not in infrastructure]
    tests, clusters = _test_stats(session, counted, build_info)
    return JobAnalysis(
        job=job,
        since=min(times) if times else since,
        until=max(times) if times else None,
        pass_rate=rate,
        weekly=weekly,
        tests=tests,
        signatures=clusters,
    )


def _test_stats(
    session: Session, build_ids: list[int], build_info: dict
) -> tuple[list[TestStats], list[SignatureCluster]]:
    runs: dict[str, int] = defaultdict(int)
    failures: dict[str, int] = defaultdict(int)
    outcomes: dict[tuple[str, int, str], set[str]] = defaultdict(set)
    clusters: dict[str, SignatureCluster] = {}
    for start in range(0, len(build_ids), 500):
        chunk = build_ids[start : start + 500]
        rows = session.execute(
            select(
                TestResult.build_id,
                Test.test_id,
                TestResult.status,
                TestResult.infrastructure,
                FailureSignature.digest,
                FailureSignature.normalized,
            )
            .join(Test, TestResult.test_id == Test.id)
            .outerjoin(FailureSignature, TestResult.signature_id == FailureSignature.id)
            .where(TestResult.build_id.in_(chunk))
        )
        for build_id, test_id, status, infrastructure, digest, normalized in rows:
            if status not in ("success", "fail", "uxsuccess") or infrastructure:
                continue
            build = build_info[build_id]
            runs[test_id] += 1
            failed = status != "success"
            if failed:
                failures[test_id] += 1
            if build.change is not None:
                outcomes[(test_id, build.change, build.patchset or "")].add(status)
            if failed and digest:
                cluster = clusters.setdefault(
                    digest, SignatureCluster(digest, normalized, 0, None, None)
                )
                cluster.count += 1
                if test_id not in cluster.tests:
                    cluster.tests.append(test_id)
                if len(cluster.example_builds) < 3:
                    cluster.example_builds.append(build.uuid)
                if build.start_time is not None:
                    if cluster.first_seen is None or build.start_time < cluster.first_seen:
                        cluster.first_seen = build.start_time
                    if cluster.last_seen is None or build.start_time > cluster.last_seen:
                        cluster.last_seen = build.start_time
    flips: dict[str, int] = defaultdict(int)
    for (test_id, _change, _patchset), statuses in outcomes.items():
        if "success" in statuses and len(statuses) > 1:
            flips[test_id] += 1
    tests = [
        TestStats(test_id, runs[test_id], failures[test_id], flips[test_id])
        for test_id in sorted(runs)
    ]
    tests.sort(key=lambda t: (-t.flips, -t.failure_rate, t.test_id))
    return tests, sorted(clusters.values(), key=lambda c: -c.count)
