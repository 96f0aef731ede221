"""The driver x operation outcome matrix: for each compute driver and each
operation of the capability matrix (boot, reboot, snapshot, ... and the
compute API features), how the tests exercising it fared in the newest
builds of the driver's jobs (drivers.RECENT_BUILDS; stability/drivers.py
says which jobs are whose).

Which tests exercise an operation is said by name (operations.yaml). A
declared gap (the matrix marks the operation unsupported for the driver) is
shown as a gap with the matrix's reason, never as a failure: its tests
skip, by design. Skips are counted apart from runs; infrastructure results
are left out."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from container_ci.errors import BadInput
from container_ci.scenarios.model import CapabilityMatrix, compute_driver_row
from container_ci.stability.drivers import OUTCOME, driver_jobs, recent_results
from container_ci.yaml_source import load_yaml, to_plain

OPERATIONS_FILE = "operations.yaml"


def load_patterns(path: Path | None = None) -> dict[str, list[re.Pattern[str]]]:
    """operation -> the regexes of its tests (operations.yaml by default)."""
    path = path or Path(str(resources.files("container_ci.stability") / OPERATIONS_FILE))
    document = to_plain(load_yaml(path))
    if not isinstance(document, dict):
        raise BadInput(f"{path}:1: expected a mapping of operation -> list of regexes")
    patterns: dict[str, list[re.Pattern[str]]] = {}
    for operation, regexes in document.items():
        if not isinstance(regexes, list) or not all(isinstance(r, str) for r in regexes):
            raise BadInput(f"{path}: {operation}: expected a list of regexes")
        try:
            patterns[str(operation)] = [re.compile(r) for r in regexes]
        except re.error as exc:
            raise BadInput(f"{path}: {operation}: a regex does not compile: {exc}") from exc
    return patterns


@dataclass
class Cell:
    ran: int = 0  # results that passed or failed
    passed: int = 0
    skipped: int = 0
    gap: str = ""  # the matrix's reason, when the driver declares the operation unsupported

    @property
    def state(self) -> str:
        """gap, pass, fail (some failed), skip (only skips), or not-run."""
        if self.gap:
            return "gap"
        if self.ran:
            return "pass" if self.passed == self.ran else "fail"
        return "skip" if self.skipped else "not-run"

    @property
    def text(self) -> str:
        if self.gap:
            return f"gap: {self.gap}"
        if self.ran:
            skipped = f", {self.skipped} skipped" if self.skipped else ""
            return f"{self.passed}/{self.ran} passed ({self.passed / self.ran:.0%}){skipped}"
        return f"{self.skipped} skipped" if self.skipped else "not run"


@dataclass
class OperationMatrix:
    drivers: list[str]
    operations: list[str]
    cells: dict[str, dict[str, Cell]] = field(default_factory=dict)  # operation -> driver

    def to_json(self) -> dict[str, Any]:
        return {
            "drivers": self.drivers,
            "operations": {
                operation: {
                    driver: {**vars(cell), "state": cell.state}
                    for driver, cell in by_driver.items()
                }
                for operation, by_driver in self.cells.items()
            },
        }

    def to_markdown(self, escape: Callable[[str], str]) -> str:
        """The section for stability.md; `escape` is the report's Markdown escaper."""
        if not self.drivers:
            return ""
        lines = [
            "## Operations by compute driver",
            "",
            "The newest builds of each driver's jobs (50 each): the tests exercising each "
            "operation (by name, `operations.yaml`); a gap is the capability matrix's, not a "
            "failure.",
            "",
            "| operation | " + " | ".join(self.drivers) + " |",
            "| --- |" + " --- |" * len(self.drivers),
        ]
        for operation, by_driver in self.cells.items():
            cells = [escape(by_driver[d].text) for d in self.drivers]
            lines.append(f"| {operation} | " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"


def _gap(matrix: CapabilityMatrix, driver: str, operation: str) -> str:
    capability = matrix.rows.get(compute_driver_row(driver), {}).get(
        operation
    ) or matrix.features.get(driver, {}).get(operation)
    if capability is None or capability.supported:
        return ""
    return " ".join(capability.reason.split()) or "unsupported"


def operation_matrix(
    session: Session,
    matrix: CapabilityMatrix,
    patterns: dict[str, list[re.Pattern[str]]] | None = None,
) -> OperationMatrix:
    """Each driver with jobs in the store x each operation of `patterns`."""
    patterns = patterns or load_patterns()
    jobs = driver_jobs(session, matrix.compute_drivers())
    drivers = sorted(jobs)
    result = OperationMatrix(drivers=drivers, operations=list(patterns))
    result.cells = {
        operation: {driver: Cell(gap=_gap(matrix, driver, operation)) for driver in drivers}
        for operation in patterns
    }
    of_test: dict[str, list[str]] = {}
    for driver, names in jobs.items():
        for test, status, _text in recent_results(session, names):
            operations = of_test.get(test)
            if operations is None:
                operations = of_test[test] = [
                    op for op, regexes in patterns.items() if any(r.search(test) for r in regexes)
                ]
            outcome = OUTCOME.get(status, "fail")
            for operation in operations:
                cell = result.cells[operation][driver]
                if outcome == "skip":
                    cell.skipped += 1
                else:
                    cell.ran += 1
                    cell.passed += outcome == "pass"
    return result
