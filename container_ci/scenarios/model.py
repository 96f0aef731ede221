"""The in-memory form of a scenario file, after schema and semantic checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# Every operation a step can name. The capability matrix lists each of them
# per target; the runner maps each to a Target method.
OPERATIONS = (
    "boot",
    "wait",
    "console",
    "exec",
    "reboot",
    "stop",
    "start",
    "pause",
    "unpause",
    "suspend",
    "resume",
    "snapshot",
    "rebuild",
    "delete",
)

# Instance state a step expects when the scenario does not say.
DEFAULT_STATE = {
    "boot": "active",
    "reboot": "active",
    "stop": "shutoff",
    "start": "active",
    "pause": "paused",
    "unpause": "active",
    "suspend": "suspended",
    "resume": "active",
    "rebuild": "active",
    "delete": "gone",
}

# Features of Nova's API that upstream Tempest's compute tests need beyond the
# operations above, named as Tempest's [compute-feature-enabled] flags. The
# matrix's `compute_api_features:` section states each per compute driver;
# `container-ci tempest --suite upstream-compute` writes them as the flags.
COMPUTE_API_FEATURES = (
    "rescue",
    "resize",
    "cold_migration",
    "live_migration",
    "shelve",
    "change_password",
    "interface_attach",
    "config_drive",
)

# Tempest's flag for an operation of the rows above, where it has one (both
# halves of a pair must be supported for the flag to be on).
TEMPEST_FLAG_OF_OPERATIONS = {
    "console_output": ("console",),
    "pause": ("pause", "unpause"),
    "suspend": ("suspend", "resume"),
    "snapshot": ("snapshot",),
}

DEFAULT_TIMEOUT = {"boot": 120.0, "rebuild": 120.0, "snapshot": 120.0}
FALLBACK_TIMEOUT = 60.0


@dataclass(frozen=True)
class Expect:
    state: str | None = None  # an `expect.state` of scenario.schema.json
    exit_code: int | None = None  # exec only
    stdout_contains: str | None = None  # exec only
    console_contains: str | None = None  # any op on an instance: checked after it
    error: str | None = None  # an `expect.error` of scenario.schema.json: the op must fail this way
    same_identity: bool | None = None  # rebuild: instance id unchanged


@dataclass(frozen=True)
class Step:
    index: int
    op: str
    instance: str  # alias of an instance (or of a group booted with count)
    line: int  # line of the step in its file, for error messages and results
    image: str | None = None  # boot/rebuild: image ref; snapshot: alias it creates
    command: tuple[str, ...] = ()  # exec
    count: int = 1  # boot: how many instances at once under one alias
    expect: Expect = field(default_factory=Expect)
    timeout: float = FALLBACK_TIMEOUT
    optional: bool = False  # unsupported -> skip only this step, not the rest
    name: str = ""  # "reboot vm" unless the file names it


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    path: Path
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Capability:
    supported: bool
    reason: str = ""  # why not, when unsupported


# A Nova compute driver's row is named after the target that reaches it: the
# `nova` target on a cloud running libvirt-lxc uses row "nova/libvirt-lxc".
COMPUTE_DRIVER_ROW_PREFIX = "nova/"


def compute_driver_row(driver: str) -> str:
    return COMPUTE_DRIVER_ROW_PREFIX + driver


@dataclass(frozen=True)
class CapabilityMatrix:
    """Rows: a local target or service (`docker`, `container-service`) by its
    name, a cloud's compute driver as `nova/<driver>`."""

    path: Path
    rows: dict[str, dict[str, Capability]]  # row -> op -> capability
    # compute driver -> feature of COMPUTE_API_FEATURES -> capability
    features: dict[str, dict[str, Capability]] = field(default_factory=dict)

    def capability(self, row: str, op: str) -> Capability:
        return self.rows[row][op]

    def compute_drivers(self) -> list[str]:
        prefix = COMPUTE_DRIVER_ROW_PREFIX
        return sorted(row[len(prefix) :] for row in self.rows if row.startswith(prefix))
