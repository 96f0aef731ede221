"""`container-ci tempest`: the plugin's tests against a cloud, results recorded."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from container_ci.commands import options as opts
from container_ci.commands.cloud import add_nova_source_option, nova_source


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "tempest",
        help="run the Tempest plugin's tests against a cloud (a devstack), results recorded",
        description="Run the plugin's compute or container-service tests with `tempest run` "
        "in a tempest workspace under the data dir, against the cloud named by --cloud "
        "(clouds.yaml; a tempest.conf is written from it) or by --tempest-conf (a devstack's "
        "own tempest.conf; the plugin's settings are added); with neither, against the local "
        "cloud (`container-ci cloud up` first, then its entry container-ci-local). The "
        "driver's row of the capability matrix decides the skips. Subunit goes to "
        "OUTPUT/tempest.subunit and into the stability store.",
    )
    parser.add_argument(
        "--suite",
        choices=("compute", "container-service", "upstream-compute", "full-compute"),
        default="compute",
        help="the plugin's compute or container-service tests, upstream Tempest's "
        "tempest.api.compute tests (minus the generated exclude list), or full-compute: "
        "the plugin's compute tests and upstream's in one run (default: compute)",
    )
    parser.add_argument(
        "--tempest-conf",
        type=Path,
        metavar="FILE",
        help="an existing tempest.conf, e.g. a devstack's (default: $TEMPEST_CONF)",
    )
    parser.add_argument("--regex", default="", help="tests to run (default: the suite's)")
    parser.add_argument(
        "--exclude-list",
        type=Path,
        metavar="FILE",
        help="tests not to run, a regex per line (tempest run --exclude-list)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=0,
        metavar="N",
        help="test workers (default: 2 with dynamic credentials, else 1)",
    )
    parser.add_argument("--workspace", type=Path, help="default: DATA_DIR/tempest/SUITE-DRIVER")
    parser.add_argument("--output", type=Path, default=Path("results/tempest"), metavar="DIR")
    parser.add_argument(
        "--job",
        default="",
        help="job name in the store (default: tempest-DRIVER, tempest-upstream-DRIVER, "
        "tempest-full-compute-DRIVER or tempest-container-service, by suite)",
    )
    parser.add_argument("--db", metavar="URL", help="stability store (default: as `run`)")
    parser.add_argument("--no-record", action="store_true")
    add_nova_source_option(parser)
    opts.add_cloud_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from container_ci import tempest_run
    from container_ci.errors import BadInput

    if not args.compute_driver:
        raise BadInput("container-ci tempest needs --compute-driver (the matrix row to apply)")
    tempest_conf = args.tempest_conf or (
        Path(os.environ["TEMPEST_CONF"]) if os.environ.get("TEMPEST_CONF") else None
    )
    run = tempest_run.TempestRun(
        suite=args.suite,
        compute_driver=args.compute_driver,
        workspace=args.workspace or tempest_run.default_workspace(args.suite, args.compute_driver),
        output=args.output,
        cloud=opts.cloud_options(args),
        tempest_conf=tempest_conf,
        regex=args.regex,
        exclude_list=args.exclude_list,
        concurrency=args.concurrency,
        local_cloud=not args.cloud and tempest_conf is None,
        nova_source=nova_source(args),
    )
    return tempest_run.run_tempest(run, record=not args.no_record, db_url=args.db, job=args.job)
