"""The files a run leaves in its output directory."""

from __future__ import annotations

from pathlib import Path

from container_ci.results.junit import write_junit
from container_ci.results.model import RunResult
from container_ci.results.summary import write_summary

SUBUNIT_NAME = "results.subunit"  # streamed during the run by SubunitRecorder
JUNIT_NAME = "results.xml"
SUMMARY_NAME = "summary.json"


def write_reports(run: RunResult, output_dir: Path) -> dict[str, Path]:
    output_dir.mkdir(parents=True, exist_ok=True)
    written = {"junit": output_dir / JUNIT_NAME, "summary": output_dir / SUMMARY_NAME}
    write_junit(run, written["junit"])
    write_summary(run, written["summary"])
    return written
