"""Compute-driver rows of the capability matrix, seeded from Nova's own
feature support matrix (nova/doc/source/user/support-matrix.ini).

Nova's file is the project's statement of what each driver implements; the
harness's rows start from it so a skip in Tempest or the runner cites Nova's
own words, and a test keeps the two from drifting apart. Operations Nova's
file does not list (power off/on, waiting, running a command in the guest)
get the answer stated here, with the reason."""

from __future__ import annotations

import configparser
import textwrap
from pathlib import Path

from container_ci.errors import BadInput
from container_ci.scenarios.model import OPERATIONS, Capability

# Our operation -> the support matrix's feature.
FEATURE_OF = {
    "boot": "operation.launch",
    "console": "console.serial.log",
    "reboot": "operation.reboot",
    "pause": "operation.pause",
    "unpause": "operation.unpause",
    "suspend": "operation.suspend",
    "resume": "operation.resume",
    "snapshot": "operation.snapshot",
    "rebuild": "operation.rebuild",
    "delete": "operation.terminate",
}

# Operations Nova's matrix does not list, the same for every driver.
NOT_IN_NOVA_MATRIX = {
    "wait": Capability(True),
    # power_off/power_on back the stop/start server actions of every driver.
    "stop": Capability(True),
    "start": Capability(True),
    "exec": Capability(
        False,
        "the compute API has no call that runs a command inside a server, and the nova "
        "target does not log in to guests",
    ),
}

# `unknown` means nobody has said: the checks are how we find out.
SUPPORTED_STATUSES = {"complete", "partial", "unknown"}


def read_support_matrix(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with path.open(encoding="utf-8") as stream:
            parser.read_file(stream)
    except (OSError, configparser.Error) as exc:
        raise BadInput(f"{path}: cannot read Nova's support matrix: {exc}") from exc
    return parser


def drivers_in(parser: configparser.ConfigParser) -> list[str]:
    return [
        section.split(".", 1)[1] for section in parser.sections() if section.startswith("driver.")
    ]


def seed_row(parser: configparser.ConfigParser, driver: str, source: str) -> dict[str, Capability]:
    """Every operation for `driver`, from Nova's matrix where it says."""
    if f"driver.{driver}" not in parser:
        known = ", ".join(drivers_in(parser))
        raise BadInput(f"{source}: no driver {driver!r} in Nova's support matrix; it has: {known}")
    row: dict[str, Capability] = {}
    for op in OPERATIONS:
        if op in NOT_IN_NOVA_MATRIX:
            row[op] = NOT_IN_NOVA_MATRIX[op]
            continue
        feature = parser[FEATURE_OF[op]]
        status = feature.get(f"driver.{driver}", "missing").strip()
        if status in SUPPORTED_STATUSES:
            row[op] = Capability(True)
            continue
        reason = (
            f'Nova\'s support matrix marks "{feature.get("title", FEATURE_OF[op])}" '
            f"({FEATURE_OF[op]}) {status} for {driver}"
        )
        notes = feature.get(f"driver-notes.{driver}")
        if notes:
            reason += f" ({' '.join(notes.split())})"
        row[op] = Capability(False, reason)
    return row


def render_rows(rows: dict[str, dict[str, Capability]]) -> str:
    """YAML for the matrix's `compute_drivers:` section, reasons folded as the
    hand-written rows are."""
    lines = ["compute_drivers:"]
    for driver, row in rows.items():
        lines.append(f"  {driver}:")
        for op, capability in row.items():
            if capability.supported:
                lines.append(f"    {op}: supported")
                continue
            lines += [f"    {op}:", "      unsupported: >-"]
            lines += textwrap.wrap(
                capability.reason, width=88, initial_indent=" " * 8, subsequent_indent=" " * 8
            )
    return "\n".join(lines) + "\n"
