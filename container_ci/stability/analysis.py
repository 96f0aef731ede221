"""What the store says about a job: pass rate with its 95% Wilson interval,
trend (daily while the job is young, weekly after), per-test failure rates
and flips, failure signature clusters (new ones marked).

Infrastructure results (Zuul's NODE_FAILURE, RETRY_LIMIT, ... by default) are
counted apart and left out of the pass rate: they are not the driver's fault.
A flip is the same test on the same change and patchset both passing and
failing: a recheck turned it green, the strongest evidence of flakiness."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import ColumnElement, Select, case, func, or_, select, tuple_
from sqlalchemy.orm import Session

from container_ci.stability.tables import Build, FailureSignature, Job, Test, TestResult

DEFAULT_INFRASTRUCTURE = ("NODE_FAILURE", "RETRY_LIMIT", "POST_FAILURE", "TIMED_OUT")
PASSING = ("SUCCESS",)
NOT_RUN = ("ABORTED", "SKIPPED", "CANCELED", "DEQUEUED")
# A signature first seen in the store (any job) this many days before the
# store's newest build is new: a failure nobody has had time to look at.
NEW_DAYS = 21
# A job whose analysed builds span less than this is young: its trend has a
# point per day (a week's point would be most of its history), else per ISO week.
YOUNG_DAYS = 28
Granularity = Literal["day", "week"]


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
    first_in_store: datetime | None = None  # its first occurrence in any job
    new: bool = False  # first_in_store within NEW_DAYS of the store's newest build


@dataclass
class JobAnalysis:
    job: str
    since: datetime | None
    until: datetime | None
    pass_rate: PassRate
    weekly: list[tuple[str, PassRate]]
    tests: list[TestStats]
    signatures: list[SignatureCluster]
    daily: list[tuple[str, PassRate]] = field(default_factory=list)
    as_of: datetime | None = None  # the store's newest build: "now" for newness and staleness

    @property
    def flaky_tests(self) -> list[TestStats]:
        return [test for test in self.tests if test.flips > 0]

    @property
    def top_flaky(self) -> list[TestStats]:
        """Flaky tests (passed and failed on one change and patchset) by the
        builds they affected: the counted builds in which each failed (a test
        has one result per build), then by flips."""
        return sorted(self.flaky_tests, key=lambda t: (-t.failures, -t.flips, t.test_id))

    @property
    def granularity(self) -> Granularity:
        """`day` while the analysed builds span less than YOUNG_DAYS, else `week`."""
        if self.since is None or self.until is None:
            return "week"
        young = as_utc(self.until) - as_utc(self.since) < timedelta(days=YOUNG_DAYS)
        return "day" if young else "week"

    @property
    def trend(self) -> list[tuple[str, PassRate]]:
        """The pass rate per day (YYYY-MM-DD) or per ISO week (YYYY-Www), by
        `granularity`: only periods with builds."""
        return self.daily if self.granularity == "day" else self.weekly


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


def as_utc(moment: datetime) -> datetime:
    """SQLite gives back naive times (UTC, as stored), PostgreSQL aware ones."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _week(moment: datetime | None) -> str:
    if moment is None:
        return "unknown"
    year, week, _day = as_utc(moment).isocalendar()
    return f"{year}-W{week:02d}"


def _day(moment: datetime | None) -> str:
    return "unknown" if moment is None else as_utc(moment).date().isoformat()


def trend_title(analysis: JobAnalysis) -> str:
    """Which points a trend has, and why: daily while the job is young."""
    if analysis.granularity == "day":
        return f"pass rate by day (young: its builds span under {YOUNG_DAYS} days)"
    return "pass rate by ISO week"


def jobs(session: Session) -> list[str]:
    return list(session.scalars(select(Job.name).order_by(Job.name)))


