"""Analysis and promotion decisions on generated histories in a real store."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from stability_data import T0

from container_ci.stability.analysis import analyse_job, wilson_interval
from container_ci.stability.ingest.model import ParsedBuild, ParsedResult
from container_ci.stability.ingest.writer import record_build
from container_ci.stability.store import Store

REPO = Path(__file__).resolve().parents[2]
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
    infra: set[int] = frozenset(),
    builds: int = 30,
) -> None:
    """`builds` builds over 10 days; build i fails test failures[i]; at
    `flaky_at` a recheck on the same change passes what the first run failed."""
    for index in range(builds):
        failing = failures.get(index)
        results = [
            ParsedResult(
                test,
                "fail" if test == failing else "success",
                1.0,
                f"AssertionError: {test} broke at 0x{index:x}" if test == failing else None,
            )
            for test in TESTS
        ]
        result = "NODE_FAILURE" if index in infra else ("FAILURE" if failing else "SUCCESS")
        build = ParsedBuild(
            uuid=f"build-{index}",
            job=JOB,
            source="zuul",
            result=result,
            change=1000 + index,
            patchset="1",
            start_time=T0 + timedelta(hours=8 * index),
            results=results,
        )
        record_build(store, build)
    if flaky_at is not None:
        recheck = ParsedBuild(
            uuid="recheck",
            job=JOB,
            source="zuul",
            result="SUCCESS",
            change=1000 + flaky_at,
            patchset="1",
            start_time=T0 + timedelta(hours=8 * flaky_at + 1),
            results=[ParsedResult(test, "success", 1.0) for test in TESTS],
        )
        record_build(store, recheck)


@pytest.fixture
def store(tmp_path):
    opened = Store(f"sqlite:///{tmp_path / 's.sqlite'}")
    yield opened
    opened.close()


def decide_cli(tmp_path: Path, store: Store, *extra: str) -> subprocess.CompletedProcess[str]:
    policy = tmp_path / "promotion.yaml"
    policy.write_text(POLICY)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "container_ci.cli",
            "stability",
            "--db",
            store.url,
            "decide",
            "--policy",
            str(policy),
            *extra,
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )


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


def test_too_few_runs_holds(store, tmp_path):
    history(store, failures={}, builds=8)
    done = decide_cli(tmp_path, store)
    assert done.returncode == 0
    assert "8 runs < 20 needed" in done.stdout


def test_bad_policy_names_file_and_line(store, tmp_path):
    policy = tmp_path / "promotion.yaml"
    policy.write_text(POLICY.replace("min_runs: 20", "min_runs: lots"))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "container_ci.cli",
            "stability",
            "--db",
            store.url,
            "decide",
            "--policy",
            str(policy),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 2
    assert f"{policy}:5: promote.experimental.min_runs: 'lots' is not a non-negative number" in (
        done.stderr
    )


def test_apply_writes_the_promotion_as_a_zuul_move(store, tmp_path):
    """--apply: the due decision becomes a change to review: the job's entry
    moved from experimental to check (non-voting), its stage in the policy."""
    import shutil

    from container_ci.zuul.config import load_config

    zuul_dir = tmp_path / "zuul.d"
    shutil.copytree(REPO / "zuul.d", zuul_dir)
    project = zuul_dir / "project.yaml"
    project.write_text(
        project.read_text().replace(
            "    experimental:\n      jobs:\n",
            f"    experimental:\n      jobs:\n        - {JOB}:\n            voting: false\n",
            1,
        )
    )
    history(store, failures={4: "t.snapshot"})
    done = decide_cli(tmp_path, store, "--apply", "--zuul-dir", str(zuul_dir))
    policy = tmp_path / "promotion.yaml"
    assert done.returncode == 10, done.stdout + done.stderr
    assert f"applied: {JOB} experimental -> check-non-voting" in done.stdout
    assert f"  {JOB}: check-non-voting" in policy.read_text()
    (template,) = load_config([zuul_dir]).named("project-template")["container-compute-drivers"]
    assert {JOB: {"voting": False}} in template.body["check"]["jobs"]
    assert JOB not in str(template.body["experimental"]["jobs"])
