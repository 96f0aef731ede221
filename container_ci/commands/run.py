"""`container-ci run`: every scenario on every target, results written and
recorded in the stability store."""

from __future__ import annotations

import argparse
from pathlib import Path

from container_ci.commands import EXIT_CODES
from container_ci.commands import options as opts
from container_ci.targets.registry import LOCAL_TARGETS, TARGETS


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run scenarios against targets",
        description="Run every scenario on every target (scenario x target pairs in "
        "parallel). Writes results.subunit, results.xml and summary.json to --output.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXIT_CODES,
    )
    parser.add_argument(
        "--target",
        action="append",
        choices=TARGETS,
        help="run on this target (repeatable; default: every local target). The cloud "
        "targets (nova, container-service) need --cloud",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        metavar="FILE|NAME",
        help="a scenario file, or the name of a shipped scenario such as lifecycle "
        "(repeatable; default: every shipped scenario)",
    )
    parser.add_argument(
        "--concurrency",
        type=opts.positive_int,
        default=2,
        metavar="N",
        help="scenario x target pairs run at once (default: 2)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=Path("results"),
        metavar="DIR",
        help="where results are written (default: ./results)",
    )
    parser.add_argument(
        "--capabilities",
        type=Path,
        metavar="FILE",
        help="capability matrix (default: the one shipped with container-ci)",
    )
    parser.add_argument(
        "--run-id",
        type=opts.run_id,
        help="label resources with this run id (default: random); lets a caller sweep them",
    )
    parser.add_argument(
        "--plain",
        action="store_true",
        help="plain progress lines even on a terminal (the default when not a TTY)",
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        help="stability store to record the run in (default: $CONTAINER_CI_DB or SQLite "
        "in the data dir)",
    )
    parser.add_argument(
        "--job",
        default="",
        help="job name the run is recorded under (default: container-ci-local for the local "
        "targets; with a cloud target, container-ci-TARGET[-DRIVER], e.g. "
        "container-ci-nova-docker, so each compute driver has its own history)",
    )
    parser.add_argument(
        "--no-record", action="store_true", help="do not record the run in the store"
    )
    opts.add_cloud_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from container_ci import naming
    from container_ci.runner.session import run_session
    from container_ci.scenarios import catalogue

    if args.scenario:
        scenarios = [catalogue.scenario_file(reference) for reference in args.scenario]
    else:
        scenarios = catalogue.shipped_scenarios()
    targets = args.target or list(LOCAL_TARGETS)
    return run_session(
        targets=targets,
        scenario_files=scenarios,
        capabilities=args.capabilities or catalogue.default_matrix(),
        concurrency=args.concurrency,
        output=args.output,
        run_id=args.run_id or naming.new_run_id(),
        plain=args.plain,
        record=not args.no_record,
        db_url=args.db,
        job=args.job or default_job(targets, args.compute_driver),
        cloud=opts.cloud_options(args),
    )


def default_job(targets: list[str], compute_driver: str) -> str:
    """One history per kind of run: the local targets', and each cloud
    target's per compute driver (the driver last, as the report's driver
    comparison reads it). A driver left for the cloud to say is not in the
    name: name it with --compute-driver."""
    cloud_targets = sorted({name for name in targets if name not in LOCAL_TARGETS})
    if not cloud_targets:
        return "container-ci-local"
    driver = [compute_driver] if compute_driver and "nova" in cloud_targets else []
    return "-".join(["container-ci", *cloud_targets, *driver])
