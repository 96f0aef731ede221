"""Quarantine with owners, new against known failures, top flaky tests and
stale jobs, on real streams: upstream Tempest's failures recorded on this
machine's local cloud, stestr's recorded run of its own suite, jsonschema's
suite run here (tests/fakes/real_streams.py)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from container_ci.errors import BadInput
from container_ci.scenarios.loader import load_capabilities
from container_ci.stability.analysis import NEW_DAYS, analyse_job
from container_ci.stability.ingest.sources import BuildFields, ingest_path
from container_ci.stability.policy import decide_jobs, load_policy
from container_ci.stability.store import Store
from container_ci.zuul.check import CheckOptions, UpstreamNames, check
from container_ci.zuul.promotion_check import capability_gaps
from tests.fakes.real_streams import (
    retime,
    stestr_failure_stream,
    third_party_subunit,
    upstream_tempest_failures,
    upstream_tempest_stream,
)
from tests.helpers import REPO, run_cli

JOB = "tempest-upstream-docker"
T0 = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
FAILURES = upstream_tempest_failures()
# Two recorded failures of different causes: an SSH timeout reading the
# guest's disks, and a flavor's vcpus that do not match.
DISKS = next(f for f in FAILURES if "ephemeral_disk" in f["test_id"])
VCPUS = next(f for f in FAILURES if "vcpus" in f["test_id"])
PASSING = sorted({f["test_id"] for f in FAILURES} - {DISKS["test_id"], VCPUS["test_id"]})
CAPABILITIES = REPO / "container_ci" / "scenarios" / "capabilities.yaml"
STESTR_FAILING = "stestr.tests.test_subunit_trace.TestSubunitTrace.test_trace_with_all_skips"


def policy_text(classified: str = "{}", extra: str = "", unclassified: int = 0) -> str:
    return f"""\
stages: [experimental, check-non-voting, check-voting, gate]
infrastructure_results: [NODE_FAILURE]
{extra}promote:
  experimental:
    min_runs: 20
    window_days: 30
    min_pass_rate_lower_bound: 0.60
    max_flaky_tests: 5
    max_unclassified_signatures: {unclassified}
classified_signatures: {classified}
jobs:
  {JOB}: experimental
"""


def ingest_bytes(
    store: Store, where: Path, job: str, data: bytes, change: int | None = None
) -> None:
    path = where / f"{job}-{len(list(where.iterdir()))}.subunit"
    path.write_bytes(data)
    fields = BuildFields(change=change, patchset="1" if change else None)
    assert all(i.new for i in ingest_path(store, path, job, fields))


@pytest.fixture
def tempest_history(store: Store, tmp_path: Path) -> Store:
    """24 upstream Tempest runs, one every 12 hours: runs 5 and 15 fail on
    the disks, run 10 on the vcpus, the rest pass."""
    streams = tmp_path / "streams"
    streams.mkdir()
    for index in range(24):
        failing = {5: [DISKS], 15: [DISKS], 10: [VCPUS]}.get(index, [])
        passes = PASSING + [f["test_id"] for f in (DISKS, VCPUS) if f not in failing]
        stream = upstream_tempest_stream(failing, passes, T0 + timedelta(hours=12 * index))
        ingest_bytes(store, streams, JOB, stream, change=2000 + index)
    return store


def digests(store: Store) -> dict[str, str]:
    """Failing test -> the digest of its failure's signature."""
    with store.session() as session:
        analysis = analyse_job(session, JOB)
    return {cluster.tests[0]: cluster.digest for cluster in analysis.signatures}


