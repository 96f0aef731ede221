"""`container-ci stability ...`: ingest, decide, report.

Exit codes: ingest 0 all read (new or already stored), 2 bad input (nothing
from that input stored). decide: 0 nothing to do (every job HOLDs), 10 a
decision is due (a PROMOTE or DEMOTE), 2 bad input."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from container_ci.errors import BadInput
from container_ci.stability.analysis import DEFAULT_INFRASTRUCTURE, analyse_job, jobs
from container_ci.stability.ingest.model import ParsedBuild
from container_ci.stability.ingest.sources import read_path
from container_ci.stability.ingest.writer import record_build
from container_ci.stability.ingest.zuul_api import ZuulClient, read_zuul_builds
from container_ci.stability.policy import decide, load_policy
from container_ci.stability.report import build_grid, write_reports
from container_ci.stability.store import Store

DECISION_DUE = 10


def ingest(
    db: str | None, sources: Sequence[Path], job: str | None, overrides: dict[str, object]
) -> int:
    store = Store(db)
    exit_code = 0
    try:
        for source in sources:
            try:
                builds = read_path(source, job)
            except BadInput as exc:
                print(f"container-ci: {exc}", file=sys.stderr)
                exit_code = 2
                continue
            for build in builds:
                _apply(build, overrides)
                new = record_build(store, build)
                what = "stored" if new else "already in the store, unchanged"
                print(
                    f"{source}: build {build.uuid[:40]} ({build.job}, "
                    f"{len(build.results)} results): {what}"
                )
    finally:
        store.close()
    return exit_code


def ingest_zuul(
    db: str | None,
    client: ZuulClient,
    filters: dict[str, object],
    max_builds: int | None,
    subunit_path: str | None,
) -> int:
    """Builds from a Zuul API; 2 if an artifact was truncated or the API said no."""
    problems: list[str] = []

    def on_problem(message: str) -> None:
        problems.append(message)
        print(f"container-ci: {message}; build not stored", file=sys.stderr)

    store = Store(db)
    stored = unchanged = 0
    try:
        for build in read_zuul_builds(client, filters, max_builds, subunit_path, on_problem):
            if record_build(store, build):
                stored += 1
            else:
                unchanged += 1
    finally:
        store.close()
    print(
        f"{client.api}/tenant/{client.tenant}/builds: {stored} build(s) stored, "
        f"{unchanged} already in the store, {len(problems)} not stored"
    )
    return 2 if problems else 0


def _apply(build: ParsedBuild, overrides: dict[str, object]) -> None:
    for key, value in overrides.items():
        if value is not None:
            setattr(build, key, value)


def run_decide(
    db: str | None,
    policy_path: Path,
    only: str | None,
    as_json: bool,
    apply_to: Path | None = None,
) -> int:
    policy = load_policy(policy_path)
    selected = {only: policy.jobs.get(only)} if only else dict(policy.jobs)
    missing = [job for job, stage in selected.items() if stage is None]
    if missing:
        raise BadInput(f"{policy_path}: job {missing[0]!r} has no stage under `jobs:`")
    store = Store(db)
    decisions = []
    try:
        with store.session() as session:
            for job, stage in selected.items():
                analysis = analyse_job(
                    session,
                    job,
                    policy.window(stage),
                    infrastructure=policy.infrastructure_results or DEFAULT_INFRASTRUCTURE,
                )
                decisions.append(decide(policy, job, stage, analysis))
    finally:
        store.close()
    if as_json:
        print(json.dumps([d.__dict__ for d in decisions], indent=2, default=str))
    else:
        for d in decisions:
            move = f" -> {d.target_stage}" if d.target_stage else ""
            print(f"{d.verdict} {d.job} ({d.stage}{move})")
            for reason in d.reasons:
                print(f"  because: {reason}")
            e = d.evidence
            print(
                f"  evidence: {e['runs']} runs in {e['window'][0]} .. {e['window'][1]}, "
                f"pass rate {e['pass_rate']:.3f}, 95% interval {e['interval_95']}, "
                f"{e['infrastructure']} infrastructure failure(s) set aside"
            )
            for test in e["failing_tests"][:5]:
                print(f"  failing: {test['test']} {test['failures']}/{test['runs']}")
            for flaky in e["flaky_tests"][:5]:
                print(f"  flaky: {flaky['test']} ({flaky['flips']} flip(s))")
            for signature in e["unclassified_signatures"][:5]:
                print(
                    f"  signature {signature['digest']} x{signature['count']}: "
                    f"{signature['text'][:100]}"
                )
    due = [d for d in decisions if d.verdict in ("PROMOTE", "DEMOTE")]
    if apply_to is not None:
        from container_ci.zuul.promotion import apply_decision

        for d in due:
            try:
                moved = apply_decision(apply_to, policy_path, d.job, d.stage, d.target_stage)
            except BadInput as exc:
                print(f"not applied: {exc}", file=sys.stderr)
                continue
            print(
                f"applied: {d.job} {d.stage} -> {d.target_stage} "
                f"({moved.path}: {moved.from_pipeline} -> {moved.to_pipeline})"
            )
    return DECISION_DUE if due else 0


def run_report(db: str | None, only: str | None, output: Path) -> int:
    store = Store(db)
    try:
        with store.session() as session:
            names = [only] if only else jobs(session)
            if only and only not in jobs(session):
                raise BadInput(f"job {only!r} is not in the store {store.safe_url}")
            analyses = [(analyse_job(session, name), build_grid(session, name)) for name in names]
    finally:
        store.close()
    written = write_reports(output, analyses, store.safe_url)
    for analysis, grid in analyses:
        rate = analysis.pass_rate
        low, high = rate.interval
        print(
            f"{analysis.job}: {len(grid['builds'])} build(s) shown, {rate.runs} counted, "
            f"pass rate {rate.rate:.1%} ({low:.1%} - {high:.1%}), "
            f"{len(analysis.flaky_tests)} flaky test(s), {len(analysis.signatures)} signature(s)"
        )
    print(f"report: {written['html']}, {written['markdown']}, {written['json']}")
    return 0
