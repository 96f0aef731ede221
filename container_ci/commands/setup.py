"""`container-ci setup`: packages, dockerd and libvirtd, the guest images."""

from __future__ import annotations

import argparse

from container_ci.targets.registry import LOCAL_TARGETS


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "setup",
        help="install packages, start dockerd/libvirtd, build base images (idempotent)",
        description="Install missing Debian packages, start dockerd and libvirtd when they "
        "do not answer (no systemd needed), and build the cci-guest base images. Safe to "
        "repeat: a second run changes nothing and says so. Exits 1 if a backend cannot be "
        "brought up, with one line saying why.",
    )
    parser.add_argument(
        "--target",
        action="append",
        choices=LOCAL_TARGETS,
        help="set up only this backend (repeatable; default: all)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from container_ci.provision.setup import run_setup

    report = run_setup(args.target or LOCAL_TARGETS)
    return 0 if report.ok else 1