def write_policy(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "promotion.yaml"
    path.write_text(text)
    return path


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


# -- the policy's entries ---------------------------------------------------------
def test_a_reason_alone_and_an_entry_with_owner_bug_and_expiry_both_load(tmp_path):
    path = write_policy(
        tmp_path,
        policy_text(
            "\n  aaaa: known flaky console, see the bug"
            "\n  bbbb:\n    reason: vcpus differ on Docker\n    owner: jdoe"
            "\n    bug: https://bugs.launchpad.net/nova/+bug/2000001\n    expires: 2026-06-30"
        ),
    )
    policy = load_policy(path, today=date(2026, 6, 30))
    assert policy.classified == {
        "aaaa": "known flaky console, see the bug",
        "bbbb": "vcpus differ on Docker",
    }
    assert policy.quarantined["bbbb"].owner == "jdoe"
    assert policy.quarantined["bbbb"].line == line_of(path, "bbbb:")
    assert policy.expired() == {}
    later = load_policy(path, today=date(2026, 7, 1))  # valid through its expiry day
    assert later.classified == {"aaaa": "known flaky console, see the bug"}
    assert list(later.expired()) == ["bbbb"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("\n    reason: x\n    bug: LP-2000001", "bug: 'LP-2000001' is not a link"),
        ("\n    reason: x\n    expires: next week", "expires: 'next week' is not a date"),
        ("\n    reason: x\n    owners: jdoe", "owners: unknown key; allowed: reason, owner"),
        ("\n    owner: jdoe", "reason: required"),
        (" ''", "reason: empty"),
    ],
)
def test_a_malformed_entry_names_file_and_line(tmp_path, entry, message):
    path = write_policy(tmp_path, policy_text("\n  cccc:" + entry))
    with pytest.raises(BadInput) as raised:
        load_policy(path)
    assert f"{path}:{line_of(path, 'cccc:')}: classified_signatures.cccc: {message}" in str(
        raised.value
    )


