"""`container-ci devstack-config`: a tempest job's local.conf, from zuul.d/."""

from __future__ import annotations

import argparse
from pathlib import Path

from container_ci.commands import options as opts


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "devstack-config",
        help="print the local.conf of a tempest job, from its zuul.d variables",
        description="Print a devstack local.conf that reproduces the Zuul job of a driver "
        "(lxc: nova-lxc-tempest, container-service: container-service-tempest), made from "
        "the job's devstack_* variables in zuul.d. Docker has no devstack job (nova-docker "
        "was retired in 2017): nova-docker-tempest-local runs on the local cloud.",
    )
    parser.add_argument("--driver", required=True, choices=("lxc", "container-service"))
    parser.add_argument("--zuul-dir", type=Path, metavar="DIR", help="default: zuul.d")
    opts.add_repository_option(parser, "zuul.d/ is read")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from container_ci.zuul.devstack import local_conf

    zuul_dir = args.zuul_dir or opts.repository(args).zuul_dir
    print(local_conf(zuul_dir, args.driver), end="")
    return 0
