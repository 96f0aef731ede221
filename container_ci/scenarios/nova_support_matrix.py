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
from container_ci.scenarios.model import COMPUTE_API_FEATURES, OPERATIONS, Capability

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

# A feature of `compute_api_features:` (Tempest's flag) -> the support
# matrix's feature.
FEATURE_OF_FLAG = {
    "rescue": "operation.rescue",
    "resize": "operation.resize",
    "live_migration": "operation.live-migrate",
    "change_password": "operation.set-admin-password",
    "interface_attach": "operation.attach-interface",
    "config_drive": "guest.setup.configdrive",
}

# Features Nova's matrix does not list: each follows an entry that it does
# (a feature above, or an operation), for the reason given.
FOLLOWS = {
    "cold_migration": ("resize", "Nova migrates a server cold through its resize code path"),
    "shelve": ("snapshot", "shelving offloads a server by snapshotting its disk"),
}

# Where what Nova's code does differs from what its matrix says; each with
# the evidence. Kept here, not edited into the matrix file, so the test that
# keeps the file equal to Nova's matrix still holds everywhere else.
CORRECTIONS = {
    ("libvirt-lxc", "config_drive"): Capability(
        False,
        'Nova\'s support matrix marks "Config drive support" complete for libvirt-lxc, but '
        "the libvirt driver's LXC branch mounts only the root filesystem "
        "(_get_guest_storage_config: disk.config is attached only to disk-based guests), "
        "so no config drive reaches an LXC guest",
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
        row[op] = _stated(parser, FEATURE_OF[op], driver)
    return row


def seed_features(
    parser: configparser.ConfigParser, driver: str, source: str
) -> dict[str, Capability]:
    """Every feature of `compute_api_features:` for `driver`: Nova's word, the
    entry a feature follows, or a correction with its evidence."""
    row = seed_row(parser, driver, source)
    features: dict[str, Capability] = {}
    for name in COMPUTE_API_FEATURES:
        if (driver, name) in CORRECTIONS:
            features[name] = CORRECTIONS[(driver, name)]
        elif name in FEATURE_OF_FLAG:
            features[name] = _stated(parser, FEATURE_OF_FLAG[name], driver)
        else:
            followed, why = FOLLOWS[name]
            basis = features.get(followed) or row[followed]
            features[name] = (
                basis if basis.supported else Capability(False, f"{why}: {basis.reason}")
            )
    return features


def _stated(parser: configparser.ConfigParser, name: str, driver: str) -> Capability:
    """What Nova's matrix says of feature `name` for `driver`."""
    feature = parser[name]
    status = feature.get(f"driver.{driver}", "missing").strip()
    if status in SUPPORTED_STATUSES:
        return Capability(True)
    reason = (
        f'Nova\'s support matrix marks "{feature.get("title", name)}" ({name}) {status} '
        f"for {driver}"
    )
    notes = feature.get(f"driver-notes.{driver}")
    if notes:
        reason += f" ({' '.join(notes.split())})"
    return Capability(False, reason)


def render_rows(rows: dict[str, dict[str, Capability]], section: str = "compute_drivers") -> str:
    """YAML for the matrix's `compute_drivers:` (or `compute_api_features:`)
    section, reasons folded as the hand-written rows are."""
    lines = [f"{section}:"]
    for driver, row in rows.items():
        lines.append(f"  {driver}:")
        for op, capability in row.items():
            if capability.supported:
                lines.append(f"    {op}: supported")
                continue
            lines += [f"    {op}:", "      unsupported: >-"]
            lines += textwrap.wrap(
                capability.reason,
                width=88,
                initial_indent=" " * 8,
                subsequent_indent=" " * 8,
                break_on_hyphens=False,
            )
    return "\n".join(lines) + "\n"
