"""`container-ci sweep`: remove what runs left behind."""

from __future__ import annotations

import argparse

from container_ci.commands import options as opts
from container_ci.targets.registry import LOCAL_TARGETS, TARGETS


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sweep",
        help="remove containers, domains and snapshot images the harness left behind",
        description="Remove resources labelled as created by container-ci: by default those "
        "of runs whose process is gone (e.g. after SIGKILL); with --run-id those of one run; "
        "with --all everything, including resources of runs still in progress. As root it "
        "also removes containers a killed dockerd left in containerd that the Engine no "
        "longer knows, by the harness's cci- name (orphaned-container). Exits 3 when "
        "a target cannot be reached (the others are still swept).",
    )
    parser.add_argument("--target", action="append", choices=TARGETS)
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("--run-id", type=opts.run_id, help="only resources of this run")
    scope.add_argument("--all", action="store_true", help="also resources of live runs")
    parser.add_argument("--dry-run", action="store_true", help="list, remove nothing")
    opts.add_cloud_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from container_ci.runner.sweep import sweep

    exit_code = 0
    verb = "would remove" if args.dry_run else "removed"
    for outcome in sweep(
        args.target or list(LOCAL_TARGETS),
        run_id=args.run_id,
        include_live=args.all,
        dry_run=args.dry_run,
        cloud=opts.cloud_options(args),
    ):
        if outcome.error:
            print(f"{outcome.target}: not swept: {outcome.error}")
            exit_code = 3
            continue
        print(f"{outcome.target}: {verb} {len(outcome.resources)} resource(s)")
        for resource in outcome.resources:
            state = "stale" if resource.is_stale() else "live"
            print(f"  {resource.kind} {resource.name} (run {resource.run_id or '?'}, {state})")
    return exit_code