def store_clock(session: Session) -> datetime | None:
    """The store's newest build (any job): "now" as far as the evidence goes.
    Newness and staleness are judged against it, not the wall clock, so a
    copy of the store gives the same report and decision on any day, and a
    stalled ingest does not make every job stale at once."""
    return session.scalar(select(func.max(Build.start_time)))


def analyse_job(
    session: Session,
    job: str,
    window: timedelta | None = None,
    now: datetime | None = None,
    infrastructure: Iterable[str] = DEFAULT_INFRASTRUCTURE,
    as_of: datetime | None = None,
) -> JobAnalysis:
    """`window`: the builds started that long before `now` (default: the
    job's newest build). `as_of`: the moment signatures are new against
    (default: the store's newest build, `store_clock`)."""
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
    by_day: dict[str, list[str | None]] = defaultdict(list)
    for build in builds:
        by_week[_week(build.start_time)].append(build.result)
        by_day[_day(build.start_time)].append(build.result)
    weekly = [
        (week, _classify(results, infrastructure)) for week, results in sorted(by_week.items())
    ]
    daily = [(day, _classify(results, infrastructure)) for day, results in sorted(by_day.items())]

    counted = (
        select(Build.id)
        .join(Job)
        .where(Job.name == job, or_(Build.result.is_(None), Build.result.not_in(infrastructure)))
    )
    if since is not None:
        counted = counted.where(Build.start_time >= since)
    tests = _test_stats(session, counted)
    clusters = _signature_clusters(session, counted)
    as_of = as_of or store_clock(session)
    _mark_new(session, clusters, as_of)
    return JobAnalysis(
        job=job,
        since=min(times) if times else since,
        until=max(times) if times else None,
        pass_rate=rate,
        weekly=weekly,
        tests=tests,
        signatures=clusters,
        daily=daily,
        as_of=as_of,
    )


def _mark_new(session: Session, clusters: list[SignatureCluster], as_of: datetime | None) -> None:
    """Each cluster's first occurrence in the whole store, in one aggregate
    query over the clusters' signatures (ix_test_results_signature_id), and
    whether that is within NEW_DAYS of `as_of`."""
    if not clusters:
        return
    first = dict(
        session.execute(
            select(FailureSignature.digest, func.min(Build.start_time))
            .join(TestResult, TestResult.signature_id == FailureSignature.id)
            .join(Build, TestResult.build_id == Build.id)
            .where(FailureSignature.digest.in_([c.digest for c in clusters]))
            .group_by(FailureSignature.digest)
        )
        .tuples()
        .all()
    )
    for cluster in clusters:
        seen = first.get(cluster.digest)
        cluster.first_in_store = seen
        cluster.new = (
            seen is not None
            and as_of is not None
            and as_utc(seen) >= as_utc(as_of) - timedelta(days=NEW_DAYS)
        )


RAN = ("success", "fail", "uxsuccess")  # results that say something about the driver


def _ran(counted: Select[tuple[int]]) -> list[ColumnElement[bool]]:
    """Results of counted builds that ran and were not infrastructure failures."""
    return [
        TestResult.build_id.in_(counted.scalar_subquery()),
        TestResult.status.in_(RAN),
        TestResult.infrastructure.is_(False),
    ]


