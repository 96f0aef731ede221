"""Which reader a path needs, decided from what it is."""

from __future__ import annotations

from pathlib import Path

from container_ci.errors import BadInput
from container_ci.results.writers import SUMMARY_NAME
from container_ci.stability.ingest.junit_reader import read_junit_file
from container_ci.stability.ingest.model import ParsedBuild
from container_ci.stability.ingest.runner_reader import DEFAULT_JOB, read_output_dir
from container_ci.stability.ingest.subunit_reader import read_stestr_repository, read_subunit_file


def read_path(path: Path, job: str | None) -> list[ParsedBuild]:
    """A run output dir, an stestr repository, a subunit file (.gz too) or a JUnit file."""
    if path.is_dir():
        if (path / SUMMARY_NAME).is_file():
            return [read_output_dir(path, job or DEFAULT_JOB)]
        if (path / ".stestr").is_dir() or (path / "format").is_file():
            return read_stestr_repository(path, job or "stestr")
        raise BadInput(f"{path}: neither a container-ci output dir nor an stestr repository")
    if not path.exists():
        raise BadInput(f"{path}: no such file or directory")
    with open(path, "rb") as handle:
        head = handle.read(256)
    if head.lstrip().startswith(b"<"):
        return [read_junit_file(path, job or "junit")]
    return [read_subunit_file(path, job or "subunit")]
