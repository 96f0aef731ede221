"""The three result files, read back by the tools the OpenStack CI world uses."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import subunit
import testtools
from junitparser import Error, Failure, JUnitXml, Skipped

from container_ci.errors import BadInput
from container_ci.results.model import (
    PairResult,
    PairStatus,
    RunResult,
    StepResult,
    StepStatus,
    TargetInfo,
)
from container_ci.results.subunit import SubunitRecorder
from container_ci.results.summary import read_summary, write_summary
from container_ci.results.writers import write_reports

BIN = Path(sys.executable).parent
T0 = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


def step(index: int, status: StepStatus, message: str = "", details: str = "") -> StepResult:
    return StepResult(
        index=index,
        name=f"step{index} vm",
        op="boot" if index == 0 else "exec",
        status=status,
        started_at=T0 + timedelta(seconds=index),
        duration=0.25 * (index + 1),
        message=message,
        details=details,
        line=5 + 3 * index,
    )


def pair(scenario: str, target: str, status: PairStatus, steps, message="", console=None):
    return PairResult(
        scenario=scenario,
        target=target,
        status=status,
        started_at=T0,
        finished_at=T0 + timedelta(seconds=3),
        steps=steps,
        message=message,
        console=console or {},
        scenario_file=f"scenarios/{scenario}.yaml",
    )


@pytest.fixture
def run() -> RunResult:
    pairs = [
        pair("lifecycle", "docker", PairStatus.PASSED, [step(0, StepStatus.PASSED)]),
        pair(
            "lifecycle",
            "libvirt-lxc",
            PairStatus.FAILED,
            [step(0, StepStatus.PASSED), step(1, StepStatus.FAILED, "exit 1", "Traceback: boom")],
            message="step 2 (step1 vm): exit 1",
            console={"cci-x-lifecycle-vm": "CCI-BOOT-OK boot=1\n"},
        ),
        pair(
            "suspend-resume",
            "docker",
            PairStatus.SKIPPED,
            [step(0, StepStatus.PASSED), step(1, StepStatus.SKIPPED, "no CRIU")],
            message="docker does not support suspend: no CRIU",
        ),
        pair(
            "snapshot",
            "docker",
            PairStatus.ERROR,
            [step(0, StepStatus.ERROR, "Docker Engine unreachable")],
            message="step 1: Docker Engine unreachable",
        ),
        pair("snapshot", "libvirt-lxc", PairStatus.UNAVAILABLE, [], message="libvirtd down"),
    ]
    return RunResult(
        run_id="abc123",
        started_at=T0,
        finished_at=T0 + timedelta(seconds=10),
        pairs=pairs,
        targets=[
            TargetInfo("docker", True, version="Docker 20.10"),
            TargetInfo("libvirt-lxc", False, reason="libvirtd down"),
        ],
    )


def write_stream(run: RunResult, path: Path, last_unfinished: bool = False) -> bytes:
    with SubunitRecorder(path) as recorder:
        for index, result in enumerate(run.pairs):
            recorder.pair_started(result.scenario, result.target, result.started_at)
            if last_unfinished and index == len(run.pairs) - 1:
                break
            recorder.pair_finished(result)
    return path.read_bytes()


def parse(stream: bytes) -> dict[str, dict]:
    tests: dict[str, dict] = {}
    case = subunit.ByteStreamToStreamResult(io.BytesIO(stream), non_subunit_name="stdout")
    result = testtools.StreamToDict(lambda test: tests.__setitem__(test["id"], test))
    result.startTestRun()
    case.run(result)
    result.stopTestRun()
    return tests


def test_subunit_round_trip(run, tmp_path):
    tests = parse(write_stream(run, tmp_path / "results.subunit"))
    statuses = {test_id: test["status"] for test_id, test in tests.items()}
    assert statuses == {
        "container_ci.scenarios.lifecycle.docker": "success",
        "container_ci.scenarios.lifecycle.libvirt-lxc": "fail",
        "container_ci.scenarios.suspend-resume.docker": "skip",
        "container_ci.scenarios.snapshot.docker": "fail",
        "container_ci.scenarios.snapshot.libvirt-lxc": "fail",
    }
    failed = tests["container_ci.scenarios.lifecycle.libvirt-lxc"]
    assert failed["timestamps"] == [T0, T0 + timedelta(seconds=3)]
    assert "Traceback: boom" in failed["details"]["traceback"].as_text()
    assert "line 8" in failed["details"]["traceback"].as_text()
    assert "CCI-BOOT-OK" in failed["details"]["console-cci-x-lifecycle-vm"].as_text()
    steps = json.loads(b"".join(failed["details"]["steps"].iter_bytes()))
    assert [s["status"] for s in steps] == ["passed", "failed"]
    assert steps[1]["duration"] == 0.5
    skipped = tests["container_ci.scenarios.suspend-resume.docker"]
    assert skipped["details"]["reason"].as_text() == "docker does not support suspend: no CRIU"
    assert tests["container_ci.scenarios.snapshot.docker"]["tags"] == {"infrastructure"}
    assert tests["container_ci.scenarios.snapshot.libvirt-lxc"]["tags"] == {
        "infrastructure",
        "unavailable",
    }
    assert tests["container_ci.scenarios.lifecycle.libvirt-lxc"]["tags"] == set()


def test_subunit_tools_read_the_stream(run, tmp_path):
    stream = write_stream(run, tmp_path / "results.subunit")
    stats = subprocess.run([BIN / "subunit-stats"], input=stream, capture_output=True, check=False)
    text = stats.stdout.decode()
    assert "Total tests:       5" in text and "Passed tests:      1" in text
    assert "Failed tests:      3" in text and "Skipped tests:     1" in text
    # subunit-ls exits 1 when the stream holds failures; its listing is what matters
    listing = subprocess.run([BIN / "subunit-ls"], input=stream, capture_output=True, check=False)
    assert "container_ci.scenarios.lifecycle.docker" in listing.stdout.decode().split()
    junit = subprocess.run(
        [BIN / "subunit2junitxml"], input=stream, capture_output=True, check=False
    )
    root = ET.fromstring(junit.stdout)
    names = {(case.get("classname"), case.get("name")) for case in root.iter("testcase")}
    assert ("container_ci.scenarios.lifecycle", "docker") in names


def test_a_cut_stream_keeps_finished_pairs(run, tmp_path):
    stream = write_stream(run, tmp_path / "results.subunit", last_unfinished=True)
    tests = parse(stream[: len(stream) - 3])  # even the inprogress packet is torn
    assert tests["container_ci.scenarios.lifecycle.docker"]["status"] == "success"
    assert tests["container_ci.scenarios.snapshot.docker"]["status"] == "fail"


def test_junit_classifies_outcomes(run, tmp_path):
    written = write_reports(run, tmp_path)
    xml = JUnitXml.fromfile(str(written["junit"]))
    [suite] = list(xml)
    cases = {f"{case.classname}.{case.name}": case for case in suite}
    assert set(cases) == {p.test_id for p in run.pairs}
    assert cases["container_ci.scenarios.lifecycle.docker"].is_passed
    [failure] = cases["container_ci.scenarios.lifecycle.libvirt-lxc"].result
    assert isinstance(failure, Failure) and "Traceback: boom" in failure.text
    [error] = cases["container_ci.scenarios.snapshot.docker"].result
    assert isinstance(error, Error) and error.type == "infrastructure"
    [unavailable] = cases["container_ci.scenarios.snapshot.libvirt-lxc"].result
    assert isinstance(unavailable, Error) and unavailable.type == "unavailable"
    [skipped] = cases["container_ci.scenarios.suspend-resume.docker"].result
    assert isinstance(skipped, Skipped) and "no CRIU" in skipped.message
    out = cases["container_ci.scenarios.lifecycle.libvirt-lxc"].system_out
    assert "failed" in out and "0.500" in out and "CCI-BOOT-OK" in out
    root = ET.parse(written["junit"]).getroot()
    suite_element = root.find("testsuite")
    assert suite_element.get("tests") == "5" and suite_element.get("failures") == "1"
    assert suite_element.get("errors") == "2" and suite_element.get("skipped") == "1"


def test_summary_round_trip(run, tmp_path):
    path = tmp_path / "summary.json"
    write_summary(run, path)
    data = json.loads(path.read_text())
    assert data["exit_code"] == 1
    assert data["counts"] == {
        "passed": 1,
        "failed": 1,
        "skipped": 1,
        "error": 1,
        "unavailable": 1,
    }
    again = read_summary(path)
    for pair_result in run.pairs:
        pair_result.console = {}
        for step_result in pair_result.steps:
            step_result.details = ""  # tracebacks live in the subunit stream
    assert again == run


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"format": "container-ci-summary/1", "run_id": ', "not valid JSON"),
        ('{"format": "other/2"}', "not a container-ci summary"),
        ('{"format": "container-ci-summary/1"}', "malformed summary"),
    ],
)
def test_summary_bad_input(tmp_path, text, expected):
    path = tmp_path / "summary.json"
    path.write_text(text)
    with pytest.raises(BadInput, match=expected):
        read_summary(path)
