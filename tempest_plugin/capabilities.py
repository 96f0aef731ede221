"""Skips from the capability matrix: the single source of which operations a
driver lacks, shared with the scenario runner."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

import testtools
from tempest import config

from container_ci.scenarios import catalogue
from container_ci.scenarios.loader import load_capabilities
from container_ci.scenarios.model import CapabilityMatrix, compute_driver_row

CONF = config.CONF

TestCaseT = TypeVar("TestCaseT")
P = ParamSpec("P")
R = TypeVar("R")
# A test method: its test case, then the rest of its parameters.
TestMethod = Callable[Concatenate[TestCaseT, P], R]


@functools.cache
def _matrix(path: str) -> CapabilityMatrix:
    return load_capabilities(Path(path))


def unsupported_reason(driver: str, op: str, matrix_path: str | None = None) -> str | None:
    """The matrix's reason when compute driver `driver` lacks `op`, else None.
    Its row is `compute_drivers.<driver>`, the one the runner's nova target uses."""
    path = matrix_path or str(catalogue.default_matrix())
    matrix = _matrix(path)
    row = compute_driver_row(driver)
    if row not in matrix.rows:
        known = ", ".join(matrix.compute_drivers())
        return f"no capabilities declared for compute driver {driver!r} in {path} (known: {known})"
    capability = matrix.capability(row, op)
    return None if capability.supported else capability.reason


def requires(
    op: str,
) -> Callable[[TestMethod[TestCaseT, P, R]], TestMethod[TestCaseT, P, R]]:
    """Skip the test when the configured driver lacks `op` (reason from the matrix)."""

    def decorator(test: TestMethod[TestCaseT, P, R]) -> TestMethod[TestCaseT, P, R]:
        # Read back with getattr by the runner and the unit tests; functools.wraps
        # copies it onto the wrapper. Through the function's __dict__, as a typed
        # Callable has no attribute of that name to assign.
        vars(test)["container_ci_op"] = op

        @functools.wraps(test)
        def wrapper(self: TestCaseT, /, *args: P.args, **kwargs: P.kwargs) -> R:
            driver = CONF.container_ci.compute_driver
            reason = unsupported_reason(driver, op, CONF.container_ci.capabilities_file or None)
            if reason:
                raise testtools.TestCase.skipException(f"{driver} does not support {op}: {reason}")
            return test(self, *args, **kwargs)

        return wrapper

    return decorator
