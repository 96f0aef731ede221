"""How far a job is from a move: the consecutive passes that would promote
it and the consecutive failures that would demote it, exactly, from the
policy's bound on the 95% Wilson interval at the job's current history.

A reviewer reading HOLD wants to know whether the job is two runs or two
months away; "20 runs needed" says neither when the bound, not the count,
is what holds it. The answer assumes nothing else changes: no run leaves
the window meanwhile, and flaky tests and unclassified signatures (which
passes do not clear) are reported as reasons of their own.

Where the stage has a sequential test too (sequential.py), either rule
promotes, so the distance is the nearer of the two."""

from __future__ import annotations

from container_ci.stability import sequential as sprt
from container_ci.stability.analysis import wilson_interval

# Beyond this many more runs, a bound is called out of reach (a lower bound
# of 0.999 needs about 3,840 passes from nothing).
LOOKAHEAD = 100_000


def passes_to_promote(
    passed: int,
    runs: int,
    min_runs: float,
    min_lower_bound: float,
    sequential: sprt.SequentialRule | None = None,
) -> int | None:
    """The fewest more passes, in a row, after which the run count reaches
    `min_runs` and the pass rate's lower bound reaches `min_lower_bound`,
    or the `sequential` test accepts the job; None when no number of passes
    would (a bound of 1 or more, and no sequential test)."""
    early = sprt.passes_to_accept(sequential, passed, runs) if sequential else None
    if min_lower_bound >= 1.0:
        return early
    needed = max(0, int(-(-min_runs // 1)) - runs)  # ceil, without float noise
    more = needed
    # Past the sequential test's distance the bound cannot be the nearer.
    while more <= (LOOKAHEAD if early is None else min(early, LOOKAHEAD)):
        low, _ = wilson_interval(passed + more, runs + more)
        if low >= min_lower_bound:
            return more
        more += 1
    return early


def failures_to_demote(
    passed: int, runs: int, min_runs: float, max_upper_bound: float
) -> int | None:
    """The fewest more failures, in a row, after which the run count reaches
    `min_runs` and the pass rate's upper bound falls to `max_upper_bound`;
    None when no number of failures would (a bound below 0)."""
    if max_upper_bound < 0.0:
        return None
    needed = max(0, int(-(-min_runs // 1)) - runs)
    more = needed
    while more <= LOOKAHEAD:
        _, high = wilson_interval(passed, runs + more)
        if high <= max_upper_bound:
            return more
        more += 1
    return None
