"""The `container-ci` command: setup, run, sweep.

Exit codes (run): 0 every supported step passed; 1 a supported step failed;
2 bad input (malformed scenario or matrix, bad option); 3 only infrastructure
errors or unavailable targets; 130/143 interrupted by SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from container_ci import __version__, naming, paths
from container_ci.errors import BadInput, ContainerCIError
from container_ci.stability.ingest.model import DEFAULT_SUBUNIT_PATH
from container_ci.targets.registry import LOCAL_TARGETS, TARGETS

EXIT_CODES = """exit codes:
  0    every supported step passed (declared capability gaps are skips)
  1    a supported step failed
  2    bad input: a malformed scenario, matrix or option (file:line: message)
  3    infrastructure: a target unavailable or a backend broke, nothing failed
  130  interrupted by SIGINT (143: SIGTERM); cleanup ran before exiting"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="container-ci",
        description="Drive container compute backends (Docker, libvirt LXC) through "
        "end-to-end scenarios, with results in subunit v2, JUnit XML and JSON.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXIT_CODES,
    )
    parser.add_argument("--version", action="version", version=f"container-ci {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    setup = commands.add_parser(
        "setup",
        help="install packages, start dockerd/libvirtd, build base images (idempotent)",
        description="Install missing Debian packages, start dockerd and libvirtd when they "
        "do not answer (no systemd needed), and build the cci-guest base images. Safe to "
        "repeat: a second run changes nothing and says so. Exits 1 if a backend cannot be "
        "brought up, with one line saying why.",
    )
    setup.add_argument(
        "--target",
        action="append",
        choices=LOCAL_TARGETS,
        help="set up only this backend (repeatable; default: all)",
    )

    run = commands.add_parser(
        "run",
        help="run scenarios against targets",
        description="Run every scenario on every target (scenario x target pairs in "
        "parallel). Writes results.subunit, results.xml and summary.json to --output.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXIT_CODES,
    )
    run.add_argument(
        "--target",
        action="append",
        choices=TARGETS,
        help="run on this target (repeatable; default: every local target). The cloud "
        "targets (nova, container-service) need --cloud",
    )
    run.add_argument(
        "--scenario",
        action="append",
        type=Path,
        metavar="FILE",
        help="scenario file to run (repeatable; default: every scenarios/*.yaml)",
    )
    run.add_argument(
        "--concurrency",
        type=_positive_int,
        default=2,
        metavar="N",
        help="scenario x target pairs run at once (default: 2)",
    )
    run.add_argument(
        "--output",
        type=Path,
        default=Path("results"),
        metavar="DIR",
        help="where results are written (default: ./results)",
    )
    run.add_argument(
        "--capabilities",
        type=Path,
        metavar="FILE",
        help="capability matrix (default: scenarios/capabilities.yaml)",
    )
    run.add_argument(
        "--run-id",
        type=_run_id,
        help="label resources with this run id (default: random); lets a caller sweep them",
    )
    run.add_argument(
        "--plain",
        action="store_true",
        help="plain progress lines even on a terminal (the default when not a TTY)",
    )

    run.add_argument(
        "--db",
        metavar="URL",
        help="stability store to record the run in (default: $CONTAINER_CI_DB or SQLite "
        "in the data dir)",
    )
    run.add_argument(
        "--job", default="container-ci-local", help="job name the run is recorded under"
    )
    run.add_argument("--no-record", action="store_true", help="do not record the run in the store")
    _add_cloud_options(run)

    stability = commands.add_parser(
        "stability",
        help="the stability store: ingest results, decide promotions, write reports",
        description="Stability tracking. The store is SQLite in the data dir unless --db or "
        "$CONTAINER_CI_DB names another (e.g. postgresql://user@host/db).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=STABILITY_EXIT_CODES,
    )
    stability.add_argument("--db", metavar="URL", help="SQLAlchemy URL of the store")
    actions = stability.add_subparsers(dest="action", required=True, metavar="ACTION")
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
    zuul.add_argument("--max-builds", type=_positive_int, default=500)
    zuul.add_argument(
        "--subunit",
        metavar="PATH",
        nargs="?",
        const=DEFAULT_SUBUNIT_PATH,
        help="also fetch each build's subunit artifact at <log_url>/PATH "
        "(default PATH: testrepository.subunit.gz)",
    )
    zuul.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    zuul.add_argument("--retries", type=int, default=4, help="retries on 5xx/connection errors")
    decide_parser = actions.add_parser(
        "decide",
        help="PROMOTE / HOLD / DEMOTE per job, with the evidence",
        description="Apply the promotion policy to each job's history. Exit 0: nothing "
        "to do; 10: a decision is due (a PROMOTE or a DEMOTE).",
    )
    decide_parser.add_argument("--job", help="only this job")
    decide_parser.add_argument(
        "--policy", type=Path, default=paths.repo_root() / "jobs" / "promotion.yaml"
    )
    decide_parser.add_argument("--json", action="store_true", help="machine-readable output")
    decide_parser.add_argument(
        "--apply",
        action="store_true",
        help="write each due decision as a change: `zuul move` of the job in zuul.d and its "
        "new stage in the policy's jobs: (for review; gate changes are left to a person)",
    )
    decide_parser.add_argument("--zuul-dir", type=Path, metavar="DIR", help="default: zuul.d")
    report = actions.add_parser("report", help="HTML, Markdown and JSON stability reports")
    report.add_argument("--job", help="only this job")
    report.add_argument("--output", type=Path, default=Path("reports"), metavar="DIR")

    sweep = commands.add_parser(
        "sweep",
        help="remove containers, domains and snapshot images the harness left behind",
        description="Remove resources labelled as created by container-ci: by default those "
        "of runs whose process is gone (e.g. after SIGKILL); with --run-id those of one run; "
        "with --all everything, including resources of runs still in progress.",
    )
    sweep.add_argument("--target", action="append", choices=TARGETS)
    scope = sweep.add_mutually_exclusive_group()
    scope.add_argument("--run-id", type=_run_id, help="only resources of this run")
    scope.add_argument("--all", action="store_true", help="also resources of live runs")
    sweep.add_argument("--dry-run", action="store_true", help="list, remove nothing")
    _add_cloud_options(sweep)

    tempest = commands.add_parser(
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
    tempest.add_argument("--suite", choices=("compute", "container-service"), default="compute")
    tempest.add_argument(
        "--tempest-conf",
        type=Path,
        default=Path(os.environ["TEMPEST_CONF"]) if os.environ.get("TEMPEST_CONF") else None,
        metavar="FILE",
        help="an existing tempest.conf, e.g. a devstack's (default: $TEMPEST_CONF)",
    )
    tempest.add_argument("--regex", default="", help="tests to run (default: the suite's)")
    tempest.add_argument("--workspace", type=Path, help="default: DATA_DIR/tempest/SUITE-DRIVER")
    tempest.add_argument("--output", type=Path, default=Path("results/tempest"), metavar="DIR")
    tempest.add_argument(
        "--job", default="", help="job name in the store (default: tempest-DRIVER)"
    )
    tempest.add_argument("--db", metavar="URL", help="stability store (default: as `run`)")
    tempest.add_argument("--no-record", action="store_true")
    _add_cloud_options(tempest)

    zuul = commands.add_parser(
        "zuul",
        help="check and edit zuul.d/: Zuul's schema, references, playbooks, regexes, policy",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="The Zuul configuration is code: `check` validates it offline with Zuul's "
        "own schemas and this project's rules; `move` edits it in place keeping everything it "
        "does not change; `exclude-list` writes the tempest exclude lists from the matrix.",
    )
    zuul_actions = zuul.add_subparsers(dest="action", required=True, metavar="ACTION")
    zuul_check = zuul_actions.add_parser(
        "check",
        help="exit 1 with file:line: message for each problem",
        description="Check Zuul configuration files or zuul.d/ directories: each stanza against "
        "Zuul's own schema (the zuul package's configloader); every job, parent, template, "
        "nodeset and semaphore named is defined here or declared upstream; playbooks exist; "
        "for jobs running this project's Tempest plugin, test regexes and exclude-list "
        "entries match tests listed through stestr and the exclude list is the matrix's; no "
        "gate job is non-voting; each experimental job has a promotion policy entry.",
    )
    zuul_check.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    zuul_check.add_argument(
        "--upstream",
        type=Path,
        metavar="FILE",
        help="declared upstream names (default: jobs/upstream-names.yaml)",
    )
    zuul_check.add_argument(
        "--root",
        type=Path,
        metavar="DIR",
        help="where playbook paths start (default: the "
        "directory holding zuul.d/ or the checked file)",
    )
    zuul_check.add_argument(
        "--no-files",
        action="store_true",
        help="do not check playbook files (configuration checked as data, without its repository)",
    )
    zuul_check.add_argument(
        "--policy",
        type=Path,
        metavar="FILE",
        help="promotion policy whose `jobs:` must list "
        "every experimental job (default: jobs/promotion.yaml when checking this repo's zuul.d)",
    )
    zuul_move = zuul_actions.add_parser(
        "move",
        help="move a job to another pipeline, editing zuul.d in place (comments kept)",
    )
    zuul_move.add_argument("job")
    zuul_move.add_argument("--to", required=True, metavar="PIPELINE")
    zuul_move.add_argument("--voting", type=_boolean, metavar="true|false")
    zuul_move.add_argument("--zuul-dir", type=Path, metavar="DIR", help="default: zuul.d")
    zuul_exclude = zuul_actions.add_parser(
        "exclude-list", help="the tempest exclude list of a compute driver, from the matrix"
    )
    zuul_exclude.add_argument("--driver", required=True)
    zuul_exclude.add_argument(
        "--write", action="store_true", help="write jobs/exclude/DRIVER.txt instead of printing"
    )

    devstack = commands.add_parser(
        "devstack-config",
        help="print the local.conf of a tempest job, from its zuul.d variables",
        description="Print a devstack local.conf that reproduces the Zuul job of a driver "
        "(lxc: nova-lxc-tempest, docker: nova-docker-tempest, container-service: "
        "container-service-tempest), made from the job's devstack_* variables in zuul.d.",
    )
    devstack.add_argument("--driver", required=True, choices=("lxc", "docker", "container-service"))
    devstack.add_argument("--zuul-dir", type=Path, metavar="DIR", help="default: zuul.d")

    cloud = commands.add_parser(
        "cloud",
        help="a local cloud: real Keystone, Placement, Glance, Neutron, Nova on libvirt LXC",
        description="Run a real Nova (libvirt driver, virt_type lxc) with Keystone, "
        "Placement, Glance and Neutron from PyPI as plain processes on 127.0.0.1, with no "
        "devstack: `up` installs and starts it (idempotent) and writes the clouds.yaml entry "
        "container-ci-local; `down` deletes its servers and stops exactly the processes it "
        "started. State, logs and pid files: $CONTAINER_CI_CLOUD_DIR, default DATA_DIR/cloud.",
    )
    cloud_actions = cloud.add_subparsers(dest="action", required=True, metavar="ACTION")
    cloud_actions.add_parser(
        "up", help="install what is missing, start every service, register images and flavor"
    )
    cloud_down = cloud_actions.add_parser(
        "down", help="delete the cloud's servers, stop its processes (by pid), detach loops"
    )
    cloud_down.add_argument(
        "--purge",
        action="store_true",
        help="also remove the state (databases, images, logs; the venv is kept) and the "
        "clouds.yaml entry",
    )
    cloud_actions.add_parser(
        "status", help="each service: pid, port, health (exit 1 unless all are healthy)"
    )
    cloud_logs = cloud_actions.add_parser("logs", help="the last lines of the services' logs")
    cloud_logs.add_argument("service", nargs="?", help="one service (default: every one)")
    cloud_logs.add_argument("-n", "--lines", type=_positive_int, default=20)

    capabilities = commands.add_parser(
        "capabilities",
        help="the capability matrix: seed compute-driver rows from Nova's support matrix",
    )
    capability_actions = capabilities.add_subparsers(dest="action", required=True)
    seed = capability_actions.add_parser(
        "seed",
        help="print compute_drivers rows made from Nova's support-matrix.ini",
        description="Print the `compute_drivers:` rows of the capability matrix for the "
        "given drivers, made from Nova's doc/source/user/support-matrix.ini: an operation "
        "Nova marks missing becomes `unsupported` with Nova's words as the reason.",
    )
    seed.add_argument("--support-matrix", type=Path, required=True, metavar="INI")
    seed.add_argument(
        "--driver",
        action="append",
        required=True,
        help="a driver column of the ini, e.g. libvirt-lxc (repeatable)",
    )
    return parser


def _add_cloud_options(parser: argparse.ArgumentParser) -> None:
    cloud = parser.add_argument_group(
        "cloud targets (nova, container-service)",
        "How to reach the cloud: an entry of clouds.yaml, as openstacksdk finds it.",
    )
    cloud.add_argument(
        "--cloud",
        default=os.environ.get("OS_CLOUD", ""),
        metavar="NAME",
        help="clouds.yaml entry (default: $OS_CLOUD)",
    )
    cloud.add_argument(
        "--compute-driver",
        default="",
        metavar="DRIVER",
        help="the cloud's compute driver, naming the matrix row compute_drivers.DRIVER "
        "(default: asked from the cloud's hypervisors, which needs an admin role)",
    )
    cloud.add_argument("--flavor", default="", help="flavor name or id (default: the smallest)")
    cloud.add_argument(
        "--network",
        default="none",
        help="'none' (no network, microversion 2.37), 'auto', or a network name or id",
    )
    cloud.add_argument(
        "--image",
        action="append",
        default=[],
        type=_image_mapping,
        metavar="REF=NAME",
        help="cloud image for a scenario image ref (default: base=cci-guest-base, "
        "alt=cci-guest-alt)",
    )


def _boolean(text: str) -> bool:
    if text.lower() in ("true", "yes", "1"):
        return True
    if text.lower() in ("false", "no", "0"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r}: expected true or false")


def _image_mapping(text: str) -> tuple[str, str]:
    ref, sep, name = text.partition("=")
    if not sep or not ref or not name:
        raise argparse.ArgumentTypeError(f"{text!r}: expected REF=NAME, e.g. base=cirros")
    return ref, name


def _cloud_options(args: argparse.Namespace):
    from container_ci.targets.cloud import DEFAULT_IMAGES, CloudOptions

    return CloudOptions(
        cloud=args.cloud,
        compute_driver=args.compute_driver,
        flavor=args.flavor,
        network=args.network,
        images={**DEFAULT_IMAGES, **dict(args.image)},
    )


STABILITY_EXIT_CODES = """exit codes:
  0    done (decide: nothing to do)
  2    bad input: a malformed or truncated file, policy or option; nothing stored from it
  3    the store cannot be reached
  10   decide: a decision is due (a job should be promoted or demoted)"""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _run_id(text: str) -> str:
    try:
        return naming.validate_run_id(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_setup(args: argparse.Namespace) -> int:
    from container_ci.provision.setup import BACKENDS, run_setup

    report = run_setup(args.target or BACKENDS)
    return 0 if report.ok else 1


def cmd_run(args: argparse.Namespace) -> int:
    from container_ci.runner.session import run_session

    return run_session(
        targets=args.target or list(LOCAL_TARGETS),
        scenario_files=args.scenario,
        capabilities=args.capabilities or paths.default_scenarios_dir() / "capabilities.yaml",
        concurrency=args.concurrency,
        output=args.output,
        run_id=args.run_id or naming.new_run_id(),
        plain=args.plain,
        record_db=None if args.no_record else (args.db or ""),
        job=args.job,
        cloud=_cloud_options(args),
    )


def cmd_stability(args: argparse.Namespace) -> int:
    from container_ci.stability import commands as stability

    if args.action == "ingest":
        overrides = {
            "pipeline": args.pipeline,
            "project": args.project,
            "change": args.change,
            "patchset": args.patchset,
            "branch": args.branch,
        }
        return stability.ingest(args.db, args.paths, args.job, overrides)
    if args.action == "ingest-zuul":
        from container_ci.stability.ingest.zuul_api import ZuulClient

        client = ZuulClient(args.url, args.tenant, timeout=args.timeout, retries=args.retries)
        filters = {
            "job_name": args.job_name,
            "pipeline": args.pipeline,
            "project": args.project,
            "branch": args.branch,
            "result": args.result,
        }
        return stability.ingest_zuul(args.db, client, filters, args.max_builds, args.subunit)
    if args.action == "decide":
        apply_to = (args.zuul_dir or paths.repo_root() / "zuul.d") if args.apply else None
        return stability.run_decide(args.db, args.policy, args.job, args.json, apply_to)
    return stability.run_report(args.db, args.job, args.output)


def cmd_sweep(args: argparse.Namespace) -> int:
    from container_ci.runner.sweep import sweep

    return sweep(
        args.target or list(LOCAL_TARGETS),
        run_id=args.run_id,
        include_live=args.all,
        dry_run=args.dry_run,
        cloud=_cloud_options(args),
    )


def cmd_tempest(args: argparse.Namespace) -> int:
    from container_ci import tempest_run

    if not args.compute_driver:
        raise BadInput("container-ci tempest needs --compute-driver (the matrix row to apply)")
    if not args.cloud and not args.tempest_conf:
        from container_ci.cloud import commands as local_cloud

        args.cloud = local_cloud.bring_up()
    run = tempest_run.TempestRun(
        suite=args.suite,
        compute_driver=args.compute_driver,
        workspace=args.workspace or tempest_run.default_workspace(args.suite, args.compute_driver),
        output=args.output,
        cloud=_cloud_options(args),
        tempest_conf=args.tempest_conf,
        regex=args.regex,
    )
    return tempest_run.run_tempest(run, None if args.no_record else (args.db or ""), args.job)


def cmd_zuul(args: argparse.Namespace) -> int:
    from container_ci.zuul import commands as zuul

    if args.action == "check":
        return zuul.run_check(args.paths, args.upstream, args.root, args.no_files, args.policy)
    if args.action == "move":
        return zuul.run_move(args.job, args.to, args.voting, args.zuul_dir)
    return zuul.run_exclude_list(args.driver, args.write)


def cmd_devstack_config(args: argparse.Namespace) -> int:
    from container_ci.zuul.devstack import local_conf

    print(local_conf(args.zuul_dir or paths.repo_root() / "zuul.d", args.driver), end="")
    return 0


def cmd_cloud(args: argparse.Namespace) -> int:
    from container_ci.cloud import commands as cloud

    return cloud.run(args.action, args)


def cmd_capabilities(args: argparse.Namespace) -> int:
    from container_ci.scenarios.nova_support_matrix import (
        read_support_matrix,
        render_rows,
        seed_row,
    )

    parser = read_support_matrix(args.support_matrix)
    source = str(args.support_matrix)
    print(render_rows({d: seed_row(parser, d, source) for d in args.driver}), end="")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = {
        "setup": cmd_setup,
        "run": cmd_run,
        "sweep": cmd_sweep,
        "stability": cmd_stability,
        "capabilities": cmd_capabilities,
        "tempest": cmd_tempest,
        "zuul": cmd_zuul,
        "devstack-config": cmd_devstack_config,
        "cloud": cmd_cloud,
    }[args.command]
    try:
        return handler(args)
    except BadInput as exc:
        print(f"container-ci: {exc}", file=sys.stderr)
        return exc.exit_code
    except ContainerCIError as exc:
        print(f"container-ci: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
