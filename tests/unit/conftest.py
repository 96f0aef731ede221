"""Fixtures the unit tests share."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from container_ci.stability.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A fresh stability store (SQLite) of the test's own."""
    with Store(f"sqlite:///{tmp_path / 'store.sqlite'}") as opened:
        yield opened


# Hypothesis profiles for the fuzz properties (tests/unit/test_fuzz_inputs.py):
# `ci` (the default) runs a few hundred examples per parser, the same ones
# every run (derandomized: a CI run never fails on an input the previous one
# did not draw); `bench` (bench/fuzz: HYPOTHESIS_PROFILE=bench) at least
# 10,000 per parser, new ones each run. No deadline: an example's time
# depends on the machine's load, and the bounds are what keep it short.
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "bench",
    max_examples=10_000,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
