"""The `container-ci cloud` sub-commands: printing, exit codes."""

from __future__ import annotations

import argparse
import sys

from container_ci.cloud import lifecycle
from container_ci.cloud.layout import CLOUD_NAME, Layout
from container_ci.cloud.services import SERVICES


def _say(text: str) -> None:
    print(text, flush=True)


def run(action: str, args: argparse.Namespace) -> int:
    layout = Layout.default()
    if action == "up":
        lifecycle.up(layout, _say)
        return 0
    if action == "down":
        (lifecycle.purge if args.purge else lifecycle.down)(layout, _say)
        return 0
    if action == "status":
        return print_status(layout)
    return print_logs(layout, args.service, args.lines)


def bring_up() -> str:
    """`cloud up` for commands that default to the local cloud; its clouds.yaml entry."""
    print("no cloud named: using the local cloud (container-ci cloud up)", flush=True)
    lifecycle.up(Layout.default(), _say)
    return CLOUD_NAME


def print_status(layout: Layout) -> int:
    rows = lifecycle.status(layout)
    print(f"{'SERVICE':<16} {'PID':>7} {'PORT':>6}  HEALTH")
    for row in rows:
        pid = str(row.pid) if row.pid else "-"
        port = str(row.port) if row.port else "-"
        print(f"{row.name:<16} {pid:>7} {port:>6}  {row.health}")
    healthy = sum(row.ok for row in rows)
    print(f"{healthy}/{len(rows)} healthy; state {layout.root}")
    return 0 if healthy == len(rows) else 1


def print_logs(layout: Layout, service: str | None, lines: int) -> int:
    names = [s.name for s in SERVICES] + ["manage"]
    if service and service not in names:
        print(
            f"container-ci: no service {service!r} (services: {', '.join(names)})", file=sys.stderr
        )
        return 2
    for name in [service] if service else names:
        path = layout.logfile(name)
        print(f"==> {path} <==")
        for line in lifecycle.tail(path, lines):
            print(line)
    return 0
