"""`container-ci capabilities seed`: compute-driver rows from Nova's own matrix."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "capabilities",
        help="the capability matrix: seed compute-driver rows from Nova's support matrix",
    )
    actions = parser.add_subparsers(dest="action", required=True)
    seed = actions.add_parser(
        "seed",
        help="print compute_drivers and compute_api_features rows from Nova's support-matrix.ini",
        description="Print the `compute_drivers:` and `compute_api_features:` rows of the "
        "capability matrix for the given drivers, made from Nova's "
        "doc/source/user/support-matrix.ini: an operation or feature Nova marks missing "
        "becomes `unsupported` with Nova's words as the reason; where Nova's code does "
        "otherwise than its matrix says, the correction (nova_support_matrix.CORRECTIONS) "
        "gives the evidence.",
    )
    seed.add_argument("--support-matrix", type=Path, required=True, metavar="INI")
    seed.add_argument(
        "--driver",
        action="append",
        required=True,
        help="a driver column of the ini, e.g. libvirt-lxc (repeatable)",
    )
    seed.set_defaults(run=run_seed)


def run_seed(args: argparse.Namespace) -> int:
    from container_ci.scenarios.nova_support_matrix import (
        read_support_matrix,
        render_rows,
        seed_features,
        seed_row,
    )

    parser = read_support_matrix(args.support_matrix)
    source = str(args.support_matrix)
    print(render_rows({d: seed_row(parser, d, source) for d in args.driver}))
    features = {d: seed_features(parser, d, source) for d in args.driver}
    print(render_rows(features, section="compute_api_features"), end="")
    return 0
