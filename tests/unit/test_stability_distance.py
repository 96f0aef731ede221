"""How far a job is from promotion or demotion, checked against the Wilson
bound itself: after the returned number of runs the rule holds, one fewer
and it does not."""

from __future__ import annotations

import pytest

from container_ci.stability.analysis import wilson_interval
from container_ci.stability.distance import failures_to_demote, passes_to_promote


@pytest.mark.parametrize(
    ("passed", "runs", "min_runs", "bound"),
    [(0, 0, 20, 0.80), (3, 3, 20, 0.80), (18, 20, 20, 0.80), (40, 50, 50, 0.90),
     (95, 100, 100, 0.95), (10, 30, 20, 0.80), (200, 200, 20, 0.80)],
)  # fmt: skip
def test_the_passes_to_promote_are_the_fewest_that_satisfy_the_rule(passed, runs, min_runs, bound):
    more = passes_to_promote(passed, runs, min_runs, bound)
    assert more is not None

    def holds(k: int) -> bool:
        return runs + k >= min_runs and wilson_interval(passed + k, runs + k)[0] >= bound

    assert holds(more)
    assert more == 0 or not holds(more - 1)


def test_known_figures():
    # From nothing, the 0.80 bound needs 16 passes but the rule 20 runs.
    assert passes_to_promote(0, 0, 20, 0.80) == 20
    # A 0.95 lower bound from nothing: n / (n + 1.96^2) >= 0.95 -> 73 passes.
    assert passes_to_promote(0, 0, 1, 0.95) == 73
    # One failure in 20 costs more than one pass.
    assert passes_to_promote(19, 20, 20, 0.80) > passes_to_promote(20, 20, 20, 0.80)
    assert passes_to_promote(5, 5, 5, 1.0) is None


@pytest.mark.parametrize(
    ("passed", "runs", "min_runs", "bound"),
    [(0, 0, 10, 0.60), (10, 10, 10, 0.60), (95, 100, 10, 0.80), (5, 20, 10, 0.90)],
)
def test_the_failures_to_demote_are_the_fewest_that_satisfy_the_rule(passed, runs, min_runs, bound):
    more = failures_to_demote(passed, runs, min_runs, bound)
    assert more is not None

    def holds(k: int) -> bool:
        return runs + k >= min_runs and wilson_interval(passed, runs + k)[1] <= bound

    assert holds(more)
    assert more == 0 or not holds(more - 1)
