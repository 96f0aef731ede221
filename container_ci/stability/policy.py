"""The promotion policy (jobs/promotion.yaml) and the decision it gives per job.

A decision always carries its evidence: the numbers, the window, and the
tests and signatures that held it back."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from container_ci.errors import BadInput
from container_ci.stability import distance
from container_ci.stability.analysis import (
    DEFAULT_INFRASTRUCTURE,
    JobAnalysis,
    SignatureCluster,
    analyse_job,
)
from container_ci.yaml_source import line_of, load_yaml

if TYPE_CHECKING:
    from container_ci.stability.store import Store


@dataclass(frozen=True)
class PromoteRule:
    """What a job in a stage must show to move one stage up."""

    min_runs: float
    window_days: float
    min_pass_rate_lower_bound: float
    max_flaky_tests: float
    max_unclassified_signatures: float


@dataclass(frozen=True)
class DemoteRule:
    """What sends a job in a stage one stage down."""

    min_runs: float
    window_days: float
    max_pass_rate_upper_bound: float


RULES: dict[str, type[PromoteRule] | type[DemoteRule]] = {
    "promote": PromoteRule,
    "demote": DemoteRule,
}


@dataclass(frozen=True)
class Policy:
    path: Path
    stages: list[str]
    infrastructure_results: list[str]
    promote: dict[str, PromoteRule]
    demote: dict[str, DemoteRule]
    classified: dict[str, str]
    jobs: dict[str, str]

    def window(self, stage: str) -> timedelta | None:
        rule = self.promote.get(stage) or self.demote.get(stage)
        return timedelta(days=rule.window_days) if rule else None


def load_policy(path: Path) -> Policy:
    document = load_yaml(path)
    if not isinstance(document, dict):
        raise BadInput(f"{path}:1: the policy must be a mapping")

    def fail(location: list[str | int], message: str) -> BadInput:
        return BadInput(
            f"{path}:{line_of(document, location)}: {'.'.join(map(str, location))}: {message}"
        )

    stages = document.get("stages")
    if not isinstance(stages, list) or not stages:
        raise fail(["stages"], "a list of stage names is required")
    rules: dict[str, dict[str, Any]] = {}
    for section, rule_class in RULES.items():
        keys = {f.name for f in fields(rule_class)}
        rules[section] = {}
        for stage, rule in (document.get(section) or {}).items():
            if stage not in stages:
                raise fail([section, stage], f"unknown stage; stages: {', '.join(stages)}")
            if not isinstance(rule, dict) or set(rule) != keys:
                raise fail([section, stage], f"needs exactly {', '.join(sorted(keys))}")
            for key, value in rule.items():
                if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                    raise fail([section, stage, key], f"{value!r} is not a non-negative number")
            rules[section][str(stage)] = rule_class(**{str(k): float(v) for k, v in rule.items()})
    jobs: dict[str, str] = {}
    for job, stage in (document.get("jobs") or {}).items():
        if stage not in stages:
            raise fail(["jobs", job], f"unknown stage {stage!r}; stages: {', '.join(stages)}")
        jobs[str(job)] = str(stage)
    return Policy(
        path=path,
        stages=[str(s) for s in stages],
        infrastructure_results=[str(r) for r in document.get("infrastructure_results") or []],
        promote=rules["promote"],
        demote=rules["demote"],
        classified={
            str(k): str(v) for k, v in (document.get("classified_signatures") or {}).items()
        },
        jobs=jobs,
    )


@dataclass(frozen=True)
class FailingTest:
    test: str
    failures: int
    runs: int


@dataclass(frozen=True)
class FlakyTest:
    test: str
    flips: int  # (change, patchset) pairs on which it both passed and failed


@dataclass(frozen=True)
class SignatureEvidence:
    digest: str  # the first 12 hex digits: enough to find it in a report
    count: int
    tests: list[str]
    text: str  # the normalised failure text, cut to 200 characters


@dataclass(frozen=True)
class Evidence:
    """The numbers a decision rests on, as a reviewer reads them: what was
    counted, over which window, and what held the job back."""

    window: tuple[str | None, str | None]  # ISO times of the first and last build counted
    runs: int
    passed: int
    failed: int
    infrastructure: int  # infrastructure failures set aside
    pass_rate: float
    interval_95: tuple[float, float]  # the pass rate's 95% Wilson interval
    flaky_tests: list[FlakyTest]
    failing_tests: list[FailingTest]  # the ten with failures, worst first
    unclassified_signatures: list[SignatureEvidence]  # the first ten


Verdict = Literal["PROMOTE", "DEMOTE", "HOLD"]


@dataclass(frozen=True)
class Decision:
    job: str
    stage: str
    verdict: Verdict
    target_stage: str | None  # the stage PROMOTE or DEMOTE moves the job to
    reasons: list[str]
    evidence: Evidence
    # How far the job is from a move at its current history (distance.py):
    # None where the stage has no such rule or no count reaches it.
    passes_to_promote: int | None = None
    failures_to_demote: int | None = None

    @property
    def outlook(self) -> list[str]:
        """What would change the verdict, in a reviewer's words."""
        lines = []
        if self.passes_to_promote is not None and self.verdict != "PROMOTE":
            others = [r for r in self.reasons if "flaky" in r or "signature" in r]
            lines.append(
                f"promotes after {self.passes_to_promote} more consecutive pass(es)"
                + (" once nothing else holds it" if others else "")
            )
        if self.failures_to_demote is not None and self.verdict != "DEMOTE":
            lines.append(f"demotes after {self.failures_to_demote} more consecutive failure(s)")
        return lines

    def lines(self) -> list[str]:
        """The verdict as a report states it: the move, each reason, and
        what would change it."""
        move = f" -> {self.target_stage}" if self.target_stage else ""
        return [
            f"{self.verdict} ({self.stage}{move})",
            *(f"because: {reason}" for reason in self.reasons),
            *(f"outlook: {line}" for line in self.outlook),
        ]

    @property
    def is_due(self) -> bool:
        """A move to make (and review): PROMOTE or DEMOTE."""
        return self.verdict != "HOLD"


