"""Analysis and promotion decisions on generated histories in a real store."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from container_ci.stability.analysis import analyse_job, wilson_interval
from container_ci.stability.store import Store
from container_ci.zuul.config import load_config
from tests.fakes.stability_data import zuul_history
from tests.helpers import REPO, run_cli

JOB = "container-ci-lxc"
TESTS = ["t.lifecycle", "t.snapshot", "t.rebuild"]

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
demote:
  check-non-voting:
    min_runs: 10
    window_days: 14
    max_pass_rate_upper_bound: 0.60
classified_signatures: {{}}
jobs:
  {JOB}: experimental
"""


def test_wilson_interval_known_values():
    low, high = wilson_interval(8, 10)
    assert (round(low, 3), round(high, 3)) == (0.49, 0.943)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(100, 100)
    assert round(low, 3) == 0.963 and high == pytest.approx(1.0)


def history(
    store: Store,
    failures: dict[int, str],
    flaky_at: int | None = None,
    infra: frozenset[int] = frozenset(),
    builds: int = 30,
) -> None:
    zuul_history(store, JOB, TESTS, failures, flaky_at, infra, builds)


def decide_cli(
    tmp_path: Path, store: Store, *extra: str | Path, policy: str = POLICY
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "promotion.yaml"
    path.write_text(policy)
    return run_cli("stability", "--db", store.url, "decide", "--policy", path, *extra)


def test_infrastructure_failures_do_not_count_against_the_driver(store):
    history(store, failures={3: "t.snapshot"}, infra={5, 6, 7})
    with store.session() as session:
        analysis = analyse_job(session, JOB)
    rate = analysis.pass_rate
    assert (rate.runs, rate.passed, rate.failed, rate.infrastructure) == (27, 26, 1, 3)
    [signature] = analysis.signatures
    assert signature.count == 1 and signature.tests == ["t.snapshot"]


def test_stable_history_is_promoted_with_evidence(store, tmp_path):
    history(store, failures={4: "t.snapshot"})
    done = decide_cli(tmp_path, store)
    assert done.returncode == 10, done.stdout + done.stderr
    assert f"PROMOTE {JOB} (experimental -> check-non-voting)" in done.stdout
    assert "30 runs" in done.stdout and "95% interval" in done.stdout
    assert "failing: t.snapshot 1/30" in done.stdout


def test_flaky_test_holds_the_job_and_is_named(store, tmp_path):
    history(store, failures={4: "t.rebuild"}, flaky_at=4)
    with store.session() as session:
        analysis = analyse_job(session, JOB)
    assert [(t.test_id, t.flips) for t in analysis.flaky_tests] == [("t.rebuild", 1)]
    done = decide_cli(tmp_path, store)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"HOLD {JOB}" in done.stdout
    assert "1 flaky test(s) > 0: t.rebuild (1 flips)" in done.stdout
    assert "more consecutive pass(es) once nothing else holds it" in done.stdout


def test_too_few_runs_holds(store, tmp_path):
    history(store, failures={}, builds=8)
    done = decide_cli(tmp_path, store)
    assert done.returncode == 0
    assert "8 runs < 20 needed" in done.stdout
    # 8 of 8 passed: 12 more reach the 20 runs, and by then the bound (0.839 >= 0.80).
    assert "outlook: promotes after 12 more consecutive pass(es)\n" in done.stdout
    done = run_cli("stability", "--db", store.url, "decide", "--json",
                   "--policy", tmp_path / "promotion.yaml", cwd=tmp_path)  # fmt: skip
    assert '"passes_to_promote": 12' in done.stdout


def test_bad_policy_names_file_and_line(store, tmp_path):
    done = decide_cli(tmp_path, store, policy=POLICY.replace("min_runs: 20", "min_runs: lots"))
    assert done.returncode == 2
    policy = tmp_path / "promotion.yaml"
    assert f"{policy}:5: promote.experimental.min_runs: 'lots' is not a non-negative number" in (
        done.stderr
    )


def repository_with_job(root: Path, policy: str = POLICY) -> Path:
    """A checkout like this repository's: its zuul.d/ with JOB added to the
    experimental pipeline, and a promotion policy; returns its root."""
    shutil.copytree(REPO / "zuul.d", root / "zuul.d")
    project = root / "zuul.d" / "project.yaml"
    project.write_text(
        project.read_text().replace(
            "    experimental:\n      jobs:\n",
            f"    experimental:\n      jobs:\n        - {JOB}:\n            voting: false\n",
            1,
        )
    )
    (root / "jobs").mkdir()
    (root / "jobs" / "promotion.yaml").write_text(policy)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def assert_promoted(root: Path) -> None:
    assert f"  {JOB}: check-non-voting" in (root / "jobs" / "promotion.yaml").read_text()
    zuul_d = load_config([root / "zuul.d"])
    (template,) = zuul_d.named("project-template")["container-compute-drivers"]
    assert {JOB: {"voting": False}} in template.body["check"]["jobs"]
    assert JOB not in str(template.body["experimental"]["jobs"])


def test_apply_writes_the_promotion_as_a_zuul_move(store, tmp_path):
    """--apply: the due decision becomes a change to review: the job's entry
    moved from experimental to check (non-voting), its stage in the policy."""
    root = repository_with_job(tmp_path / "repo")
    history(store, failures={4: "t.snapshot"})
    done = run_cli(
        "stability", "--db", store.url, "decide", "--apply",
        "--policy", root / "jobs" / "promotion.yaml", "--zuul-dir", root / "zuul.d",
    )  # fmt: skip
    assert done.returncode == 10, done.stdout + done.stderr
    assert f"applied: {JOB} experimental -> check-non-voting" in done.stdout
    assert_promoted(root)


def test_apply_edits_the_checkout_it_is_run_in(store, tmp_path):
    """With no --policy nor --zuul-dir, the files are those of the git
    checkout of the current directory (or --root): never this repository's,
    wherever container-ci is installed from."""
    before = {p: p.read_text() for p in (REPO / "zuul.d").glob("*.yaml")}
    before[REPO / "jobs" / "promotion.yaml"] = (REPO / "jobs" / "promotion.yaml").read_text()
    history(store, failures={4: "t.snapshot"})
    here = repository_with_job(tmp_path / "here")
    (here / "zuul.d" / "deeper").mkdir()
    done = run_cli(
        "stability", "--db", store.url, "decide", "--apply", cwd=here / "zuul.d" / "deeper"
    )
    assert done.returncode == 10, done.stdout + done.stderr
    assert_promoted(here)
    there = repository_with_job(tmp_path / "there")
    done = run_cli("stability", "--db", store.url, "decide", "--apply", "--root", there, cwd=here)
    assert done.returncode == 10, done.stdout + done.stderr
    assert_promoted(there)
    assert {p: p.read_text() for p in before} == before


def test_decide_outside_a_checkout_names_what_to_do(store, tmp_path):
    done = run_cli("stability", "--db", store.url, "decide", cwd=tmp_path)
    assert done.returncode == 2
    assert "is not inside a git checkout" in done.stderr and "--root DIR" in done.stderr


def test_the_verdict_is_in_every_report_format(store, tmp_path):
    """HOLD with its reasons and the passes that would promote, in the
    HTML, the Markdown and the JSON of `stability report --policy`."""
    import json

    history(store, failures={}, builds=8)
    policy = tmp_path / "promotion.yaml"
    policy.write_text(POLICY)
    out = tmp_path / "reports"
    done = run_cli("stability", "--db", store.url, "report", "--policy", policy, "--output", out)
    assert done.returncode == 0, done.stdout + done.stderr
    markdown = (out / "stability.md").read_text()
    assert "**Verdict: HOLD (experimental)**" in markdown
    assert "- because: 8 runs &lt; 20 needed" in markdown
    assert "- outlook: promotes after 12 more consecutive pass(es)" in markdown
    html = (out / "stability.html").read_text()
    assert '<div class="verdict HOLD">' in html
    assert "<li>outlook: promotes after 12 more consecutive pass(es)</li>" in html
    (job,) = json.loads((out / "stability.json").read_text())
    assert job["decision"]["verdict"] == "HOLD"
    assert job["decision"]["passes_to_promote"] == 12


def test_a_report_outside_the_repository_has_no_verdicts_and_says_so(store, tmp_path):
    history(store, failures={}, builds=3)
    done = run_cli("stability", "--db", store.url, "report", "--output", tmp_path / "r",
                   cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "no promotion policy" in done.stdout
    assert "Verdict" not in (tmp_path / "r" / "stability.md").read_text()
