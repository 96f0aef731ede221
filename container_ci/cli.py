"""The `container-ci` command: the parser made of the command modules in
container_ci/commands/, the dispatch to the chosen one, and the table that
turns container-ci's errors into exit codes (see `container-ci --help`):
bad input exits 2 with `file:line: message`, broken infrastructure exits 3,
each as one line and never a traceback."""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import signal
import sys
from collections.abc import Sequence

from container_ci import __version__, abandoned
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


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Every command's parser; given the `command` about to run, only that
    one's options (the others are there by name): a run does not pay for
    importing and building eight parsers it will not use."""
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
    for name, module in COMMAND_MODULES.items():
        if command in (None, name):
            importlib.import_module(f"container_ci.commands.{module}").add_parser(subparsers)
        else:
            subparsers.add_parser(name)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command `argv` names; its exit code."""
    words = sys.argv[1:] if argv is None else list(argv)
    command = next((word for word in words if not word.startswith("-")), None)
    args = build_parser(command if command in COMMAND_MODULES else None).parse_args(words)
    try:
        code: int = args.run(args)
    except ContainerCIError as exc:
        print(f"container-ci: {exc}", file=sys.stderr)
        return next(code for kind, code in ERROR_EXIT_CODES if isinstance(exc, kind))
    return code


def console_script() -> None:
    """`container-ci`: main(), then exit. The command is done by then: the
    interpreter's exit is spared its last garbage collection over everything
    the command loaded (40-70 ms of every `container-ci run`, measured, for
    the libraries a run imports). The command closed its own files and
    connections."""
    try:
        code = main()
        sys.stdout.flush()  # buffered output meets the closed pipe here, not in print
    except BrokenPipeError:
        # The reader went away (`container-ci ... | head`): no traceback, and
        # the shell's code for a write to a closed pipe. Python's own advice:
        # point stdout at /dev/null so its flush at exit does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(128 + signal.SIGPIPE)
    gc.freeze()
    if abandoned.still_running():
        # A backend call abandoned past its deadline still blocks in the
        # backend's library, which may hold the lock its connection's
        # finalizer needs: the interpreter's exit then hangs. bench/chaos:
        # a run hung 235 s after its results were written and recorded,
        # until SIGKILLed. Everything is written and flushed by now.
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    console_script()
