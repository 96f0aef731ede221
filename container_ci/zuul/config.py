"""A Zuul configuration as stanzas with positions: every check can name the
file and line it is about. Reads a zuul.d/ directory (its *.yaml files in
Zuul's order, sorted by name) or single files such as a project's .zuul.yaml."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from container_ci.errors import BadInput
from container_ci.yaml_source import Location, line_of, load_yaml, to_plain

STANZA_KINDS = (
    "pragma",
    "pipeline",
    "job",
    "project-template",
    "project",
    "nodeset",
    "secret",
    "semaphore",
    "queue",
    "image",
    "flavor",
    "label",
    "section",
    "provider",
)


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class Stanza:
    kind: str
    body: dict[str, Any]  # plain data
    path: Path
    document: Any  # the file's ruamel document, for positions
    index: int  # position of the stanza in the file's list

    @property
    def name(self) -> str:
        return str(self.body.get("name", "")) if isinstance(self.body, dict) else ""

    @property
    def line(self) -> int:
        return line_of(self.document, [self.index])

    def line_at(self, location: Location) -> int:
        return line_of(self.document, [self.index, self.kind, *location])

    def problem(self, location: Location, message: str) -> Problem:
        return Problem(self.path, self.line_at(location), message)

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}" if self.name else self.kind


@dataclass
class ZuulConfig:
    files: list[Path]
    stanzas: list[Stanza] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # structural ones

    def of_kind(self, kind: str) -> Iterator[Stanza]:
        return (stanza for stanza in self.stanzas if stanza.kind == kind)

    def named(self, kind: str) -> dict[str, list[Stanza]]:
        """Name -> its stanzas (a job may have several variants)."""
        found: dict[str, list[Stanza]] = {}
        for stanza in self.of_kind(kind):
            found.setdefault(stanza.name, []).append(stanza)
        return found


def config_files(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
            if not found:
                raise BadInput(f"{path}: no *.yaml files in this directory")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise BadInput(f"{path}: no such file or directory")
    return files


def load_config(paths: Iterable[Path]) -> ZuulConfig:
    """Parse every file; YAML syntax errors are BadInput (file:line), a file
    or stanza of the wrong shape is a Problem (the other files still load)."""
    config = ZuulConfig(files=config_files(paths))
    for path in config.files:
        document = load_yaml(path)
        if document is None:
            continue
        if not isinstance(document, list):
            config.problems.append(
                Problem(path, 1, "a Zuul configuration file is a list of stanzas (- job: ...)")
            )
            continue
        for index, item in enumerate(document):
            line = line_of(document, [index])
            if not isinstance(item, dict) or len(item) != 1:
                config.problems.append(
                    Problem(path, line, "a stanza is a mapping with one key (job, project, ...)")
                )
                continue
            (kind,) = item.keys()
            if kind not in STANZA_KINDS:
                config.problems.append(
                    Problem(
                        path,
                        line,
                        f"unknown stanza {kind!r}; Zuul knows: {', '.join(STANZA_KINDS)}",
                    )
                )
                continue
            body = to_plain(item[kind])
            if not isinstance(body, dict):
                config.problems.append(Problem(path, line, f"{kind}: must be a mapping"))
                continue
            config.stanzas.append(Stanza(str(kind), body, path, document, index))
    return config
