"""`container-ci stability ingest | ingest-zuul | decide | report`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from container_ci.commands import options as opts
from container_ci.stability.ingest.model import DEFAULT_SUBUNIT_PATH

if TYPE_CHECKING:
    from container_ci.stability.policy import Decision, Policy
    from container_ci.stability.store import Store

STABILITY_EXIT_CODES = """exit codes:
  0    done (decide: nothing to do)
  2    bad input: a malformed or truncated file, policy or option; nothing stored from it
  3    the store cannot be reached
  10   decide: a decision is due (a job should be promoted or demoted)"""
DECISION_DUE = 10

# Where `ingest-zuul --subunit` with no PATH looks under a build's log_url,
# in order: the first found is read.
SUBUNIT_PATHS = (
    DEFAULT_SUBUNIT_PATH,  # upstream's devstack and tox jobs (fetch-subunit-output)
    "container-ci/results.subunit",  # container-ci-scenarios (collect-scenario-results.yaml)
    "container-ci/tempest.subunit",  # the tempest jobs (collect-*tempest-results.yaml)
)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "stability",
        help="the stability store: ingest results, decide promotions, write reports",
        description="Stability tracking. The store is SQLite in the data dir unless --db or "
        "$CONTAINER_CI_DB names another (e.g. postgresql://user@host/db).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=STABILITY_EXIT_CODES,
    )
    parser.add_argument("--db", metavar="URL", help="SQLAlchemy URL of the store")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    _add_ingest(actions)
    _add_ingest_zuul(actions)
    _add_decide(actions)
    report = actions.add_parser(
        "report",
        help="HTML, Markdown and JSON stability reports",
        description="Per job: pass rate and its interval, trend (a point per day while the "
        "job's builds span under 28 days, per ISO week after), recent builds x tests, top "
        "flaky tests by builds affected, failing tests, failure signatures (new ones: first "
        "seen in the store within 21 days of its newest build). Without --job, first the "
        "compute drivers "
        "side by side: the tests run on two of the capability matrix's compute drivers or "
        "more, each driver's latest outcome, and the tests whose outcomes differ (a job's "
        "driver is the one its name says: tempest-upstream-docker, nova-lxc-tempest-local); "
        "also in OUTPUT/drivers.json.",
    )
    report.add_argument("--job", help="only this job (no driver comparison)")
    report.add_argument(
        "--policy",
        type=Path,
        help="the promotion policy whose verdicts the report shows (default: jobs/promotion.yaml "
        "of the repository, when run in its checkout; else no verdicts)",
    )
    opts.add_repository_option(report, "jobs/promotion.yaml gives the verdicts")
    report.add_argument("--output", type=Path, default=Path("reports"), metavar="DIR")
    report.set_defaults(run=run_report)


def _add_ingest(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ingest = actions.add_parser(
        "ingest",
        help="store builds from result files (idempotent, one transaction per build)",
        description="Read container-ci output dirs, subunit v2 files (.gz too), stestr "
        "repositories and JUnit XML files. A build already in the store is left as it is; "
        "a malformed or truncated input stores nothing and exits 2.",
    )
    ingest.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    ingest.add_argument("--job", help="job name (default: from the source, else its kind)")
    ingest.add_argument("--pipeline")
    ingest.add_argument("--project")
    ingest.add_argument("--change", type=int)
    ingest.add_argument("--patchset")
    ingest.add_argument("--branch")
    ingest.set_defaults(run=run_ingest)


def _add_ingest_zuul(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    zuul = actions.add_parser(
        "ingest-zuul",
        help="store builds from a Zuul builds API (with their subunit artifacts)",
        description="Page through /api/tenant/<tenant>/builds (skip/limit), retrying 5xx "
        "and connection errors with back-off. Non-final (retried) and running builds are "
        "skipped; a build already stored is left as it is.",
    )
    zuul.add_argument("--url", required=True, help="Zuul web root, e.g. https://zuul.opendev.org")
    zuul.add_argument("--tenant", required=True)
    zuul.add_argument("--job", dest="job_name", help="job_name filter")
    zuul.add_argument("--pipeline")
    zuul.add_argument("--project")
    zuul.add_argument("--branch")
    zuul.add_argument("--result")
    zuul.add_argument("--max-builds", type=opts.positive_int, default=500)
    zuul.add_argument(
        "--subunit",
        metavar="PATH",
        nargs="?",
        const=SUBUNIT_PATHS,
        help="also fetch each build's subunit artifact at <log_url>/PATH (no PATH: the "
        f"first found of {', '.join(SUBUNIT_PATHS)}: upstream's, container-ci-scenarios', "
        "the tempest jobs')",
    )
    zuul.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    zuul.add_argument("--retries", type=int, default=4, help="retries on 5xx/connection errors")
    zuul.set_defaults(run=run_ingest_zuul)


def _add_decide(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    decide = actions.add_parser(
        "decide",
        help="PROMOTE / HOLD / DEMOTE per job, with the evidence",
        description="Apply the promotion policy to each job's history. A job with no build "
        "for the policy's stale_after_days (before the store's newest build) is held as "
        "STALE; a classified signature past its expiry counts as unclassified again. Exit 0: "
        "nothing to do; 10: a decision is due (a PROMOTE or a DEMOTE).",
    )
    decide.add_argument("--job", help="only this job")
    decide.add_argument(
        "--policy", type=Path, help="the promotion policy (default: jobs/promotion.yaml)"
    )
    decide.add_argument("--json", action="store_true", help="machine-readable output")
    decide.add_argument(
        "--apply",
        action="store_true",
        help="write each due decision as a change: `zuul move` of the job in zuul.d, its "
        "new stage in the policy's jobs:, and the evidence in reports/<job>.md beside zuul.d "
        "(for review; gate changes are left to a person, with the evidence written)",
    )
    decide.add_argument("--zuul-dir", type=Path, metavar="DIR", help="default: zuul.d")
    opts.add_repository_option(decide, "jobs/promotion.yaml and zuul.d/ are used")
    decide.set_defaults(run=run_decide)


def run_ingest(args: argparse.Namespace) -> int:
    from container_ci.errors import BadInput
    from container_ci.stability.ingest.sources import BuildFields, ingest_path
    from container_ci.stability.store import Store

    given = BuildFields(args.pipeline, args.project, args.change, args.patchset, args.branch)
    exit_code = 0
    with Store(args.db) as store:
        for path in args.paths:
            try:
                for ingested in ingest_path(store, path, args.job, given):
                    print(f"{path}: {ingested}")
            except BadInput as exc:
                print(f"container-ci: {exc}", file=sys.stderr)
                exit_code = 2
    return exit_code


def run_ingest_zuul(args: argparse.Namespace) -> int:
    """Builds from a Zuul API; 2 if an artifact was truncated or the API said no."""
    from container_ci.stability.ingest.writer import record_build
    from container_ci.stability.ingest.zuul_api import ZuulClient, read_zuul_builds
    from container_ci.stability.store import Store

    client = ZuulClient(args.url, args.tenant, timeout=args.timeout, retries=args.retries)
    filters = {
        "job_name": args.job_name,
        "pipeline": args.pipeline,
        "project": args.project,
        "branch": args.branch,
        "result": args.result,
    }
    problems: list[str] = []

    def on_problem(message: str) -> None:
        problems.append(message)
        print(f"container-ci: {message}; build not stored", file=sys.stderr)

    stored = unchanged = 0
    with Store(args.db) as store:
        for build in read_zuul_builds(client, filters, args.max_builds, args.subunit, on_problem):
            if record_build(store, build):
                stored += 1
            else:
                unchanged += 1
    print(
        f"{client.api}/tenant/{client.tenant}/builds: {stored} build(s) stored, "
        f"{unchanged} already in the store, {len(problems)} not stored"
    )
    return 2 if problems else 0


def run_decide(args: argparse.Namespace) -> int:
    from container_ci.stability.policy import decide_jobs, load_policy
    from container_ci.stability.store import Store

    policy_path: Path = args.policy or opts.repository(args).promotion_policy
    policy = load_policy(policy_path)
    for digest, entry in sorted(policy.expired().items()):
        print(
            f"container-ci: {policy_path}:{entry.line}: classified_signatures.{digest}: "
            f"expired on {entry.expires} ({entry.describe()}); counted as unclassified again",
            file=sys.stderr,
        )
    with Store(args.db) as store:
        decisions = decide_jobs(store, policy, args.job)
        if args.json:
            import json
            from dataclasses import asdict

            print(json.dumps([asdict(d) for d in decisions], indent=2, default=str))
        else:
            for decision in decisions:
                _print_decision(decision)
        due = [d for d in decisions if d.is_due]
        if args.apply:
            _apply(due, args.zuul_dir or opts.repository(args).zuul_dir, policy, store)
    return DECISION_DUE if due else 0


def _print_decision(decision: Decision) -> None:
    move = f" -> {decision.target_stage}" if decision.target_stage else ""
    print(f"{decision.verdict} {decision.job} ({decision.stage}{move})")
    for reason in decision.reasons:
        print(f"  because: {reason}")
    for line in decision.outlook:
        print(f"  outlook: {line}")
    e = decision.evidence
    print(
        f"  evidence: {e.runs} runs in {e.window[0]} .. {e.window[1]}, "
        f"pass rate {e.pass_rate:.3f}, 95% interval {list(e.interval_95)}, "
        f"{e.infrastructure} infrastructure failure(s) set aside"
    )
    for test in e.failing_tests[:5]:
        print(f"  failing: {test.test} {test.failures}/{test.runs}")
    for flaky in e.flaky_tests[:5]:
        print(f"  flaky: {flaky.test} ({flaky.flips} flip(s))")
    for signature in e.unclassified_signatures[:5]:
        print(
            f"  signature {signature.digest} x{signature.count} "
            f"({'NEW' if signature.new else 'known'}, first seen {signature.first_seen}): "
            f"{signature.text[:100]}"
        )


def _apply(due: list[Decision], zuul_dir: Path, policy: Policy, store: Store) -> None:
    """Each due decision as a `zuul move`, the policy's new stage and its
    evidence in reports/<job>.md of the same repository (the directory
    holding zuul.d); one a move cannot express (a gate change) is said and
    left to a person, its evidence written for that change."""
    from container_ci.errors import BadInput
    from container_ci.stability.evidence import write_evidence
    from container_ci.zuul.promotion import apply_decision

    root = zuul_dir.resolve().parent
    for decision in due:
        evidence = write_evidence(root, store, policy, decision)
        try:
            moved = apply_decision(zuul_dir, policy.path, decision)
        except BadInput as exc:
            print(f"not applied: {exc}; evidence in {evidence}", file=sys.stderr)
            continue
        print(
            f"applied: {decision.job} {decision.stage} -> {decision.target_stage} "
            f"({moved.path}: {moved.from_pipeline} -> {moved.to_pipeline}; evidence {evidence})"
        )


def _report_policy(args: argparse.Namespace) -> Policy | None:
    """--policy, else the repository's when the report is made in its
    checkout; a report made elsewhere has no verdicts, and says so."""
    from container_ci.errors import BadInput
    from container_ci.stability.policy import load_policy

    if args.policy:
        return load_policy(args.policy)
    try:
        path = opts.repository(args).promotion_policy
    except BadInput:
        path = None
    if path is None or not path.is_file():
        print("report: no promotion policy (--policy, or run in the repository): no verdicts")
        return None
    return load_policy(path)


def run_report(args: argparse.Namespace) -> int:
    from container_ci.scenarios import catalogue, loader
    from container_ci.stability.policy import decide_jobs
    from container_ci.stability.report import (
        driver_comparison,
        job_reports,
        operations_by_driver,
        write_reports,
    )
    from container_ci.stability.store import Store

    matrix = loader.load_capabilities(catalogue.default_matrix())
    compute_drivers = matrix.compute_drivers()
    policy = _report_policy(args)
    with Store(args.db) as store:
        reports = job_reports(store, args.job)
        # One job's report compares nothing; the whole store's sets the same
        # tests on each compute driver side by side.
        comparison = None if args.job else driver_comparison(store, compute_drivers)
        operations = None if args.job else operations_by_driver(store, matrix)
        decisions = (
            {d.job: d for d in decide_jobs(store, policy) if not args.job or d.job == args.job}
            if policy
            else {}
        )
    written = write_reports(args.output, reports, store.safe_url, comparison, decisions, operations)
    if comparison is not None and len(comparison.drivers) > 1:
        totals = comparison.totals()
        print(
            "drivers side by side: "
            + "; ".join(
                f"{driver} {totals[driver]['tests']} test(s): {totals[driver]['pass']} passed, "
                f"{totals[driver]['skip']} skipped, {totals[driver]['fail']} failed"
                for driver in comparison.drivers
            )
            + f"; {len(comparison.differing())} differ ({written['drivers']})"
        )
    for analysis, grid in reports:
        rate = analysis.pass_rate
        low, high = rate.interval
        print(
            f"{analysis.job}: {len(grid['builds'])} build(s) shown, {rate.runs} counted, "
            f"pass rate {rate.rate:.1%} ({low:.1%} - {high:.1%}), "
            f"{len(analysis.flaky_tests)} flaky test(s), {len(analysis.signatures)} signature(s)"
        )
    print("report: " + ", ".join(str(path) for path in written.values()))
    return 0
