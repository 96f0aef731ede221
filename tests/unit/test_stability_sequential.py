"""The sequential test (Wald's SPRT) in promotion decisions: early
promotion, the "unacceptable" hold, what still holds a job, the exact
distance, the policy's checks, and bad jobs kept out (seeded simulation)."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest

from container_ci.errors import BadInput
from container_ci.stability.analysis import JobAnalysis, PassRate, analyse_job, wilson_interval
from container_ci.stability.distance import passes_to_promote
from container_ci.stability.policy import Decision, Policy, decide, load_policy
from container_ci.stability.sequential import (
    SequentialRule,
    evaluate,
    passes_to_accept,
    promotion_probability_bound,
)
from container_ci.stability.store import Store
from tests.fakes.stability_data import zuul_history
from tests.helpers import REPO

JOB = "container-ci-lxc"
TESTS = ["t.lifecycle", "t.snapshot", "t.rebuild"]

SEQUENTIAL = """\
    sequential:
      acceptable_pass_rate: 0.95
      unacceptable_pass_rate: 0.80
      alpha: 0.10
      beta: 0.10
      min_runs: 5
"""
POLICY = f"""\
stages: [experimental, check-non-voting, check-voting, gate]
infrastructure_results: [NODE_FAILURE, RETRY_LIMIT, POST_FAILURE, TIMED_OUT]
promote:
  experimental:
    min_runs: 20
    window_days: 14
    min_pass_rate_lower_bound: 0.80
    max_flaky_tests: 0
    max_unclassified_signatures: 3
{SEQUENTIAL}\
demote:
  check-non-voting:
    min_runs: 10
    window_days: 14
    max_pass_rate_upper_bound: 0.60
classified_signatures: {{}}
jobs:
  {JOB}: experimental
"""
RULE = SequentialRule(0.95, 0.80, 0.10, 0.10, 5)


def policy_file(tmp_path: Path, text: str = POLICY) -> Path:
    path = tmp_path / "promotion.yaml"
    path.write_text(text)
    return path


def decision(
    store: Store, tmp_path: Path, failures: dict[int, str], builds: int, **kw: int
) -> Decision:
    """The experimental stage's decision on a generated history, analysed
    over the stage's window as `stability decide` does."""
    zuul_history(store, JOB, TESTS, failures, builds=builds, **kw)
    policy = load_policy(policy_file(tmp_path))
    with store.session() as session:
        analysis = analyse_job(session, JOB, policy.window("experimental"))
    return decide(policy, JOB, "experimental", analysis)


def test_thirteen_passes_promote_before_min_runs_and_say_which_rule(store, tmp_path):
    done = decision(store, tmp_path, failures={}, builds=13)
    assert (done.verdict, done.target_stage) == ("PROMOTE", "check-non-voting")
    [reason] = done.reasons
    # 13 x log(0.95 / 0.80) = 2.234 >= log(0.9 / 0.1) = 2.197
    assert reason.startswith(
        "sequential test: log-likelihood ratio 2.234 >= bound 2.197 after 13 runs (13 passed)"
    )
    assert reason.endswith("0 flaky, 0 unclassified signature(s)")


def test_twelve_passes_hold_and_the_outlook_is_one_more(store, tmp_path):
    done = decision(store, tmp_path, failures={}, builds=12)
    assert done.verdict == "HOLD"
    assert done.reasons == [
        "12 runs < 20 needed",
        f"pass rate 1.000, lower bound {wilson_interval(12, 12)[0]:.3f} < 0.800",
        "sequential test: log-likelihood ratio 2.062 < bound 2.197 after 12 runs (12 passed): "
        "undecided (pass rate 0.95 vs 0.80, alpha 0.10, beta 0.10)",
    ]
    assert done.passes_to_promote == 1
    assert done.outlook == ["promotes after 1 more consecutive pass(es)"]


