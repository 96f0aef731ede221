"""A sequential test for promotion: Wald's SPRT on a job's pass rate.

The fixed-n rule (policy.py) waits for `min_runs` runs whatever they show,
so a job that passes everything waits as long as one that barely makes it.
Wald's sequential probability ratio test weighs each run as it comes:
between an *unacceptable* pass rate p0 and an *acceptable* one p1 > p0, the
log-likelihood ratio of the window's runs is

    LLR = passed * log(p1 / p0) + failed * log((1 - p1) / (1 - p0))

It accepts "acceptable" once LLR >= log((1 - beta) / alpha) and
"unacceptable" once LLR <= log(beta / (1 - alpha)), and neither before
`min_runs` runs (a floor: no decision from a handful of runs, whatever the
parameters). With p0 = 0.80, p1 = 0.95, alpha = beta = 0.10 a run of 13
passes accepts, and one failure costs eight passes.

Error rates, and why they hold (Ville's inequality: a non-negative
martingale with mean 1 ever reaches A with probability at most 1/A):

- For a job whose true pass rate is at most p0, the likelihood ratio
  exp(LLR) is a non-negative supermartingale with mean at most 1, so the
  test ever accepts "acceptable", at any run, with probability at most
  alpha / (1 - beta). That holds however long the job runs, however often
  it is looked at, with or without the floor, and whatever the lower bound
  did meanwhile: this module decides from the counts, so "unacceptable"
  does not stop the test (it is a reason to hold, and more passes can still
  promote), which only ever lowers the chance of promoting. Further below
  p0 the bound is sharper: exp(LLR * theta) is a martingale for the theta
  > 1 that `promotion_probability_bound` solves, so the chance is at most
  ((1 - beta) / alpha) ** -theta (0.014 for a 0.70 job under the numbers
  above).
- For a job whose true pass rate is at least p1, the test ever accepts
  "unacceptable" with probability at most beta / (1 - alpha) (the same
  argument on the inverse ratio). How often such a job is promoted within
  its window depends on how many runs the window holds: bench/promotion
  measures it.

The guarantee is for runs counted as they arrive. The policy counts the
runs of the stage's window; once runs leave the window the counts restart
from a later point, a new look at fresh evidence that the bound does not
cover across windows (the fixed-n rule has the same property)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Outcome = Literal["acceptable", "unacceptable", "undecided"]


@dataclass(frozen=True)
class SequentialRule:
    """The SPRT's parameters, as `promote.<stage>.sequential` states them."""

    acceptable_pass_rate: float  # p1: a job this good is promoted with probability 1 - beta
    unacceptable_pass_rate: float  # p0: a job this bad is promoted with probability <= alpha
    alpha: float
    beta: float
    min_runs: float  # no decision, either way, before this many runs

    @property
    def pass_weight(self) -> float:
        """What one pass adds to the log-likelihood ratio (> 0)."""
        return math.log(self.acceptable_pass_rate / self.unacceptable_pass_rate)

    @property
    def failure_weight(self) -> float:
        """What one failure adds to the log-likelihood ratio (< 0)."""
        return math.log((1 - self.acceptable_pass_rate) / (1 - self.unacceptable_pass_rate))

    @property
    def upper(self) -> float:
        """Accept "acceptable" at or above this log-likelihood ratio."""
        return math.log((1 - self.beta) / self.alpha)

    @property
    def lower(self) -> float:
        """Accept "unacceptable" at or below this log-likelihood ratio."""
        return math.log(self.beta / (1 - self.alpha))


def problems(rule: SequentialRule) -> list[tuple[str, str]]:
    """What makes the parameters meaningless, as (field, message) pairs: the
    test needs 0 < p0 < p1 < 1 and bounds on either side of 0."""
    found = []
    p0, p1 = rule.unacceptable_pass_rate, rule.acceptable_pass_rate
    if not 0 < p0 < 1:
        found.append(("unacceptable_pass_rate", f"{p0!r} is not strictly between 0 and 1"))
    if not 0 < p1 < 1:
        found.append(("acceptable_pass_rate", f"{p1!r} is not strictly between 0 and 1"))
    elif 0 < p0 < 1 and p1 <= p0:
        found.append(("acceptable_pass_rate", f"{p1!r} is not above unacceptable_pass_rate {p0!r}"))
    for name, value in (("alpha", rule.alpha), ("beta", rule.beta)):
        if not 0 < value < 1:
            found.append((name, f"{value!r} is not strictly between 0 and 1"))
    if 0 < rule.alpha < 1 and 0 < rule.beta < 1 and rule.alpha + rule.beta >= 1:
        found.append(("beta", f"alpha + beta = {rule.alpha + rule.beta!r} is not below 1"))
    return found