def evidence_of(analysis: JobAnalysis, unclassified: list[SignatureCluster]) -> Evidence:
    rate = analysis.pass_rate
    low, high = rate.interval
    return Evidence(
        window=(_iso(analysis.since), _iso(analysis.until)),
        runs=rate.runs,
        passed=rate.passed,
        failed=rate.failed,
        infrastructure=rate.infrastructure,
        pass_rate=round(rate.rate, 4),
        interval_95=(round(low, 4), round(high, 4)),
        flaky_tests=[FlakyTest(t.test_id, t.flips) for t in analysis.flaky_tests],
        failing_tests=[
            FailingTest(t.test_id, t.failures, t.runs) for t in analysis.tests if t.failures
        ][:10],
        unclassified_signatures=[
            SignatureEvidence(s.digest[:12], s.count, s.tests[:3], s.normalized[:200])
            for s in unclassified[:10]
        ],
    )


def decide(policy: Policy, job: str, stage: str, analysis: JobAnalysis) -> Decision:
    """The verdict and its reasons (`_verdict`), and how far the job is from
    either move."""
    decision = _verdict(policy, job, stage, analysis)
    rate = analysis.pass_rate
    promotion, demotion = policy.promote.get(stage), policy.demote.get(stage)
    return replace(
        decision,
        passes_to_promote=(
            distance.passes_to_promote(
                rate.passed, rate.runs, promotion.min_runs, promotion.min_pass_rate_lower_bound
            )
            if promotion
            else None
        ),
        failures_to_demote=(
            distance.failures_to_demote(
                rate.passed, rate.runs, demotion.min_runs, demotion.max_pass_rate_upper_bound
            )
            if demotion
            else None
        ),
    )


def _verdict(policy: Policy, job: str, stage: str, analysis: JobAnalysis) -> Decision:
    rate = analysis.pass_rate
    low, high = rate.interval
    unclassified = [s for s in analysis.signatures if s.digest not in policy.classified]
    evidence = evidence_of(analysis, unclassified)
    index = policy.stages.index(stage)
    demotion = policy.demote.get(stage)
    if demotion and rate.runs >= demotion.min_runs and high <= demotion.max_pass_rate_upper_bound:
        return Decision(
            job,
            stage,
            "DEMOTE",
            policy.stages[index - 1] if index else None,
            [
                f"pass rate upper bound {high:.3f} <= {demotion.max_pass_rate_upper_bound:.3f}"
                f" over {rate.runs} runs"
            ],
            evidence,
        )
    promotion = policy.promote.get(stage)
    if promotion is None:
        return Decision(job, stage, "HOLD", None, [f"{stage} is the last stage"], evidence)
    reasons: list[str] = []
    if rate.runs < promotion.min_runs:
        reasons.append(f"{rate.runs} runs < {promotion.min_runs:.0f} needed")
    if low < promotion.min_pass_rate_lower_bound:
        reasons.append(
            f"pass rate {rate.rate:.3f}, lower bound {low:.3f} < "
            f"{promotion.min_pass_rate_lower_bound:.3f}"
        )
    if len(analysis.flaky_tests) > promotion.max_flaky_tests:
        names = ", ".join(f"{t.test_id} ({t.flips} flips)" for t in analysis.flaky_tests[:5])
        allowed = promotion.max_flaky_tests
        reasons.append(f"{len(analysis.flaky_tests)} flaky test(s) > {allowed:.0f}: {names}")
    if len(unclassified) > promotion.max_unclassified_signatures:
        reasons.append(
            f"{len(unclassified)} unclassified failure signature(s) > "
            f"{promotion.max_unclassified_signatures:.0f}"
        )
    if reasons:
        return Decision(job, stage, "HOLD", None, reasons, evidence)
    return Decision(
        job,
        stage,
        "PROMOTE",
        policy.stages[index + 1],
        [
            f"{rate.runs} runs, pass rate {rate.rate:.3f} (95% lower bound {low:.3f}), "
            f"{len(analysis.flaky_tests)} flaky, {len(unclassified)} unclassified signature(s)"
        ],
        evidence,
    )


def decide_jobs(store: Store, policy: Policy, only: str | None = None) -> list[Decision]:
    """Each job of the policy's `jobs:` (or only `only`), analysed over its
    stage's window, and the decision the policy gives it."""
    if only and only not in policy.jobs:
        raise BadInput(f"{policy.path}: job {only!r} has no stage under `jobs:`")
    selected = {only: policy.jobs[only]} if only else policy.jobs
    infrastructure = policy.infrastructure_results or DEFAULT_INFRASTRUCTURE
    with store.session() as session:
        return [
            decide(
                policy,
                job,
                stage,
                analyse_job(session, job, policy.window(stage), infrastructure=infrastructure),
            )
            for job, stage in selected.items()
        ]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