def test_without_sequential_the_same_history_waits_for_min_runs(store, tmp_path):
    zuul_history(store, JOB, TESTS, {}, builds=13)
    policy = load_policy(policy_file(tmp_path, POLICY.replace(SEQUENTIAL, "")))
    assert policy.promote["experimental"].sequential is None
    with store.session() as session:
        analysis = analyse_job(session, JOB, policy.window("experimental"))
    done = decide(policy, JOB, "experimental", analysis)
    assert done.verdict == "HOLD" and done.passes_to_promote == 7
    assert not any("sequential" in reason for reason in done.reasons)


def test_an_unacceptable_job_is_held_not_demoted(store, tmp_path):
    # 7 passes, 3 failures: 7 x 0.172 + 3 x log(0.05 / 0.20) = -2.956 <= -2.197.
    done = decision(store, tmp_path, failures={1: "t.snapshot", 2: "t.snapshot", 5: "t.rebuild"},
                    builds=10)  # fmt: skip
    assert done.verdict == "HOLD" and done.target_stage is None
    assert (
        "sequential test: log-likelihood ratio -2.956 <= bound -2.197 after 10 runs (7 passed): "
        "unacceptable (pass rate 0.95 vs 0.80, alpha 0.10, beta 0.10)"
    ) in done.reasons
    # Passes can still promote it: 30 of them bring the ratio to 2.20.
    assert done.passes_to_promote == 30


def test_a_flaky_test_still_holds_a_job_the_sequential_test_accepts(store, tmp_path):
    # 21 of 22 runs passed (the recheck is a run): the ratio 2.223 accepts,
    # the Wilson bound (0.782) alone would not; the flaky test holds it.
    done = decision(store, tmp_path, failures={4: "t.rebuild"}, builds=21, flaky_at=4)
    assert evaluate(RULE, 21, 22).outcome == "acceptable"
    assert done.verdict == "HOLD"
    assert done.reasons == ["1 flaky test(s) > 0: t.rebuild (1 flips)"]
    assert done.outlook == ["promotes after 0 more consecutive pass(es) once nothing else holds it"]


@pytest.mark.parametrize(
    ("passed", "runs"),
    [(0, 0), (3, 3), (12, 12), (13, 13), (0, 2), (7, 10), (21, 22), (18, 20), (40, 50)],
)
def test_the_distance_is_the_fewest_passes_either_rule_needs(passed, runs):
    more = passes_to_promote(passed, runs, 20, 0.80, RULE)
    assert more is not None

    def holds(k: int) -> bool:
        fixed_n = runs + k >= 20 and wilson_interval(passed + k, runs + k)[0] >= 0.80
        return fixed_n or evaluate(RULE, passed + k, runs + k).outcome == "acceptable"

    assert holds(more)
    assert more == 0 or not holds(more - 1)
    assert more <= passes_to_promote(passed, runs, 20, 0.80)  # never further than fixed-n


def test_the_floor_keeps_the_test_from_deciding_early():
    eager = SequentialRule(0.95, 0.50, 0.10, 0.10, 5)  # one pass weighs 0.64: 4 would do
    assert passes_to_accept(replace(eager, min_runs=0), 0, 0) == 4
    assert passes_to_accept(eager, 0, 0) == 5
    assert evaluate(eager, 4, 4).outcome == "undecided"
    assert evaluate(eager, 0, 3).outcome == "undecided"  # nor "unacceptable" before it