@dataclass(frozen=True)
class Standing:
    """Where the test stands on a window's counts."""

    outcome: Outcome
    llr: float
    runs: int
    passed: int

    def reason(self, rule: SequentialRule) -> str:
        """The test's state as a reason line of a decision."""
        if self.runs < rule.min_runs:
            return (
                f"sequential test: {self.runs} runs < {rule.min_runs:.0f} needed "
                f"(log-likelihood ratio {self.llr:.3f})"
            )
        compared = {
            "acceptable": f">= bound {rule.upper:.3f}",
            "unacceptable": f"<= bound {rule.lower:.3f}",
            "undecided": f"< bound {rule.upper:.3f}",
        }[self.outcome]
        return (
            f"sequential test: log-likelihood ratio {self.llr:.3f} {compared} after "
            f"{self.runs} runs ({self.passed} passed): {self.outcome} (pass rate "
            f"{rule.acceptable_pass_rate:.2f} vs {rule.unacceptable_pass_rate:.2f}, "
            f"alpha {rule.alpha:.2f}, beta {rule.beta:.2f})"
        )


def llr(rule: SequentialRule, passed: int, runs: int) -> float:
    """The log-likelihood ratio of `passed` passes in `runs` runs, p1 vs p0."""
    return passed * rule.pass_weight + (runs - passed) * rule.failure_weight


def evaluate(rule: SequentialRule, passed: int, runs: int) -> Standing:
    """The test's outcome on `passed` of `runs` runs. Only the counts
    matter: the ratio of Bernoulli likelihoods does not depend on order."""
    ratio = llr(rule, passed, runs)
    outcome: Outcome = "undecided"
    if runs >= rule.min_runs:
        if ratio >= rule.upper:
            outcome = "acceptable"
        elif ratio <= rule.lower:
            outcome = "unacceptable"
    return Standing(outcome, ratio, runs, passed)


def passes_to_accept(rule: SequentialRule, passed: int, runs: int) -> int:
    """The fewest more passes, in a row, after which the test accepts
    "acceptable": always a number, each pass adds a fixed amount."""
    floor = max(0, math.ceil(rule.min_runs) - runs)
    more = max(floor, math.ceil((rule.upper - llr(rule, passed, runs)) / rule.pass_weight))
    # The division's rounding may be one off; the test itself decides.
    while (
        more > floor and evaluate(rule, passed + more - 1, runs + more - 1).outcome == "acceptable"
    ):
        more -= 1
    while evaluate(rule, passed + more, runs + more).outcome != "acceptable":
        more += 1
    return more


def promotion_probability_bound(rule: SequentialRule, true_rate: float) -> float:
    """An upper bound on the chance that the test ever accepts "acceptable"
    for a job whose runs pass with probability `true_rate`, over any number
    of runs: A ** -theta with A = (1 - beta) / alpha and theta > 0 the root
    of E[exp(theta * step)] = 1 (exp(theta * LLR) is then a martingale, and
    Ville's inequality bounds its reaching A ** theta). theta = 1 at p0, so
    the bound there is alpha / (1 - beta). 1.0 where runs raise the ratio on
    average (no bound below 1)."""
    p = true_rate
    up, down = (
        rule.acceptable_pass_rate / rule.unacceptable_pass_rate,
        (1 - rule.acceptable_pass_rate) / (1 - rule.unacceptable_pass_rate),
    )

    def moment(theta: float) -> float:
        return p * math.pow(up, theta) + (1 - p) * math.pow(down, theta) - 1

    if p >= 1 or p * math.log(up) + (1 - p) * math.log(down) >= 0:
        return 1.0
    if p <= 0:
        return 0.0
    # moment(0) = 0, dips below 0 (negative drift), then grows without
    # bound: the root is past the dip; bracket it, then bisect.
    low, high = 0.0, 1.0
    while moment(high) < 0:
        low, high = high, high * 2
    for _ in range(100):
        middle = (low + high) / 2
        if moment(middle) < 0:
            low = middle
        else:
            high = middle
    return min(1.0, math.exp(-high * rule.upper))