def _test_stats(session: Session, counted: Select[tuple[int]]) -> list[TestStats]:
    """Runs, failures and flips per test, aggregated in the database: a
    history of 5,000 builds x 1,500 tests is 7.5 million rows."""
    failed = func.sum(case((TestResult.status != "success", 1), else_=0))
    totals = session.execute(
        select(TestResult.test_id, func.count(), failed)
        .where(*_ran(counted))
        .group_by(TestResult.test_id)
    ).all()
    failing = [test for test, _runs, failures in totals if failures]
    flips: dict[int, int] = {}
    # Only a test that failed can flip, and only on a (change, patchset) that
    # ran more than once: reading just those builds' results keeps this off
    # the full history (on PostgreSQL it read every failing test's results
    # in every build: 7 of the report's 20 s at 5,000 builds).
    rechecked = (
        select(Build.change, Build.patchset)
        .where(Build.id.in_(counted.scalar_subquery()), Build.change.is_not(None))
        .group_by(Build.change, Build.patchset)
        .having(func.count() > 1)
    )
    rerun = select(Build.id).where(
        Build.id.in_(counted.scalar_subquery()),
        tuple_(Build.change, Build.patchset).in_(rechecked),
    )
    for start in range(0, len(failing), 1000):
        passed_and_failed = (
            select(TestResult.test_id)
            .join(Build, TestResult.build_id == Build.id)
            .where(
                *_ran(counted),
                TestResult.build_id.in_(rerun.scalar_subquery()),
                TestResult.test_id.in_(failing[start : start + 1000]),
            )
            .group_by(TestResult.test_id, Build.change, Build.patchset)
            .having(func.count(func.distinct(TestResult.status)) > 1)
            .having(func.sum(case((TestResult.status == "success", 1), else_=0)) > 0)
            .subquery()
        )
        flips.update(
            session.execute(
                select(passed_and_failed.c.test_id, func.count()).group_by(
                    passed_and_failed.c.test_id
                )
            )
            .tuples()
            .all()
        )
    names = dict(session.execute(select(Test.id, Test.test_id)).tuples().all())
    tests = [
        TestStats(names[test], runs, int(failures or 0), flips.get(test, 0))
        for test, runs, failures in totals
    ]
    tests.sort(key=lambda t: (-t.flips, -t.failure_rate, t.test_id))
    return tests


def _failed_results(session: Session, counted: Select[tuple[int]]) -> list[ColumnElement[bool]]:
    """`_ran`, for a query that joins results to their signatures. SQLite
    led that plan with the IN on test_results.build_id and walked every
    counted build's results (6 million at 5,000 builds, 2-3 s of the
    report): for it, the IN is on signature_id (its index: the few failed
    results) and `build_id + 0` keeps the build_id index out of its choice.
    PostgreSQL plans `_ran` well and keeps it: the SQLite form made its
    report 111 s instead of 6.9 s on bench/report_history's fresh store."""
    if session.get_bind().dialect.name != "sqlite":
        return _ran(counted)
    return [
        TestResult.signature_id.in_(select(FailureSignature.id).scalar_subquery()),
        (TestResult.build_id + 0).in_(counted.scalar_subquery()),
        TestResult.status.in_(RAN),
        TestResult.infrastructure.is_(False),
    ]


def _signature_clusters(
    session: Session, counted: Select[tuple[int]], top: int = 50
) -> list[SignatureCluster]:
    rows = session.execute(
        select(
            FailureSignature.id,
            FailureSignature.digest,
            FailureSignature.normalized,
            func.count(),
            func.min(Build.start_time),
            func.max(Build.start_time),
        )
        .join(TestResult, TestResult.signature_id == FailureSignature.id)
        .join(Build, TestResult.build_id == Build.id)
        .where(*_failed_results(session, counted))
        .group_by(FailureSignature.id, FailureSignature.digest, FailureSignature.normalized)
        .order_by(func.count().desc())
        .limit(top)
    ).all()
    clusters = []
    for ident, digest, normalized, count, first, last in rows:
        cluster = SignatureCluster(digest, normalized, count, first, last)
        examples = session.execute(
            select(Test.test_id, Build.uuid)
            .join(TestResult, TestResult.test_id == Test.id)
            .join(Build, TestResult.build_id == Build.id)
            .where(TestResult.signature_id == ident, *_ran(counted))
            .order_by(Build.start_time.desc())
            .limit(20)
        ).all()
        for test_id, uuid in examples:
            if test_id not in cluster.tests:
                cluster.tests.append(test_id)
            if uuid not in cluster.example_builds and len(cluster.example_builds) < 3:
                cluster.example_builds.append(uuid)
        clusters.append(cluster)
    return clusters
