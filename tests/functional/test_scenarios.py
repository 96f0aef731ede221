"""Every shipped scenario passes on both real backends; skips only where the
capability matrix declares the operation unsupported, with its reason."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from container_ci.scenarios import catalogue
from container_ci.scenarios.loader import load_capabilities, load_scenario
from container_ci.targets.registry import LOCAL_TARGETS
from tests.helpers import run_cli

SCENARIO_FILES = catalogue.shipped_scenarios()
MATRIX = load_capabilities(catalogue.default_matrix())


def declared_gap(scenario_file: Path, target: str) -> str:
    """The matrix reason of the first non-optional unsupported step, or ''."""
    for step in load_scenario(scenario_file).steps:
        capability = MATRIX.capability(target, step.op)
        if not capability.supported and not step.optional:
            return capability.reason
    return ""


def test_every_required_scenario_is_shipped():
    names = {path.stem for path in SCENARIO_FILES}
    required = {
        "lifecycle",
        "snapshot",
        "rebuild",
        "suspend-resume",
        "concurrent-boot",
        "bad-image",
    }
    assert required <= names


@pytest.mark.parametrize("target", LOCAL_TARGETS)
@pytest.mark.parametrize("scenario_file", SCENARIO_FILES, ids=lambda path: path.stem)
def test_scenario_on_target(scenario_file: Path, target: str, run_id: str, tmp_path: Path):
    out = tmp_path / "out"
    done = run_cli(
        "run", "--target", target, "--scenario", scenario_file, "--run-id", run_id,
        "--output", out,
    )  # fmt: skip
    summary = json.loads((out / "summary.json").read_text())
    [pair] = summary["results"]
    gap = declared_gap(scenario_file, target)
    report = f"{done.stdout}\n{done.stderr}"
    if gap:
        assert pair["status"] == "skipped", report
        assert gap in pair["message"]
        assert done.returncode == 0, report
    else:
        assert pair["status"] == "passed", report
        assert done.returncode == 0, report
        assert all(step["status"] == "passed" for step in pair["steps"])
    assert pair["test_id"] == f"container_ci.scenarios.{scenario_file.stem}.{target}"
    assert all(step["duration"] >= 0 for step in pair["steps"])

    # The stream is readable by the standard subunit tools.
    bin_dir = Path(sys.executable).parent
    stream = (out / "results.subunit").read_bytes()
    stats = subprocess.run(
        [str(bin_dir / "subunit-stats")], input=stream, capture_output=True, check=False
    )
    assert re.search(rb"Total tests:\s+1\n", stats.stdout), stats.stdout
    expected_kind = rb"Skipped tests:\s+1" if gap else rb"Passed tests:\s+1"
    assert re.search(expected_kind, stats.stdout), stats.stdout
    junit = subprocess.run(
        [str(bin_dir / "subunit2junitxml")], input=stream, capture_output=True, check=False
    )
    assert pair["test_id"].rsplit(".", 1)[1].encode() in junit.stdout
    assert (out / "results.xml").read_text().count("<testcase") == 1
