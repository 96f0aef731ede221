"""Reviews happen in the change: `stability decide --apply` writes the
evidence of each move as reports/<job>.md beside its zuul.d edit, and
`zuul check` fails when a policy job zuul.d places beyond experimental has
none. On upstream Tempest's failures recorded on this machine's local cloud
(tests/fakes/real_streams.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from container_ci.stability.ingest.sources import BuildFields, ingest_path
from container_ci.stability.policy import load_policy
from container_ci.stability.store import Store
from container_ci.zuul.config import load_config
from container_ci.zuul.promotion import stage_of
from container_ci.zuul.promotion_check import missing_evidence
from tests.fakes.real_streams import upstream_tempest_failures, upstream_tempest_stream
from tests.helpers import REPO, run_cli

JOB = "nova-lxc-tempest"  # experimental in this repository's zuul.d
T0 = datetime(2026, 10, 1, 6, 0, tzinfo=UTC)
FAILURES = upstream_tempest_failures()
DISKS = next(f for f in FAILURES if "ephemeral_disk" in f["test_id"])
PASSING = sorted({f["test_id"] for f in FAILURES} - {DISKS["test_id"]})
POLICY = f"""\
stages: [experimental, check-non-voting, check-voting, gate]
infrastructure_results: [NODE_FAILURE]
promote:
  experimental:
    min_runs: 20
    window_days: 14
    min_pass_rate_lower_bound: 0.70
    max_flaky_tests: 0
    max_unclassified_signatures: 1
demote:
  check-non-voting:
    min_runs: 10
    window_days: 3
    max_pass_rate_upper_bound: 0.60
classified_signatures: {{}}
jobs:
  {JOB}: experimental
  nova-lxc-tempest-local: experimental
  nova-docker-tempest-local: experimental
  container-service-tempest: experimental
  container-service-tempest-local: experimental
"""


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=root, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """A clone-like copy of this repository: zuul.d/ and jobs/ (playbooks,
    exclude lists) with a policy of its own, committed."""
    root = tmp_path / "repo"
    shutil.copytree(REPO / "zuul.d", root / "zuul.d")
    shutil.copytree(REPO / "jobs", root / "jobs")
    (root / "jobs" / "promotion.yaml").write_text(POLICY)
    git(root.parent, "init", "-q", str(root))
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    return root


def runs(store: Store, where: Path, count: int, start: datetime, fail_every: int = 0) -> None:
    """`count` upstream Tempest runs, 6 hours apart; every `fail_every`-th
    fails on the guest's disks as recorded."""
    where.mkdir(exist_ok=True)
    for index in range(count):
        failing = [DISKS] if fail_every and index % fail_every == 0 else []
        passes = PASSING + ([] if failing else [DISKS["test_id"]])
        path = where / f"{start.date()}-{index}.subunit"
        path.write_bytes(
            upstream_tempest_stream(failing, passes, start + timedelta(hours=6 * index))
        )
        fields = BuildFields(change=5000 + index, patchset="1")
        assert all(i.new for i in ingest_path(store, path, JOB, fields))


def zuul_check(root: Path) -> tuple[int, list[str]]:
    done = run_cli("zuul", "check", "zuul.d", cwd=root, in_process=True)
    return done.returncode, done.stdout.splitlines()


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_apply_writes_the_evidence_beside_the_move_and_zuul_check_requires_it(
    store, repository, tmp_path
):
    runs(store, tmp_path / "streams", 24, T0, fail_every=12)  # runs 0 and 12 fail
    decided = run_cli("stability", "--db", store.url, "decide", "--job", JOB, "--json",
                      cwd=repository)  # fmt: skip
    (decision,) = json.loads(decided.stdout)
    done = run_cli("stability", "--db", store.url, "decide", "--apply", cwd=repository)
    assert done.returncode == 10, done.stdout + done.stderr
    evidence = repository / "reports" / f"{JOB}.md"
    assert f"evidence {evidence}" in done.stdout

    changed = git(repository, "status", "--porcelain", "--untracked-files=all").splitlines()
    assert sorted(changed) == [
        " M jobs/promotion.yaml",
        " M zuul.d/project.yaml",
        f"?? reports/{JOB}.md",
    ]
    text = evidence.read_text()
    e = decision["evidence"]
    assert text.startswith(f"# Evidence for `{JOB}`\n")
    assert "Written by `container-ci stability decide --apply` from `jobs/promotion.yaml`" in text
    assert "**Verdict: PROMOTE (experimental -> check-non-voting)**" in text
    assert f"- runs counted: {e['runs']} (passed {e['passed']}, failed {e['failed']})" in text
    assert (e["runs"], e["passed"]) == (24, 22)
    low, high = e["interval_95"]
    assert f"(95% Wilson interval {low:.1%} - {high:.1%})" in text
    (signature,) = e["unclassified_signatures"]
    assert f"| `{signature['digest']}` | **NEW** | 2 |" in text
    assert f"## Report of job `{JOB}`" in text and "### Trend: pass rate by day" in text

    assert zuul_check(repository) == (0, ["zuul check: zuul.d: OK"])
    evidence.unlink()
    code, out = zuul_check(repository)
    project = repository / "zuul.d" / "project.yaml"
    line = line_of(project, f"- {JOB}:")
    assert code == 1
    assert (
        f"zuul.d/project.yaml:{line}: job {JOB} is in stage check-non-voting but "
        f"reports/{JOB}.md is missing (`container-ci stability decide --apply` writes it)"
    ) in out


