"""`container-ci zuul move JOB --to PIPELINE [--voting BOOL]`: move a job's
entry between pipelines of the project (or project-template) that lists it,
editing zuul.d/ in place so that a review's diff is only the moved lines and
the voting flag.

ruamel.yaml's round-trip loader gives the positions of the entry and of the
pipelines; the edit itself is made on those lines, so comments, blank lines,
key order, quoting and indentation of everything else stay byte for byte
(re-dumping the document would re-indent the files' mixed sequence styles).
The result is parsed again and checked against Zuul's schema before it is
written; a failed check writes nothing."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from container_ci.atomic import write_text_atomically
from container_ci.errors import BadInput
from container_ci.yaml_source import line_of
from container_ci.zuul.check import pipeline_jobs
from container_ci.zuul.config import Stanza, load_config
from container_ci.zuul.schema import schema_problems


@dataclass(frozen=True)
class Moved:
    path: Path
    stanza: str
    from_pipeline: str
    to_pipeline: str
    voting: bool | None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _block_end(lines: list[str], start: int, column: int) -> int:
    """Index after the block starting at `start` whose lines are indented
    more than `column` (blank lines inside it included, trailing ones not)."""
    end = start + 1
    last = start
    while end < len(lines):
        text = lines[end]
        if text.strip() and _indent(text) <= column:
            break
        if text.strip():
            last = end
        end += 1
    return last + 1


def _set_voting(entry: list[str], voting: bool | None) -> list[str]:
    """The entry's lines with its voting flag set (True: the attribute removed)."""
    if voting is None:
        return entry
    head, rest = entry[0], entry[1:]
    dash = _indent(head)
    name = head.strip()[2:].rstrip(":").strip()
    attrs = [line for line in rest if not line.strip().startswith("voting:")]
    attr_indent = next((_indent(line) for line in rest if line.strip()), dash + 4)
    if voting is False:
        attrs = [" " * attr_indent + "voting: false", *attrs]
    if any(line.strip() for line in attrs):
        return [" " * dash + f"- {name}:", *attrs]
    return [" " * dash + f"- {name}"]


def _reindent(entry: list[str], column: int) -> list[str]:
    shift = column - _indent(entry[0])
    if shift >= 0:
        return [(" " * shift + line) if line.strip() else line for line in entry]
    return [line[-shift:] if line.strip() else line for line in entry]


def move_job(paths: list[Path], job: str, to_pipeline: str, voting: bool | None = None) -> Moved:
    config = load_config(paths)
    holders = [
        (stanza, pipeline, index)
        for stanza in [*config.of_kind("project"), *config.of_kind("project-template")]
        for pipeline, index, name, _attrs in pipeline_jobs(stanza)
        if name == job
    ]
    if not holders:
        raise BadInput(f"job {job!r} is in no pipeline of a project or project-template here")
    if len(holders) > 1:
        where = ", ".join(f"{s.label} {p}" for s, p, _ in holders)
        raise BadInput(f"job {job!r} is listed more than once ({where}): move it by hand")
    stanza, from_pipeline, index = holders[0]
    if from_pipeline == to_pipeline and voting is None:
        raise BadInput(f"job {job!r} is already in {to_pipeline}")
    lines = stanza.path.read_text(encoding="utf-8").split("\n")
    new_lines = _edit(lines, stanza, from_pipeline, index, to_pipeline, voting)
    text = "\n".join(new_lines)
    _validated(stanza.path, text)
    write_text_atomically(stanza.path, text)
    return Moved(stanza.path, stanza.label, from_pipeline, to_pipeline, voting)


def _edit(
    lines: list[str],
    stanza: Stanza,
    from_pipeline: str,
    index: int,
    to_pipeline: str,
    voting: bool | None,
) -> list[str]:
    doc = stanza.document
    base: list[str | int] = [stanza.index, stanza.kind]
    entry_start = line_of(doc, [*base, from_pipeline, "jobs", index]) - 1
    dash = _indent(lines[entry_start])
    entry_end = _block_end(lines, entry_start, dash)
    entry = _set_voting(lines[entry_start:entry_end], voting)
    remaining = len(stanza.body[from_pipeline].get("jobs") or []) - 1

    if from_pipeline == to_pipeline:
        return [*lines[:entry_start], *entry, *lines[entry_end:]]

    # Where the entry goes, found before anything shifts.
    if to_pipeline in stanza.body and (stanza.body[to_pipeline] or {}).get("jobs"):
        jobs = stanza.body[to_pipeline]["jobs"]
        last = line_of(doc, [*base, to_pipeline, "jobs", len(jobs) - 1]) - 1
        column = _indent(lines[last])
        insert_at = _block_end(lines, last, column)
        insertion = _reindent(entry, column)
    else:
        pipeline_line = line_of(doc, [*base, from_pipeline]) - 1
        pipeline_column = _indent(lines[pipeline_line])
        stanza_start = line_of(doc, [stanza.index]) - 1
        insert_at = _block_end(lines, stanza_start, _indent(lines[stanza_start]))
        jobs_line = line_of(doc, [*base, from_pipeline, "jobs"]) - 1
        jobs_column = _indent(lines[jobs_line])
        insertion = [
            " " * pipeline_column + f"{to_pipeline}:",
            " " * jobs_column + "jobs:",
            *_reindent(entry, dash),
        ]

    # Remove the entry; with the pipeline's last job goes its header too.
    cut_start, cut_end = entry_start, entry_end
    if remaining == 0:
        cut_start = line_of(doc, [*base, from_pipeline]) - 1
        cut_end = _block_end(lines, cut_start, _indent(lines[cut_start]))
    if insert_at >= cut_end:
        return [
            *lines[:cut_start],
            *lines[cut_end:insert_at],
            *insertion,
            *lines[insert_at:],
        ]
    return [*lines[:insert_at], *insertion, *lines[insert_at:cut_start], *lines[cut_end:]]


def _validated(path: Path, text: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / path.name
        copy.write_text(text, encoding="utf-8")
        config = load_config([copy])
        problems = list(config.problems)
        for stanza in config.stanzas:
            problems += schema_problems(stanza)
    if problems:
        details = "; ".join(p.message for p in problems[:3])
        raise BadInput(f"{path}: the edit would not pass Zuul's schema, nothing written: {details}")