# -- decide: an expired classification counts again --------------------------------
def test_an_expired_classification_counts_as_unclassified_and_is_flagged(tempest_history, tmp_path):
    found = digests(tempest_history)
    disks, vcpus = found[DISKS["test_id"]], found[VCPUS["test_id"]]
    entry = (
        "\n  {digest}:\n    reason: {reason}\n    owner: jdoe"
        "\n    bug: https://bugs.launchpad.net/nova/+bug/2000001\n    expires: {expires}"
    )
    classified = entry.format(digest=disks, reason="guest SSH slow", expires="2099-12-31")
    renewed = classified + entry.format(digest=vcpus, reason="vcpus", expires="2099-12-31")
    expired = classified + entry.format(digest=vcpus, reason="vcpus", expires="2020-01-01")

    path = write_policy(tmp_path, policy_text(renewed))
    done = run_cli("stability", "--db", tempest_history.url, "decide", "--policy", path)
    assert done.returncode == 10, done.stdout + done.stderr
    assert f"PROMOTE {JOB} (experimental -> check-non-voting)" in done.stdout
    assert "expired" not in done.stdout + done.stderr

    path = write_policy(tmp_path, policy_text(expired))
    done = run_cli("stability", "--db", tempest_history.url, "decide", "--policy", path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"HOLD {JOB} (experimental)" in done.stdout
    assert "because: 1 unclassified failure signature(s) > 0" in done.stdout
    assert (
        f"because: quarantine of {vcpus[:12]} expired on 2020-01-01 (owner jdoe, bug "
        "https://bugs.launchpad.net/nova/+bug/2000001): counted as unclassified again"
    ) in done.stdout
    line = line_of(path, f"{vcpus}:")
    assert f"{path}:{line}: classified_signatures.{vcpus}: expired on 2020-01-01" in done.stderr


def test_zuul_check_fails_on_an_expired_classification_at_its_line(tmp_path):
    path = write_policy(
        tmp_path,
        policy_text(
            "\n  dddd:\n    reason: r\n    owner: jdoe\n    expires: 2026-03-01"
            "\n  eeee: no expiry, never stale"
        ),
    )
    policy = load_policy(path)
    upstream = UpstreamNames.shipped()
    options = CheckOptions(upstream, root=None, policy=policy, today=date(2026, 3, 2))
    problems = [str(p) for p in check([REPO / "zuul.d"], options).problems]
    assert problems == [
        f"{path}:{line_of(path, 'dddd:')}: classified_signatures.dddd: expired on 2026-03-01 "
        "(owner jdoe): the failure counts as unclassified again; fix it, or renew the entry "
        "with a new expiry"
    ]
    options = CheckOptions(upstream, policy=policy, today=date(2026, 3, 1))
    assert not check([REPO / "zuul.d"], options).problems

    done = run_cli("zuul", "check", REPO / "zuul.d", "--no-files", "--policy", path,
                   in_process=True)  # fmt: skip
    assert done.returncode == 1
    assert f"{path}:{line_of(path, 'dddd:')}: classified_signatures.dddd: expired" in done.stdout


# -- capability gaps ------------------------------------------------------------------
def gap_matrix(tmp_path: Path, old: str, new: str) -> Path:
    path = tmp_path / "capabilities.yaml"
    text = CAPABILITIES.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return path


SUSPEND = "  docker:\n    boot: supported\n    wait: supported\n"


def test_the_shipped_gaps_all_have_reasons_and_no_past_expiry():
    assert capability_gaps(CAPABILITIES, date.today()) == []


def test_a_gap_past_its_expiry_and_a_gap_without_a_reason_are_errors(tmp_path):
    resume = "    resume:\n      unsupported: >-\n        there is no suspended container"
    path = gap_matrix(
        tmp_path,
        resume,
        "    resume:\n      owner: jdoe\n      bug: https://bugs.launchpad.net/zun/+bug/1\n"
        "      expires: 2026-01-31\n      unsupported: >-\n        there is no suspended container",
    )
    assert capability_gaps(path, date(2026, 1, 31)) == []
    (problem,) = capability_gaps(path, date(2026, 2, 1))
    assert (problem.path, problem.line) == (path, line_of(path, "    resume:"))
    assert problem.message.startswith(
        "targets.docker.resume: gap expired on 2026-01-31 (owner jdoe, bug "
        "https://bugs.launchpad.net/zun/+bug/1)"
    )
    load_capabilities(path)  # the parser takes owner, bug and expires

    bare = gap_matrix(tmp_path, "    pause: supported\n", "    pause: unsupported\n")
    (problem,) = capability_gaps(bare, date(2026, 2, 1))
    assert problem.message == "targets.docker.pause: a gap without a reason: say `unsupported: why`"
    assert problem.line == line_of(bare, "    pause: unsupported")
    with pytest.raises(BadInput):  # and the parser refuses it
        load_capabilities(bare)


def test_zuul_check_of_the_repository_checks_the_gaps(tmp_path, monkeypatch):
    from container_ci.scenarios import catalogue

    done = run_cli("zuul", "check", REPO / "zuul.d", in_process=True)
    assert done.returncode == 0, done.stdout
    expired = gap_matrix(
        tmp_path,
        "    suspend:\n      unsupported: >-\n",
        "    suspend:\n      expires: 2020-01-01\n      unsupported: >-\n",
    )
    monkeypatch.setattr(catalogue, "default_matrix", lambda: expired)
    done = run_cli("zuul", "check", REPO / "zuul.d", in_process=True)
    assert done.returncode == 1
    line = line_of(expired, "    suspend:")
    assert f"{expired}:{line}: targets.docker.suspend: gap expired on 2020-01-01 (no owner)" in (
        done.stdout
    )


# -- new against known ------------------------------------------------------------------
def test_new_failures_are_marked_apart_from_known_ones(store, tmp_path):
    """stestr's recorded failure first seen 40 days before the newest build
    (known); upstream Tempest's vcpus failure first seen 5 days before (new)."""
    streams = tmp_path / "streams"
    streams.mkdir()
    old = retime(stestr_failure_stream(), T0)
    ingest_bytes(store, streams, JOB, old)
    for day in (30, 35, 40):
        ingest_bytes(store, streams, JOB, retime(stestr_failure_stream(), T0 + timedelta(day)))
    ingest_bytes(store, streams, JOB, upstream_tempest_stream([VCPUS], PASSING, T0 + timedelta(35)))
    ingest_bytes(store, streams, JOB, upstream_tempest_stream([], PASSING, T0 + timedelta(40)))
    with store.session() as session:
        clusters = {c.tests[0]: c for c in analyse_job(session, JOB).signatures}
    stestr_cluster = clusters[
        "stestr.tests.test_subunit_trace.TestSubunitTrace.test_trace_with_all_skips"
    ]
    vcpus_cluster = clusters[VCPUS["test_id"]]
    assert (stestr_cluster.new, vcpus_cluster.new) == (False, True)
    assert stestr_cluster.count == 4

    policy = write_policy(tmp_path, policy_text(unclassified=5))
    out = tmp_path / "out"
    done = run_cli("stability", "--db", store.url, "report", "--policy", policy, "--output", out)
    assert done.returncode == 0, done.stderr
    markdown = (out / "stability.md").read_text()
    assert f"within {NEW_DAYS} days of its newest build" in markdown
    assert f"| `{vcpus_cluster.digest[:12]}` | **NEW** | 1 |" in markdown
    assert f"| `{stestr_cluster.digest[:12]}` | known | 4 |" in markdown
    html = (out / "stability.html").read_text()
    assert f'<code>{vcpus_cluster.digest[:12]}</code></td><td><span class="new">NEW</span>' in html
    assert f'<code>{stestr_cluster.digest[:12]}</code></td><td><span class="known">known' in html
    (job,) = json.loads((out / "stability.json").read_text())
    assert {s["digest"]: s["new"] for s in job["signatures"]} == {
        vcpus_cluster.digest: True,
        stestr_cluster.digest: False,
    }

    done = run_cli("stability", "--db", store.url, "decide", "--policy", policy, "--json")
    (decision,) = json.loads(done.stdout)
    marks = {s["digest"]: s["new"] for s in decision["evidence"]["unclassified_signatures"]}
    assert marks == {vcpus_cluster.digest[:12]: True, stestr_cluster.digest[:12]: False}
    text = run_cli("stability", "--db", store.url, "decide", "--policy", policy).stdout
    assert f"signature {vcpus_cluster.digest[:12]} x1 (NEW, first seen" in text
    # The decision's window (30 days) leaves out the first occurrence; the
    # store does not: known all the same.
    first = T0.replace(tzinfo=None).isoformat()
    assert f"signature {stestr_cluster.digest[:12]} x3 (known, first seen {first})" in text


# -- top flaky tests ------------------------------------------------------------------------
def test_top_flaky_tests_are_ranked_by_the_builds_they_affected(store, tmp_path):
    """The disks test fails on three changes and passes on their rechecks,
    the vcpus test once: the disks test comes first, with 3 builds."""
    streams = tmp_path / "streams"
    streams.mkdir()
    both = PASSING + [DISKS["test_id"], VCPUS["test_id"]]
    for index in range(12):
        failing = [DISKS] if index in (2, 5, 8) else [VCPUS] if index == 9 else []
        passes = [t for t in both if t not in {f["test_id"] for f in failing}]
        start = T0 + timedelta(hours=6 * index)
        ingest_bytes(
            store, streams, JOB, upstream_tempest_stream(failing, passes, start), 3000 + index
        )
        if failing:  # a recheck of the same change and patchset passes
            recheck = upstream_tempest_stream([], both, start + timedelta(hours=1))
            ingest_bytes(store, streams, JOB, recheck, 3000 + index)
    with store.session() as session:
        analysis = analyse_job(session, JOB)
    assert [(t.test_id, t.failures, t.flips) for t in analysis.top_flaky] == [
        (DISKS["test_id"], 3, 3),
        (VCPUS["test_id"], 1, 1),
    ]
    policy = write_policy(tmp_path, policy_text(unclassified=5))
    done = run_cli("stability", "--db", store.url, "decide", "--policy", policy, "--json")
    (decision,) = json.loads(done.stdout)
    assert [(f["test"], f["builds"]) for f in decision["evidence"]["flaky_tests"]] == [
        (DISKS["test_id"], 3),
        (VCPUS["test_id"], 1),
    ]
    out = tmp_path / "out"
    run_cli("stability", "--db", store.url, "report", "--output", out, cwd=tmp_path)
    markdown = (out / "stability.md").read_text()
    assert "### Top flaky tests, by builds affected" in markdown
    top = markdown.split("### Top flaky tests, by builds affected")[1]
    assert top.index(DISKS["test_id"]) < top.index(VCPUS["test_id"])
    assert f"| {DISKS['test_id']} | 3 | 16 | 3 |" in markdown  # 12 builds and 4 rechecks
    assert "<h3>Top flaky tests, by builds affected</h3>" in (out / "stability.html").read_text()


# -- stale jobs -----------------------------------------------------------------------------
def test_a_job_with_no_build_for_longer_than_the_limit_is_stale_and_held(store, tmp_path):
    """jsonschema's suite, run here: 25 passing builds of the job, then 40
    days in which only another job ran."""
    streams = tmp_path / "streams"
    streams.mkdir()
    suite = third_party_subunit()
    for index in range(25):
        ingest_bytes(store, streams, JOB, retime(suite, T0 + timedelta(hours=6 * index)))
    newest = T0 + timedelta(hours=6 * 24)
    ingest_bytes(store, streams, "other-job", retime(suite, newest + timedelta(days=40)))

    fresh = write_policy(tmp_path, policy_text())
    done = run_cli("stability", "--db", store.url, "decide", "--policy", fresh)
    assert f"PROMOTE {JOB} (experimental -> check-non-voting)" in done.stdout, done.stdout

    limited = write_policy(tmp_path, policy_text(extra="stale_after_days: 30\n"))
    done = run_cli("stability", "--db", store.url, "decide", "--policy", limited)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"HOLD {JOB} (experimental)\n" in done.stdout
    assert (
        f"because: STALE: no build for 40 day(s) before the store's newest "
        f"({(newest + timedelta(days=40)).date()}; this job's newest {newest.date()}) > "
        "stale_after_days 30"
    ) in done.stdout
    assert "because: held from PROMOTE -> check-non-voting" in done.stdout

    out = tmp_path / "out"
    done = run_cli("stability", "--db", store.url, "report", "--policy", limited, "--output", out)
    assert done.returncode == 0, done.stderr
    assert "- because: STALE: no build for 40 day(s)" in (out / "stability.md").read_text()
    assert '<span class="stale">STALE</span>' in (out / "stability.html").read_text()
    by_job = {j["job"]: j for j in json.loads((out / "stability.json").read_text())}
    assert by_job[JOB]["decision"]["stale"] is True

    roomy = load_policy(write_policy(tmp_path, policy_text(extra="stale_after_days: 45\n")))
    (decision,) = decide_jobs(store, roomy)
    assert (decision.verdict, decision.evidence.stale) == ("PROMOTE", False)


@pytest.mark.parametrize("value", ["0", "-3", "soon", "true", ".nan", ".inf", "1e300"])
def test_a_staleness_limit_must_be_a_positive_number(tmp_path, value):
    path = write_policy(tmp_path, policy_text(extra=f"stale_after_days: {value}\n"))
    with pytest.raises(BadInput) as raised:
        load_policy(path)
    assert f"{path}:3: stale_after_days: " in str(raised.value)
    assert "is not a positive number of days" in str(raised.value)


def test_the_shipped_policy_sets_a_staleness_limit():
    assert load_policy(REPO / "jobs" / "promotion.yaml").stale_after_days == 30
