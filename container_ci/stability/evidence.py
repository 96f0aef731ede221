"""The evidence of a promotion or demotion, as Markdown under the
repository's `reports/` (`reports/<job>.md`): `stability decide --apply`
writes it beside its zuul.d edit, so whoever reviews the change reads, in
the same diff, the numbers that justify it. It is regenerated on each apply
(the newest evidence replaces the old), and `zuul check` requires one for
every policy job zuul.d places beyond experimental (zuul/check.py)."""

from __future__ import annotations

from pathlib import Path

from container_ci.atomic import write_text_atomically
from container_ci.stability.analysis import store_clock
from container_ci.stability.policy import Decision, Policy, analyse_for_decision
from container_ci.stability.report import build_grid, escape_md, novelty, to_markdown
from container_ci.stability.store import Store

REPORTS_DIR = "reports"  # at the repository's top level, beside zuul.d/ and jobs/


def evidence_path(root: Path, job: str) -> Path:
    return root / REPORTS_DIR / f"{job}.md"


def evidence_markdown(decision: Decision, section: str, policy_name: str) -> str:
    """The verdict and its reasons, the numbers it rests on, then the job's
    report section over the same window (report.py's Markdown)."""
    e = decision.evidence
    low, high = e.interval_95
    first, *rest = decision.lines()
    some = " (the first ten)" if len(e.unclassified_signatures) == 10 else ""
    lines = [
        f"# Evidence for `{escape_md(decision.job)}`",
        "",
        f"Written by `container-ci stability decide --apply` from `{policy_name}`, "
        "regenerated on each apply: the numbers the decision rests on, as of the "
        f"store's newest build ({e.as_of or '-'}).",
        "",
        f"**Verdict: {first}**",
        "",
        *(f"- {escape_md(line)}" for line in rest),
        "",
        "## Evidence",
        "",
        f"- window: {e.window[0] or '-'} to {e.window[1] or '-'}",
        f"- runs counted: {e.runs} (passed {e.passed}, failed {e.failed}); "
        f"infrastructure failures set aside: {e.infrastructure}",
        f"- pass rate: {e.pass_rate:.1%} (95% Wilson interval {low:.1%} - {high:.1%})",
        f"- flaky tests: {len(e.flaky_tests)}",
        f"- unclassified failure signatures: {len(e.unclassified_signatures)}{some}",
        *(["- **STALE**: held (see the reasons)"] if e.stale else []),
    ]
    if e.flaky_tests:
        lines += ["", "| flaky test | builds affected | flips |", "| --- | ---: | ---: |"]
        lines += [f"| {escape_md(t.test)} | {t.builds} | {t.flips} |" for t in e.flaky_tests[:10]]
    if e.unclassified_signatures:
        lines += [
            "",
            "| unclassified signature | new? | count | first seen | tests | text |",
            "| --- | --- | ---: | --- | --- | --- |",
        ]
        lines += [
            f"| `{s.digest}` | {novelty(s.new)} | {s.count} | {s.first_seen or '-'} | "
            f"{escape_md(', '.join(s.tests))} | {escape_md(s.text[:160])} |"
            for s in e.unclassified_signatures
        ]
    return "\n".join(lines) + "\n\n" + section.replace("## Job ", "## Report of job ", 1)


def write_evidence(root: Path, store: Store, policy: Policy, decision: Decision) -> Path:
    """reports/<job>.md of the repository at `root`, for `decision` (made
    by decide_jobs on the same store and policy)."""
    with store.session() as session:
        analysis = analyse_for_decision(
            session, policy, decision.job, decision.stage, store_clock(session)
        )
        grid = build_grid(session, decision.job)
    try:
        policy_name = str(policy.path.resolve().relative_to(root.resolve()))
    except ValueError:
        policy_name = policy.path.name
    text = evidence_markdown(decision, to_markdown(analysis, grid), policy_name)
    path = evidence_path(root, decision.job)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(path, text)
    return path
