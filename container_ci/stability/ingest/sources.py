"""Which reader a path needs, decided from what it is; and ingesting a
path: reading it whole, then storing each build it holds."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from container_ci.errors import BadInput
from container_ci.results.writers import SUMMARY_NAME
from container_ci.stability.ingest.junit_reader import read_junit_file
from container_ci.stability.ingest.model import ParsedBuild
from container_ci.stability.ingest.runner_reader import DEFAULT_JOB, read_output_dir
from container_ci.stability.ingest.subunit_reader import read_stestr_repository, read_subunit_file
from container_ci.stability.ingest.writer import record_build
from container_ci.stability.store import Store


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


@dataclass(frozen=True)
class BuildFields:
    """Zuul fields a result file does not carry, given on the command line;
    None leaves the source's value."""

    pipeline: str | None = None
    project: str | None = None
    change: int | None = None
    patchset: str | None = None
    branch: str | None = None


@dataclass(frozen=True)
class Ingested:
    build: ParsedBuild
    new: bool  # False: already in the store, left as it was

    def __str__(self) -> str:
        what = "stored" if self.new else "already in the store, unchanged"
        build = self.build
        return f"build {build.uuid[:40]} ({build.job}, {len(build.results)} results): {what}"


def ingest_path(
    store: Store, path: Path, job: str | None = None, given: BuildFields | None = None
) -> Iterator[Ingested]:
    """Every build `path` holds (a run output dir, an stestr repository, a
    subunit or JUnit file), each stored in its own transaction. The whole
    input is read first: a malformed one raises BadInput and stores nothing."""
    builds = read_path(path, job)
    values = asdict(given) if given else {}
    overrides = {name: value for name, value in values.items() if value is not None}
    for build in builds:
        build = replace(build, **overrides)
        yield Ingested(build, record_build(store, build))
