"""The promotion policy (jobs/promotion.yaml) and the decision it gives per job.

A decision always carries its evidence: the numbers, the window, and the
tests and signatures that held it back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from container_ci.errors import BadInput
from container_ci.stability.analysis import JobAnalysis
from container_ci.yaml_source import line_of, load_yaml

PROMOTE_KEYS = {
    "min_runs",
    "window_days",
    "min_pass_rate_lower_bound",
    "max_flaky_tests",
    "max_unclassified_signatures",
}
DEMOTE_KEYS = {"min_runs", "window_days", "max_pass_rate_upper_bound"}


@dataclass(frozen=True)
class Policy:
    path: Path
    stages: list[str]
    infrastructure_results: list[str]
    promote: dict[str, dict[str, float]]
    demote: dict[str, dict[str, float]]
    classified: dict[str, str]
    jobs: dict[str, str]

    def window(self, stage: str) -> timedelta | None:
        rule = self.promote.get(stage) or self.demote.get(stage)
        return timedelta(days=rule["window_days"]) if rule else None


def load_policy(path: Path) -> Policy:
    document = load_yaml(path)
    if not isinstance(document, dict):
        raise BadInput(f"{path}:1: the policy must be a mapping")

    def fail(location: list, message: str) -> BadInput:
        return BadInput(
            f"{path}:{line_of(document, location)}: {'.'.join(map(str, location))}: {message}"
        )

    stages = document.get("stages")
    if not isinstance(stages, list) or not stages:
        raise fail(["stages"], "a list of stage names is required")
    rules: dict[str, dict[str, dict[str, float]]] = {}
    for section, keys in (("promote", PROMOTE_KEYS), ("demote", DEMOTE_KEYS)):
        rules[section] = {}
        for stage, rule in (document.get(section) or {}).items():
            if stage not in stages:
                raise fail([section, stage], f"unknown stage; stages: {', '.join(stages)}")
            if not isinstance(rule, dict) or set(rule) != keys:
                raise fail([section, stage], f"needs exactly {', '.join(sorted(keys))}")
            for key, value in rule.items():
                if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                    raise fail([section, stage, key], f"{value!r} is not a non-negative number")
            rules[section][str(stage)] = {str(k): float(v) for k, v in rule.items()}
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


@dataclass
class Decision:
    job: str
    stage: str
    verdict: str  # PROMOTE, DEMOTE, HOLD
    target_stage: str | None
    reasons: list[str] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)


def decide(policy: Policy, job: str, stage: str, analysis: JobAnalysis) -> Decision:
    rate = analysis.pass_rate
    low, high = rate.interval
    unclassified = [s for s in analysis.signatures if s.digest not in policy.classified]
    evidence: dict[str, Any] = {
        "window": [_iso(analysis.since), _iso(analysis.until)],
        "runs": rate.runs,
        "passed": rate.passed,
        "failed": rate.failed,
        "infrastructure": rate.infrastructure,
        "pass_rate": round(rate.rate, 4),
        "interval_95": [round(low, 4), round(high, 4)],
        "flaky_tests": [{"test": t.test_id, "flips": t.flips} for t in analysis.flaky_tests],
        "failing_tests": [
            {"test": t.test_id, "failures": t.failures, "runs": t.runs}
            for t in analysis.tests
            if t.failures
        ][:10],
        "unclassified_signatures": [
            {
                "digest": s.digest[:12],
                "count": s.count,
                "tests": s.tests[:3],
                "text": s.normalized[:200],
            }
            for s in unclassified[:10]
        ],
    }
    index = policy.stages.index(stage)
    demotion = policy.demote.get(stage)
    if (
        demotion
        and rate.runs >= demotion["min_runs"]
        and high <= demotion["max_pass_rate_upper_bound"]
    ):
        return Decision(
            job,
            stage,
            "DEMOTE",
            policy.stages[index - 1] if index else None,
            [
                f"pass rate upper bound {high:.3f} <= {demotion['max_pass_rate_upper_bound']:.3f}"
                f" over {rate.runs} runs"
            ],
            evidence,
        )
    promotion = policy.promote.get(stage)
    if promotion is None:
        return Decision(job, stage, "HOLD", None, [f"{stage} is the last stage"], evidence)
    reasons = []
    if rate.runs < promotion["min_runs"]:
        reasons.append(f"{rate.runs} runs < {promotion['min_runs']:.0f} needed")
    if low < promotion["min_pass_rate_lower_bound"]:
        reasons.append(
            f"pass rate {rate.rate:.3f}, lower bound {low:.3f} < "
            f"{promotion['min_pass_rate_lower_bound']:.3f}"
        )
    if len(analysis.flaky_tests) > promotion["max_flaky_tests"]:
        names = ", ".join(f"{t.test_id} ({t.flips} flips)" for t in analysis.flaky_tests[:5])
        allowed = promotion["max_flaky_tests"]
        reasons.append(f"{len(analysis.flaky_tests)} flaky test(s) > {allowed:.0f}: {names}")
    if len(unclassified) > promotion["max_unclassified_signatures"]:
        reasons.append(
            f"{len(unclassified)} unclassified failure signature(s) > "
            f"{promotion['max_unclassified_signatures']:.0f}"
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


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None
