"""`container-ci cloud up | down | status | logs`: the local cloud."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from container_ci.commands import options as opts


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "cloud",
        help="a local cloud: real Keystone, Placement, Glance, Neutron, Nova on libvirt LXC "
        "(and Zun, with --with container-service)",
        description="Run a real Nova (libvirt driver, virt_type lxc) with Keystone, "
        "Placement, Glance and Neutron from PyPI as plain processes on 127.0.0.1, with no "
        "devstack (with `up --with container-service`, Zun and kuryr-libnetwork too): "
        "`up` installs and starts it (idempotent) and writes the clouds.yaml entry "
        "container-ci-local; `down` deletes its servers and stops exactly the processes it "
        "started. State, logs and pid files: $CONTAINER_CI_CLOUD_DIR, default DATA_DIR/cloud.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    up = actions.add_parser(
        "up", help="install what is missing, start every service, register images and flavor"
    )
    add_nova_source_option(up)
    add_with_option(up)
    up.add_argument(
        "--compute-driver",
        choices=["libvirt-lxc", "docker"],
        help="nova-compute's driver from now on: libvirt-lxc (Nova's libvirt driver, "
        "virt_type lxc) or docker (this repository's Docker driver, cci_nova_docker); "
        "switching restarts nova-compute and deletes the servers (default: the last one, "
        "at first libvirt-lxc)",
    )
    up.set_defaults(run=run_up)
    down = actions.add_parser(
        "down", help="delete the cloud's servers, stop its processes (by pid), detach loops"
    )
    down.add_argument(
        "--purge",
        action="store_true",
        help="also remove the state (databases, images, logs; the venv is kept) and the "
        "clouds.yaml entry",
    )
    down.set_defaults(run=run_down)
    status = actions.add_parser(
        "status", help="each service: pid, port, health (exit 1 unless all are healthy)"
    )
    status.set_defaults(run=run_status)
    logs = actions.add_parser("logs", help="the last lines of the services' logs")
    logs.add_argument("service", nargs="?", help="one service (default: every one)")
    logs.add_argument("-n", "--lines", type=opts.positive_int, default=20)
    logs.set_defaults(run=run_logs)


def add_nova_source_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--nova-source",
        type=Path,
        metavar="DIR",
        help="install Nova from this checkout instead of PyPI, e.g. the change under review "
        "(default: $CONTAINER_CI_NOVA_SOURCE)",
    )


def add_with_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--with",
        dest="components",
        action="append",
        choices=["container-service"],
        default=[],
        help="also run this component: container-service is Zun with kuryr-libnetwork, two "
        "container hosts (the Docker Engine `container-ci setup` runs, and one of its own). "
        "Once added it stays until `down`",
    )


def nova_source(args: argparse.Namespace) -> Path | None:
    if args.nova_source:
        return Path(args.nova_source)
    from_env = os.environ.get("CONTAINER_CI_NOVA_SOURCE")
    return Path(from_env) if from_env else None


def _say(text: str) -> None:
    print(text, flush=True)


def run_up(args: argparse.Namespace) -> int:
    from container_ci.cloud import lifecycle
    from container_ci.cloud.layout import Layout

    lifecycle.up(
        Layout.default(),
        _say,
        nova_source(args),
        frozenset(args.components),
        args.compute_driver,
    )
    return 0


def run_down(args: argparse.Namespace) -> int:
    from container_ci.cloud import lifecycle
    from container_ci.cloud.layout import Layout

    (lifecycle.purge if args.purge else lifecycle.down)(Layout.default(), _say)
    return 0


def run_status(args: argparse.Namespace) -> int:
    from container_ci.cloud import lifecycle
    from container_ci.cloud.layout import Layout

    layout = Layout.default()
    rows = lifecycle.status(layout)
    print(f"{'SERVICE':<16} {'PID':>7} {'PORT':>6}  HEALTH")
    for row in rows:
        pid = str(row.pid) if row.pid else "-"
        port = str(row.port) if row.port else "-"
        print(f"{row.name:<16} {pid:>7} {port:>6}  {row.health}")
    healthy = sum(row.ok for row in rows)
    print(f"{healthy}/{len(rows)} healthy; state {layout.root}")
    return 0 if healthy == len(rows) else 1


def run_logs(args: argparse.Namespace) -> int:
    from container_ci.cloud import processes
    from container_ci.cloud.layout import Layout
    from container_ci.cloud.services import SERVICES
    from container_ci.errors import BadInput

    layout = Layout.default()
    names = [s.name for s in SERVICES] + ["manage"]
    if args.service and args.service not in names:
        raise BadInput(f"no service {args.service!r} (services: {', '.join(names)})")
    for name in [args.service] if args.service else names:
        path = layout.logfile(name)
        print(f"==> {path} <==")
        for line in processes.tail(path, args.lines):
            print(line)
    return 0
