"""Skips from the capability matrix: the single source of which operations a
driver lacks, shared with the scenario runner."""

from __future__ import annotations

import functools
from pathlib import Path

import testtools
from tempest import config

from container_ci import paths
from container_ci.scenarios.loader import load_capabilities
from container_ci.scenarios.model import compute_driver_row

CONF = config.CONF


@functools.cache
def _matrix(path: str):
    return load_capabilities(Path(path))


def unsupported_reason(driver: str, op: str, matrix_path: str | None = None) -> str | None:
    """The matrix's reason when compute driver `driver` lacks `op`, else None.
    Its row is `compute_drivers.<driver>`, the one the runner's nova target uses."""
    path = matrix_path or str(paths.default_scenarios_dir() / "capabilities.yaml")
    matrix = _matrix(path)
    row = compute_driver_row(driver)
    if row not in matrix.rows:
        known = ", ".join(matrix.compute_drivers())
        return f"no capabilities declared for compute driver {driver!r} in {path} (known: {known})"
    capability = matrix.capability(row, op)
    return None if capability.supported else capability.reason


def requires(op: str):
    """Skip the test when the configured driver lacks `op` (reason from the matrix)."""

    def decorator(test):
        test.container_ci_op = op

        @functools.wraps(test)
        def wrapper(self, *args, **kwargs):
            driver = CONF.container_ci.compute_driver
            reason = unsupported_reason(driver, op, CONF.container_ci.capabilities_file or None)
            if reason:
                raise testtools.TestCase.skipException(f"{driver} does not support {op}: {reason}")
            return test(self, *args, **kwargs)

        return wrapper

    return decorator