@pytest.mark.parametrize(
    ("replacement", "line", "message"),
    [
        ("alpha: 0.10", 13, "promote.experimental.sequential.alpha: 1.5 is not strictly between"),
        ("acceptable_pass_rate: 0.95", 11,
         "sequential.acceptable_pass_rate: 0.7 is not above unacceptable_pass_rate 0.8"),
        ("beta: 0.10", 14, "sequential.beta: 'some' is not a non-negative number"),
        ("min_runs: 5", 10, "promote.experimental.sequential: needs exactly acceptable_pass_rate"),
    ],
)  # fmt: skip
def test_a_bad_sequential_rule_names_file_and_line(tmp_path, replacement, line, message):
    value = {"alpha: 0.10": "alpha: 1.5", "acceptable_pass_rate: 0.95": "acceptable_pass_rate: 0.7",
             "beta: 0.10": "beta: some", "min_runs: 5": "floor: 5"}[replacement]  # fmt: skip
    path = policy_file(tmp_path, POLICY.replace(f"      {replacement}", f"      {value}"))
    with pytest.raises(BadInput) as raised:
        load_policy(path)
    assert str(raised.value).startswith(f"{path}:{line}: ")
    assert message in str(raised.value)


def test_sequential_is_a_promote_rule_only(tmp_path):
    text = POLICY.replace("    max_pass_rate_upper_bound: 0.60\n",
                          "    max_pass_rate_upper_bound: 0.60\n" + SEQUENTIAL)  # fmt: skip
    with pytest.raises(BadInput, match=r":17: demote.check-non-voting: needs exactly"):
        load_policy(policy_file(tmp_path, text))


def test_the_guaranteed_bound_is_alpha_over_one_minus_beta_at_p0_and_falls_below():
    assert promotion_probability_bound(RULE, 0.80) == pytest.approx(0.10 / 0.90)
    bounds = [promotion_probability_bound(RULE, p) for p in (0.80, 0.75, 0.70, 0.50)]
    assert bounds == sorted(bounds, reverse=True) and bounds[2] < 0.05
    assert promotion_probability_bound(RULE, 0.95) == 1.0


def simulated_promotions(policy: Policy, rate: float, jobs: int, budget: int, seed: int) -> float:
    """The share of `jobs` simulated jobs of true pass rate `rate` that
    `decide` promotes within `budget` runs, one run at a time."""
    rng = random.Random(seed)
    verdicts: dict[tuple[int, int], bool] = {}
    promoted = 0
    for _ in range(jobs):
        passed = 0
        for runs in range(1, budget + 1):
            passed += rng.random() < rate
            if (passed, runs) not in verdicts:
                counts = PassRate(runs, passed, runs - passed, 0, 0)
                analysis = JobAnalysis(JOB, None, None, counts, [], [], [])
                verdicts[passed, runs] = (
                    decide(policy, JOB, "experimental", analysis).verdict == "PROMOTE"
                )
            if verdicts[passed, runs]:
                promoted += 1
                break
    return promoted / jobs


def test_bad_jobs_are_rarely_promoted_early_by_the_shipped_policy():
    """Seeded: jobs ten points below the shipped experimental threshold,
    over 56 runs (14 days at 4 a day), promoted at most 5% of the time; the
    sequential test on its own stays under its bound at p0 itself."""
    shipped = load_policy(REPO / "jobs" / "promotion.yaml")
    rule = shipped.promote["experimental"]
    assert rule.sequential is not None
    bad = rule.min_pass_rate_lower_bound - 0.10
    assert simulated_promotions(shipped, bad, 2000, 56, seed=18) <= 0.05
    alone = replace(shipped, promote={"experimental": replace(rule, min_pass_rate_lower_bound=1.0)})
    p0 = rule.sequential.unacceptable_pass_rate
    bound = promotion_probability_bound(rule.sequential, p0)
    assert simulated_promotions(alone, p0, 2000, 56, seed=18) <= bound


def test_the_shipped_policy_promotes_a_clean_job_well_before_min_runs():
    shipped = load_policy(REPO / "jobs" / "promotion.yaml")
    rule = shipped.promote["experimental"]
    assert rule.sequential is not None
    early = passes_to_accept(rule.sequential, 0, 0)
    assert early <= 0.7 * rule.min_runs
    counts = PassRate(early, early, 0, 0, 0)
    done = decide(shipped, JOB, "experimental", JobAnalysis(JOB, None, None, counts, [], [], []))
    assert done.verdict == "PROMOTE" and done.reasons[0].startswith("sequential test:")
