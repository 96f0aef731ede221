"""What a run produced, independent of any output format.

The runner fills these in; the writers in this package turn them into
subunit v2, JUnit XML and JSON. Test ids are stable across runs because the
stability store keys on them."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

TEST_ID_PREFIX = "container_ci.scenarios"


def test_id(scenario: str, target: str) -> str:
    """`container_ci.scenarios.<scenario>.<target>`, e.g. `...lifecycle.docker`."""
    return f"{TEST_ID_PREFIX}.{scenario}.{target}"


class StepStatus(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"  # a supported step did not do what was expected
    SKIPPED = "skipped"  # declared capability gap, or an earlier step failed
    ERROR = "error"  # infrastructure: the backend broke, not the driver


class PairStatus(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"  # nothing ran: every step was a declared gap
    ERROR = "error"  # infrastructure error during the pair
    UNAVAILABLE = "unavailable"  # target unreachable at run start; nothing ran


@dataclass
class StepResult:
    index: int  # 0-based position in the scenario
    name: str  # human readable, e.g. "reboot vm"
    op: str
    status: StepStatus
    started_at: datetime  # timezone-aware UTC
    duration: float  # seconds
    message: str = ""  # reason for skip / failure / error, one line
    details: str = ""  # traceback or longer text, may be empty
    line: int = 0  # line of the step in its scenario file


@dataclass
class PairResult:
    """One scenario on one target: one test in subunit/JUnit terms."""

    scenario: str
    target: str
    status: PairStatus
    started_at: datetime
    finished_at: datetime
    steps: list[StepResult] = field(default_factory=list)
    message: str = ""  # why it failed / was skipped / was unavailable
    console: dict[str, str] = field(default_factory=dict)  # instance name -> console log
    cleanup_errors: list[str] = field(default_factory=list)
    scenario_file: str = ""

    @property
    def test_id(self) -> str:
        return test_id(self.scenario, self.target)

    @property
    def duration(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


@dataclass
class TargetInfo:
    name: str
    available: bool
    reason: str = ""  # why unavailable
    version: str = ""  # backend version, e.g. "Docker 20.10.24"


@dataclass
class RunResult:
    run_id: str
    started_at: datetime
    finished_at: datetime
    pairs: list[PairResult] = field(default_factory=list)
    targets: list[TargetInfo] = field(default_factory=list)
    interrupted: str = ""  # e.g. "SIGINT" when the run was cut short

    def count(self, status: PairStatus) -> int:
        return sum(1 for pair in self.pairs if pair.status == status)

    @property
    def exit_code(self) -> int:
        """0 all supported steps passed; 1 a supported step failed; 3 only
        infrastructure errors or unavailable targets; 130/143 interrupted."""
        if self.interrupted == "SIGINT":
            return 130
        if self.interrupted == "SIGTERM":
            return 143
        if self.count(PairStatus.FAILED):
            return 1
        if self.count(PairStatus.ERROR) or self.count(PairStatus.UNAVAILABLE):
            return 3
        return 0