def test_the_evidence_is_regenerated_on_each_apply(store, repository, tmp_path):
    """Promoted, then twelve failing runs in a day and a half: demoted, and
    the evidence is the demotion's."""
    runs(store, tmp_path / "streams", 24, T0)
    evidence = repository / "reports" / f"{JOB}.md"
    evidence.parent.mkdir()
    evidence.write_text("stale evidence\n")
    done = run_cli("stability", "--db", store.url, "decide", "--apply", cwd=repository)
    assert done.returncode == 10, done.stdout + done.stderr
    assert "**Verdict: PROMOTE (experimental -> check-non-voting)**" in evidence.read_text()
    git(repository, "add", "-A")
    git(repository, "commit", "-qm", f"Promote {JOB}")

    runs(store, tmp_path / "streams", 12, T0 + timedelta(days=10), fail_every=1)
    done = run_cli("stability", "--db", store.url, "decide", "--apply", cwd=repository)
    assert done.returncode == 10, done.stdout + done.stderr
    assert f"applied: {JOB} check-non-voting -> experimental" in done.stdout
    text = evidence.read_text()
    assert "**Verdict: DEMOTE (check-non-voting -> experimental)**" in text
    assert "- runs counted: 12 (passed 0, failed 12)" in text
    assert git(repository, "diff", "--name-only").split() == [
        "jobs/promotion.yaml",
        f"reports/{JOB}.md",
        "zuul.d/project.yaml",
    ]
    assert zuul_check(repository)[0] == 0  # experimental again: no evidence needed


def test_a_gate_change_is_left_to_a_person_with_its_evidence_written(store, repository, tmp_path):
    policy = repository / "jobs" / "promotion.yaml"
    policy.write_text(
        POLICY.replace(f"  {JOB}: experimental", f"  {JOB}: check-voting").replace(
            "promote:\n  experimental:", "promote:\n  check-voting:"
        )
    )
    runs(store, tmp_path / "streams", 24, T0)
    done = run_cli("stability", "--db", store.url, "decide", "--apply", cwd=repository)
    assert done.returncode == 10, done.stdout + done.stderr
    evidence = repository / "reports" / f"{JOB}.md"
    assert f"not applied: {JOB}: check-voting -> gate adds or removes a gate entry" in done.stderr
    assert f"evidence in {evidence}" in done.stderr
    assert "**Verdict: PROMOTE (check-voting -> gate)**" in evidence.read_text()


@pytest.mark.parametrize(
    ("pipeline", "voting", "stage"),
    [
        ("experimental", False, "experimental"),
        ("experimental", True, "experimental"),
        ("check", False, "check-non-voting"),
        ("check", True, "check-voting"),
        ("gate", True, "gate"),
        ("periodic", True, None),
    ],
)
def test_the_stage_a_pipeline_entry_puts_a_job_in(pipeline, voting, stage):
    assert stage_of(pipeline, voting) == stage


def test_this_repository_has_evidence_for_every_job_beyond_experimental():
    policy = load_policy(REPO / "jobs" / "promotion.yaml")
    assert missing_evidence(load_config([REPO / "zuul.d"]), policy.jobs, REPO) == []
    assert (REPO / "reports" / "README.md").is_file()
