"""The `container-ci` command: the parser made of the command modules in
container_ci/commands/, the dispatch to the chosen one, and the table that
turns container-ci's errors into exit codes (see `container-ci --help`):
bad input exits 2 with `file:line: message`, broken infrastructure exits 3,
each as one line and never a traceback."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from container_ci import __version__
from container_ci.commands import COMMAND_MODULES, EXIT_CODES
from container_ci.errors import BadInput, ContainerCIError

# What each kind of error becomes (the first that matches): bad input 2, and
# whatever else container-ci raises on purpose is infrastructure (an
# InfrastructureError, or a gap or expectation a command did not handle), 3.
# A command's own result (0, 1, 10) is its return value.
ERROR_EXIT_CODES: tuple[tuple[type[ContainerCIError], int], ...] = (
    (BadInput, BadInput.exit_code),
    (ContainerCIError, 3),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="container-ci",
        description="Drive container compute backends (Docker, libvirt LXC, a cloud's Nova\n"
        "and container service) through end-to-end scenarios, with results in subunit v2,\n"
        "JUnit XML and JSON; track their stability; check and edit the Zuul jobs.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXIT_CODES,
    )
    parser.add_argument("--version", action="version", version=f"container-ci {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"container_ci.commands.{name}").add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except ContainerCIError as exc:
        print(f"container-ci: {exc}", file=sys.stderr)
        return next(code for kind, code in ERROR_EXIT_CODES if isinstance(exc, kind))
    return code


if __name__ == "__main__":
    sys.exit(main())
