"""Result files for stability tests, written with the real libraries
(python-subunit's StreamResultToBytes, junitparser), in tempest's shapes;
and histories of Zuul builds stored the way the ingest stores them."""

from __future__ import annotations

import gzip
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import subunit

from container_ci.stability.ingest.model import ParsedBuild, ParsedResult
from container_ci.stability.ingest.writer import record_build
from container_ci.stability.store import Store

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def subunit_stream(results: list[tuple[str, str]], start: datetime = T0, trace: str = "") -> bytes:
    """A tempest-like stream: inprogress, attachments, final status, with timestamps."""
    buffer = io.BytesIO()
    stream = subunit.StreamResultToBytes(buffer)
    moment = start
    for test_id, status in results:
        stream.status(test_id=test_id, test_status="inprogress", timestamp=moment)
        moment += timedelta(seconds=1.5)
        if status == "fail":
            text = trace or (
                f'Traceback (most recent call last):\n  File "/opt/stack/tempest/x.py", line 42\n'
                f"AssertionError: server 3f2b6a1e-8c1d-4b7a-9e0f-123456789abc at 0x7f3a2b1c "
                f"went to ERROR at {moment.isoformat()}"
            )
            stream.status(
                test_id=test_id,
                file_name="traceback",
                file_bytes=text.encode(),
                mime_type="text/x-traceback;charset=utf8",
                eof=True,
                timestamp=moment,
            )
        if status == "skip":  # testtools' skip reason, as Tempest's streams carry it
            stream.status(
                test_id=test_id,
                file_name="reason",
                file_bytes=f"{test_id.rsplit('.', 1)[-1]} is not supported here".encode(),
                mime_type="text/plain;charset=utf8",
                eof=True,
                timestamp=moment,
            )
        stream.status(test_id=test_id, test_status=status, timestamp=moment)
    return buffer.getvalue()


SERVERS = "tempest.api.compute.servers"
ACTIONS = f"{SERVERS}.test_server_actions.ServerActionsTestJSON"
TEMPEST_TESTS = [
    (f"{SERVERS}.test_create_server.ServersTestJSON.test_list_servers[id-9a438d88]", "success"),
    (f"{ACTIONS}.test_reboot_server_hard[id-2cb1baf6]", "fail"),
    (f"{ACTIONS}.test_suspend_resume_server[id-0d8ee21e]", "skip"),
    ("tempest.scenario.test_server_basic_ops.TestServerBasicOps.test_server_basic_ops", "success"),
]


def counts_of_tempest_builds(builds: int) -> dict[str, int]:
    """The store's row counts once `builds` streams of TEMPEST_TESTS (one job,
    one failure each, differing in time, uuid and address only) are in."""
    return {
        "jobs": 1,
        "builds": builds,
        "tests": len(TEMPEST_TESTS),
        "test_results": builds * len(TEMPEST_TESTS),
        "failure_signatures": 1,  # one cluster
    }


def write_tempest_subunit(path: Path, gz: bool = False, start: datetime = T0) -> Path:
    data = subunit_stream(TEMPEST_TESTS, start)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def zuul_history(
    store: Store,
    job: str,
    tests: list[str],
    failures: dict[int, str],
    flaky_at: int | None = None,
    infra: frozenset[int] = frozenset(),
    builds: int = 30,
) -> None:
    """`builds` Zuul builds of `job` over 10 days, each on a change of its own;
    build i fails test failures[i] (NODE_FAILURE when i is in `infra`); at
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
            for test in tests
        ]
        result = "NODE_FAILURE" if index in infra else ("FAILURE" if failing else "SUCCESS")
        build = ParsedBuild(
            uuid=f"build-{index}",
            job=job,
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
            job=job,
            source="zuul",
            result="SUCCESS",
            change=1000 + flaky_at,
            patchset="1",
            start_time=T0 + timedelta(hours=8 * flaky_at + 1),
            results=[ParsedResult(test, "success", 1.0) for test in tests],
        )
        record_build(store, recheck)
