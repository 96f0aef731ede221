"""The `container-ci` commands, one module each, in one shape (as stestr's
commands/): `add_parser(subparsers)` declares the command's options and
`run(args) -> int` resolves them (defaults, environment, the repository the
user stands in) and calls a library function with plain arguments, then
prints what it returned. Library functions never see an argparse Namespace.

Command modules import only what building the parser needs; everything
heavy (Docker's SDK, libvirt, SQLAlchemy, openstacksdk, Tempest) is imported
inside `run`, so `container-ci --help` and the start of a run stay fast."""

from __future__ import annotations

# Command name -> its module, in the order `container-ci --help` lists them.
COMMAND_MODULES = {
    "setup": "setup",
    "run": "run",
    "sweep": "sweep",
    "stability": "stability",
    "capabilities": "capabilities",
    "tempest": "tempest",
    "zuul": "zuul",
    "devstack-config": "devstack_config",
    "cloud": "cloud",
}

EXIT_CODES = """exit codes:
  0    every supported step passed (declared capability gaps are skips)
  1    a supported step failed
  2    bad input: a malformed scenario, matrix or option (file:line: message)
  3    infrastructure: a target unavailable or a backend broke, nothing failed
  130  interrupted by SIGINT (143: SIGTERM); cleanup ran before exiting"""
