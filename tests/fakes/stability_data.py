"""Result files for stability tests, written with the real libraries
(python-subunit's StreamResultToBytes, junitparser), in tempest's shapes."""

from __future__ import annotations

import gzip
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import subunit

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


def write_tempest_subunit(path: Path, gz: bool = False, start: datetime = T0) -> Path:
    data = subunit_stream(TEMPEST_TESTS, start)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path
