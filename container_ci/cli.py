"""The `container-ci` command: setup, run, sweep.

Exit codes (run): 0 every supported step passed; 1 a supported step failed;
2 bad input (malformed scenario or matrix, bad option); 3 only infrastructure
errors or unavailable targets; 130/143 interrupted by SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from container_ci import __version__, naming, paths
from container_ci.errors import BadInput, ContainerCIError
from container_ci.targets.registry import LOCAL_TARGETS

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
        choices=LOCAL_TARGETS,
        help="run on this target (repeatable; default: every local target)",
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

    sweep = commands.add_parser(
        "sweep",
        help="remove containers, domains and snapshot images the harness left behind",
        description="Remove resources labelled as created by container-ci: by default those "
        "of runs whose process is gone (e.g. after SIGKILL); with --run-id those of one run; "
        "with --all everything, including resources of runs still in progress.",
    )
    sweep.add_argument("--target", action="append", choices=LOCAL_TARGETS)
    scope = sweep.add_mutually_exclusive_group()
    scope.add_argument("--run-id", type=_run_id, help="only resources of this run")
    scope.add_argument("--all", action="store_true", help="also resources of live runs")
    sweep.add_argument("--dry-run", action="store_true", help="list, remove nothing")
    return parser


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
    )


def cmd_sweep(args: argparse.Namespace) -> int:
    from container_ci.runner.sweep import sweep

    return sweep(
        args.target or list(LOCAL_TARGETS),
        run_id=args.run_id,
        include_live=args.all,
        dry_run=args.dry_run,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = {"setup": cmd_setup, "run": cmd_run, "sweep": cmd_sweep}[args.command]
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
