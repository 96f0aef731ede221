"""The promotion policy (jobs/promotion.yaml) and the decision it gives per job.

A decision always carries its evidence: the numbers, the window, and the
tests and signatures that held it back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from container_ci.errors import BadInput
from container_ci.stability import distance, sequential
from container_ci.stability.analysis import (
    DEFAULT_INFRASTRUCTURE,
    JobAnalysis,
    SignatureCluster,
    analyse_job,
    as_utc,
    store_clock,
)
from container_ci.stability.quarantine import Quarantine, parse_entry
from container_ci.stability.sequential import SequentialRule
from container_ci.yaml_source import line_of, load_yaml

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from container_ci.stability.store import Store


MAX_STALE_DAYS = 36500  # a hundred years: no limit, and still a timedelta


@dataclass(frozen=True)
class PromoteRule:
    """What a job in a stage must show to move one stage up."""

    min_runs: float
    window_days: float
    min_pass_rate_lower_bound: float
    max_flaky_tests: float
    max_unclassified_signatures: float
    # Optional: Wald's SPRT (sequential.py), which may promote before
    # min_runs when the evidence is overwhelming.
    sequential: SequentialRule | None = None


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
    classified: dict[str, str]  # digest -> reason, of the entries not expired as of `today`
    jobs: dict[str, str]
    # Every classified_signatures entry, expired ones too, with its line.
    quarantined: dict[str, Quarantine] = field(default_factory=dict)
    # A job whose newest build is older than this (before the store's newest
    # build) is STALE and held; None: no limit.
    stale_after_days: float | None = None
    today: date = field(default_factory=date.today)  # what `classified` was judged against

    def expired(self, today: date | None = None) -> dict[str, Quarantine]:
        """The classified signatures whose expiry date is past: counted as
        unclassified again."""
        when = today or self.today
        return {digest: q for digest, q in self.quarantined.items() if q.expired(when)}

    def window(self, stage: str) -> timedelta | None:
        rule = self.promote.get(stage) or self.demote.get(stage)
        return timedelta(days=rule.window_days) if rule else None


def load_policy(path: Path, today: date | None = None) -> Policy:
    """The policy; classified signatures expired as of `today` (default: the
    real today) are left out of `classified`."""
    document = load_yaml(path)
    if not isinstance(document, dict):
        raise BadInput(f"{path}:1: the policy must be a mapping")

    def fail(location: list[str | int], message: str) -> BadInput:
        return BadInput(
            f"{path}:{line_of(document, location)}: {'.'.join(map(str, location))}: {message}"
        )

    stages = document.get("stages")
    if not isinstance(stages, list) or not stages or not all(isinstance(s, str) for s in stages):
        raise fail(["stages"], "a list of stage names is required")
    rules: dict[str, dict[str, Any]] = {}
    for section, rule_class in RULES.items():
        keys = {f.name for f in fields(rule_class) if f.name != "sequential"}
        rules[section] = {}
        section_rules = document.get(section) or {}
        if not isinstance(section_rules, dict):
            raise fail([section], "a mapping of stage to rule")
        for stage, rule in section_rules.items():
            if stage not in stages:
                raise fail([section, stage], f"unknown stage; stages: {', '.join(stages)}")
            optional = {"sequential"} if rule_class is PromoteRule else set()
            if not isinstance(rule, dict) or not keys <= set(rule) <= keys | optional:
                also = f" (and optionally {', '.join(sorted(optional))})" if optional else ""
                raise fail([section, stage], f"needs exactly {', '.join(sorted(keys))}{also}")
            numbers = {str(k): v for k, v in rule.items() if k not in optional}
            for key, value in numbers.items():
                if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                    raise fail([section, stage, key], f"{value!r} is not a non-negative number")
            arguments: dict[str, Any] = {k: float(v) for k, v in numbers.items()}
            if "sequential" in rule:
                arguments["sequential"] = _sequential_rule(
                    rule["sequential"], [section, stage], fail
                )
            rules[section][str(stage)] = rule_class(**arguments)
    jobs: dict[str, str] = {}
    listed = document.get("jobs") or {}
    if not isinstance(listed, dict):
        raise fail(["jobs"], "a mapping of job to stage")
    for job, stage in listed.items():
        if stage not in stages:
            raise fail(["jobs", job], f"unknown stage {stage!r}; stages: {', '.join(stages)}")
        jobs[str(job)] = str(stage)
    quarantined = _classified_signatures(document, fail)
    stale = document.get("stale_after_days")
    if stale is not None and (
        not isinstance(stale, int | float)
        or isinstance(stale, bool)
        or not 0 < stale <= MAX_STALE_DAYS  # NaN fails this too
    ):
        raise fail(
            ["stale_after_days"],
            f"{stale!r} is not a positive number of days (at most {MAX_STALE_DAYS})",
        )
    infrastructure = document.get("infrastructure_results") or []
    if not isinstance(infrastructure, list):
        raise fail(["infrastructure_results"], "a list of Zuul results")
    today = today or date.today()
    return Policy(
        path=path,
        stages=[str(s) for s in stages],
        infrastructure_results=[str(r) for r in infrastructure],
        promote=rules["promote"],
        demote=rules["demote"],
        classified={d: q.reason for d, q in quarantined.items() if not q.expired(today)},
        jobs=jobs,
        quarantined=quarantined,
        stale_after_days=float(stale) if stale is not None else None,
        today=today,
    )


def _classified_signatures(
    document: dict[str, Any], fail: Callable[[list[str | int], str], BadInput]
) -> dict[str, Quarantine]:
    """`digest: reason`, or `digest: {reason, owner, bug, expires}`."""
    section = document.get("classified_signatures") or {}
    if not isinstance(section, dict):
        raise fail(["classified_signatures"], "a mapping of digest -> reason or entry")
    entries: dict[str, Quarantine] = {}
    for digest, value in section.items():
        location: list[str | int] = ["classified_signatures", digest]
        entry, problem = parse_entry(value, line_of(document, location))
        if entry is None:
            raise fail(location, problem or "malformed")
        entries[str(digest)] = entry
    return entries


def _sequential_rule(
    value: Any, location: list[str | int], fail: Callable[[list[str | int], str], BadInput]
) -> SequentialRule:
    """`promote.<stage>.sequential`: the SPRT's five numbers, each checked
    on its own line, then together (sequential.problems)."""
    location = [*location, "sequential"]
    keys = {f.name for f in fields(SequentialRule)}
    if not isinstance(value, dict) or set(value) != keys:
        raise fail(location, f"needs exactly {', '.join(sorted(keys))}")
    for key, number in value.items():
        if not isinstance(number, int | float) or isinstance(number, bool) or number < 0:
            raise fail([*location, key], f"{number!r} is not a non-negative number")
    rule = SequentialRule(**{str(k): float(v) for k, v in value.items()})
    for key, message in sequential.problems(rule):
        raise fail([*location, key], message)
    return rule


@dataclass(frozen=True)
class FailingTest:
    test: str
    failures: int
    runs: int


@dataclass(frozen=True)
class FlakyTest:
    test: str
    flips: int  # (change, patchset) pairs on which it both passed and failed
    builds: int = 0  # builds affected: the counted builds in which it failed


@dataclass(frozen=True)
class SignatureEvidence:
    digest: str  # the first 12 hex digits: enough to find it in a report
    count: int
    tests: list[str]
    text: str  # the normalised failure text, cut to 200 characters
    new: bool = False  # first seen in the store within analysis.NEW_DAYS of its newest build
    first_seen: str | None = None  # first occurrence in the store (any job)


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
    as_of: str | None = None  # the store's newest build: "now" for staleness and newness
    stale: bool = False  # no build for longer than the policy's stale_after_days: held


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
        flaky_tests=[FlakyTest(t.test_id, t.flips, t.failures) for t in analysis.top_flaky],
        failing_tests=[
            FailingTest(t.test_id, t.failures, t.runs) for t in analysis.tests if t.failures
        ][:10],
        unclassified_signatures=[
            SignatureEvidence(
                s.digest[:12],
                s.count,
                s.tests[:3],
                s.normalized[:200],
                s.new,
                _iso(s.first_in_store),
            )
            for s in unclassified[:10]
        ],
        as_of=_iso(analysis.as_of),
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
                rate.passed,
                rate.runs,
                promotion.min_runs,
                promotion.min_pass_rate_lower_bound,
                promotion.sequential,
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
    # Either rule promotes: the fixed-n one (min_runs and the Wilson bound)
    # or, when the stage has one, the sequential test accepting the job.
    test_rule = promotion.sequential
    standing = sequential.evaluate(test_rule, rate.passed, rate.runs) if test_rule else None
    fixed_n = rate.runs >= promotion.min_runs and low >= promotion.min_pass_rate_lower_bound
    early = not fixed_n and standing is not None and standing.outcome == "acceptable"
    if rate.runs < promotion.min_runs and not early:
        reasons.append(f"{rate.runs} runs < {promotion.min_runs:.0f} needed")
    if low < promotion.min_pass_rate_lower_bound and not early:
        reasons.append(
            f"pass rate {rate.rate:.3f}, lower bound {low:.3f} < "
            f"{promotion.min_pass_rate_lower_bound:.3f}"
        )
    if test_rule and standing and not fixed_n and not early:
        reasons.append(standing.reason(test_rule))  # undecided, or "unacceptable"
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
            (
                standing.reason(test_rule)
                if early and test_rule and standing
                else f"{rate.runs} runs, pass rate {rate.rate:.3f} (95% lower bound {low:.3f})"
            )
            + f", {len(analysis.flaky_tests)} flaky, {len(unclassified)} unclassified"
            " signature(s)"
        ],
        evidence,
    )


def decide_jobs(
    store: Store, policy: Policy, only: str | None = None, as_of: datetime | None = None
) -> list[Decision]:
    """Each job of the policy's `jobs:` (or only `only`), analysed over its
    stage's window, and the decision the policy gives it, flagged (`flagged`)
    with expired quarantines and staleness as of `as_of` (default: the
    store's newest build)."""
    if only and only not in policy.jobs:
        raise BadInput(f"{policy.path}: job {only!r} has no stage under `jobs:`")
    selected = {only: policy.jobs[only]} if only else policy.jobs
    with store.session() as session:
        as_of = as_of or store_clock(session)
        decisions = []
        for job, stage in selected.items():
            analysis = analyse_for_decision(session, policy, job, stage, as_of)
            decisions.append(flagged(decide(policy, job, stage, analysis), policy, analysis))
        return decisions


def analyse_for_decision(
    session: Session, policy: Policy, job: str, stage: str, as_of: datetime | None
) -> JobAnalysis:
    """The analysis a decision rests on: the stage's window, the policy's
    infrastructure results. The evidence report (evidence.py) shows this
    same analysis."""
    infrastructure = policy.infrastructure_results or DEFAULT_INFRASTRUCTURE
    return analyse_job(
        session, job, policy.window(stage), infrastructure=infrastructure, as_of=as_of
    )


def flagged(decision: Decision, policy: Policy, analysis: JobAnalysis) -> Decision:
    """What the quarantine and the staleness limit add to a decision: a
    reason for each expired classification among the job's failures (it
    counted as unclassified), and a job with no build for longer than
    `stale_after_days` before the store's newest build is STALE and held:
    old evidence moves no job, either way."""
    reasons = list(decision.reasons)
    seen = {s.digest for s in analysis.signatures}
    for digest, entry in sorted(policy.expired().items()):
        if digest in seen:
            reasons.append(
                f"quarantine of {digest[:12]} expired on {entry.expires} ({entry.describe()}): "
                "counted as unclassified again"
            )
    age = stale_age(policy, analysis)
    evidence = replace(decision.evidence, stale=age is not None)
    if age is None:
        return replace(decision, reasons=reasons, evidence=evidence)
    stale = (
        f"STALE: no build for {age.days} day(s) before the store's newest "
        f"({_day(analysis.as_of)}; this job's newest {_day(analysis.until)}) > "
        f"stale_after_days {policy.stale_after_days:g}"
    )
    if decision.is_due:
        reasons = [f"held from {decision.verdict} -> {decision.target_stage}", *reasons]
    return replace(
        decision, verdict="HOLD", target_stage=None, reasons=[stale, *reasons], evidence=evidence
    )


def stale_age(policy: Policy, analysis: JobAnalysis) -> timedelta | None:
    """How long the job has had no build, when that is longer than the
    policy allows; None when it is fresh, has no build at all (its missing
    runs hold it), or the policy sets no limit."""
    if policy.stale_after_days is None or analysis.until is None or analysis.as_of is None:
        return None
    age = as_utc(analysis.as_of) - as_utc(analysis.until)
    return age if age > timedelta(days=policy.stale_after_days) else None


def _day(moment: datetime | None) -> str:
    return as_utc(moment).date().isoformat() if moment is not None else "-"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
