"""Real result streams for the stability tests, placed in a history.

- upstream Tempest on this machine's local cloud: the failures recorded in
  real_failures.json (tracebacks as Tempest wrote them), each in a subunit
  v2 stream written with python-subunit as Tempest's runner writes it;
- a real third-party project's results, made in the test: jsonschema's own
  test suite run with `python -m subunit.run` (subunit v2) and with pytest
  `--junitxml` (JUnit XML), and the stream stestr ships with its tests
  (stestr/tests/sample_streams/failure.subunit: 63 tests of stestr's own
  suite, one real failure);
- the harness's own runs: `container-ci run`'s output directory, written
  by its own writer (container_ci.results.writers), its failure the one
  recorded from `container-ci run --target container-service`.

`retime` moves a recorded stream's timestamps so that it starts at a given
moment: the tests, statuses and attachments stay as recorded."""

from __future__ import annotations

import functools
import io
import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import stestr
import subunit
import testtools

from tests.fakes.stability_data import subunit_stream

BIN = Path(sys.executable).parent
REAL_FAILURES: list[dict[str, str]] = json.loads(
    (Path(__file__).parent / "real_failures.json").read_text()
)["failures"]
UPSTREAM_RUN = "upstream tempest.api.compute on the Docker driver, first run"
HARNESS_RUN = "container-ci run --target container-service"
STESTR_FAILURE = Path(stestr.__file__).parent / "tests" / "sample_streams" / "failure.subunit"
THIRD_PARTY_SUITE = "jsonschema.tests.test_types"


def upstream_tempest_failures() -> list[dict[str, str]]:
    """The nine failures of upstream tempest.api.compute on the local
    cloud's Docker driver, as recorded."""
    return [f for f in REAL_FAILURES if f["run"] == UPSTREAM_RUN]


def upstream_tempest_stream(
    failures: list[dict[str, str]], passes: list[str], start: datetime
) -> bytes:
    """One Tempest run: `failures` (recorded entries) failing with their real
    tracebacks, `passes` passing."""
    data = b""
    moment = start
    for failure in failures:
        data += subunit_stream([(failure["test_id"], "fail")], moment, failure["failure_text"])
        moment += timedelta(seconds=2)
    return data + subunit_stream([(test, "success") for test in passes], moment)


class _Retimed(testtools.StreamResult):  # type: ignore[misc]
    def __init__(self, out: subunit.StreamResultToBytes, shift: timedelta) -> None:
        super().__init__()
        self.out, self.shift = out, shift

    def status(self, **kwargs: Any) -> None:
        if kwargs.get("timestamp") is not None:
            kwargs["timestamp"] = kwargs["timestamp"] + self.shift
        self.out.status(**kwargs)


def first_timestamp(data: bytes) -> datetime:
    """The earliest timestamp of a stream (packets need not be in order)."""
    found: list[datetime] = []

    class Times(testtools.StreamResult):  # type: ignore[misc]
        def status(self, **kwargs: Any) -> None:
            if kwargs.get("timestamp") is not None:
                found.append(kwargs["timestamp"])

    subunit.ByteStreamToStreamResult(io.BytesIO(data)).run(Times())
    return min(found)


def retime(data: bytes, start: datetime) -> bytes:
    """The recorded stream `data`, every timestamp moved by the same amount
    so that the earliest is `start`."""
    buffer = io.BytesIO()
    shift = start - first_timestamp(data)
    retimed = _Retimed(subunit.StreamResultToBytes(buffer), shift)
    subunit.ByteStreamToStreamResult(io.BytesIO(data)).run(retimed)
    return buffer.getvalue()


@functools.cache
def third_party_subunit() -> bytes:
    """jsonschema's own tests (15, passing), run here by python-subunit."""
    return subprocess.run(
        [sys.executable, "-m", "subunit.run", THIRD_PARTY_SUITE],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout


def third_party_junit(path: Path) -> Path:
    """The same suite through pytest, as JUnit XML."""
    subprocess.run(
        [BIN / "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={path}",
         "--pyargs", THIRD_PARTY_SUITE],
        capture_output=True, check=False, cwd=path.parent, timeout=300,
    )  # fmt: skip
    assert path.is_file(), "pytest wrote no JUnit XML"
    return path


def retime_junit(source: Path, target: Path, start: datetime) -> Path:
    """A copy of a JUnit XML file whose suites start at `start` (junitparser)."""
    from junitparser import JUnitXml

    document = JUnitXml.fromfile(str(source))
    for suite in document:
        suite.timestamp = start.isoformat()
    document.write(str(target))
    return target


def stestr_failure_stream() -> bytes:
    """stestr's recorded run of its own suite: 62 passes, one failure
    (an IOError on a missing sample file)."""
    return STESTR_FAILURE.read_bytes()


def harness_run(output: Path, run_id: str, start: datetime, failed: bool = False) -> Path:
    """`container-ci run`'s output directory for one run: lifecycle on docker
    passes; concurrent-boot on the container service passes, or (`failed`)
    fails with the error the harness recorded on this machine's Zun."""
    from container_ci.results.model import PairResult, PairStatus, RunResult
    from container_ci.results.writers import write_reports

    (recorded,) = [f for f in REAL_FAILURES if f["run"] == HARNESS_RUN]
    scenario, target = recorded["test_id"].split(".")[-2:]
    pairs = [
        PairResult("lifecycle", "docker", PairStatus.PASSED, start, start + timedelta(seconds=9)),
        PairResult(
            scenario,
            target,
            PairStatus.FAILED if failed else PairStatus.PASSED,
            start,
            start + timedelta(seconds=40),
            message=recorded["failure_text"] if failed else "",
        ),
    ]
    write_reports(RunResult(run_id, start, start + timedelta(seconds=41), pairs), output)
    return output
