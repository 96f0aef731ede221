"""Loading scenario files and the capability matrix: parsed and checked
(parser.py) the first time, remembered after that.

Parsing a file is YAML with positions (ruamel's pure-Python round-trip
loader), its JSON schema (jsonschema, whose import alone costs 60-90 ms) and
the semantic pass: most of a run's start-up, for the same shipped files each
time. What a file loads to depends only on its path, its bytes and the
parser's own code, so the loaded form is kept in the data dir's cache, as
JSON, under the digest of the three, and read back instead of parsing
again. A file that fails to parse is never kept: its errors come from the
parser every time, worded as the parser words them."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from container_ci import __version__, paths
from container_ci.atomic import write_text_atomically
from container_ci.errors import BadInput
from container_ci.input_bounds import MAX_YAML_BYTES
from container_ci.scenarios.model import Capability, CapabilityMatrix, Expect, Scenario, Step

Loaded = TypeVar("Loaded", Scenario, CapabilityMatrix)

# What the loaded form depends on besides the file: these sources.
PARSER_SOURCES = (
    "scenarios/parser.py",
    "scenarios/model.py",
    "scenarios/scenario.schema.json",
    "scenarios/capabilities.schema.json",
    "yaml_source.py",
    "input_bounds.py",
)


def load_scenario(path: Path) -> Scenario:
    return _remembered(path, _parse_scenario, _scenario_to_json, _scenario_from_json)


def load_capabilities(path: Path) -> CapabilityMatrix:
    """`targets:` rows keep their names; `compute_drivers:` rows become `nova/<driver>`."""
    return _remembered(path, _parse_capabilities, _matrix_to_json, _matrix_from_json)


# The parser (and ruamel, jsonschema with it) is imported only when a file
# is not remembered.
def _parse_scenario(path: Path) -> Scenario:
    from container_ci.scenarios.parser import parse_scenario

    return parse_scenario(path)


def _parse_capabilities(path: Path) -> CapabilityMatrix:
    from container_ci.scenarios.parser import parse_capabilities

    return parse_capabilities(path)


def load_scenarios(paths: Iterable[Path]) -> list[Scenario]:
    """Each file's scenario; two of the same name are bad input."""
    scenarios: list[Scenario] = []
    seen: dict[str, Path] = {}
    for path in paths:
        scenario = load_scenario(path)
        if scenario.name in seen:
            from container_ci.yaml_source import line_of, load_yaml

            raise BadInput(
                f"{path}:{line_of(load_yaml(path), ['name'])}: name: {scenario.name!r} "
                f"is also the name of {seen[scenario.name]}"
            )
        seen[scenario.name] = path
        scenarios.append(scenario)
    return scenarios


@functools.cache
def _parser_digest() -> str:
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256(__version__.encode())
    for source in PARSER_SOURCES:
        digest.update((package / source).read_bytes())
    return digest.hexdigest()


def _remembered(
    path: Path,
    parse: Callable[[Path], Loaded],
    to_json: Callable[[Loaded], dict[str, Any]],
    from_json: Callable[[dict[str, Any]], Loaded],
) -> Loaded:
    try:
        with open(path, "rb") as handle:
            content = handle.read(MAX_YAML_BYTES + 1)
    except OSError:
        return parse(path)  # which says what is wrong with the path
    if len(content) > MAX_YAML_BYTES:
        return parse(path)  # which refuses it, unread past the bound
    key = hashlib.sha256(f"{_parser_digest()}\0{path}\0".encode() + content).hexdigest()
    entry = paths.data_dir() / "cache" / "loaded" / f"{key}.json"
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        return from_json(json.loads(entry.read_text(encoding="utf-8")))
    loaded = parse(path)
    with contextlib.suppress(OSError):  # a cache: a data dir that cannot be written costs time
        entry.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(entry, json.dumps(to_json(loaded)))
    return loaded


def _scenario_to_json(scenario: Scenario) -> dict[str, Any]:
    return {
        "name": scenario.name,
        "description": scenario.description,
        "path": str(scenario.path),
        "steps": [
            {**vars(step), "command": list(step.command), "expect": vars(step.expect)}
            for step in scenario.steps
        ],
    }


def _scenario_from_json(data: dict[str, Any]) -> Scenario:
    steps = tuple(
        Step(**{**step, "command": tuple(step["command"]), "expect": Expect(**step["expect"])})
        for step in data["steps"]
    )
    return Scenario(data["name"], data["description"], Path(data["path"]), steps)


def _matrix_to_json(matrix: CapabilityMatrix) -> dict[str, Any]:
    rows = {
        row: {op: [cap.supported, cap.reason] for op, cap in ops.items()}
        for row, ops in matrix.rows.items()
    }
    features = {
        driver: {name: [cap.supported, cap.reason] for name, cap in declared.items()}
        for driver, declared in matrix.features.items()
    }
    return {"path": str(matrix.path), "rows": rows, "features": features}


def _matrix_from_json(data: dict[str, Any]) -> CapabilityMatrix:
    def capabilities(raw: dict[str, Any]) -> dict[str, Capability]:
        return {key: Capability(bool(yes), str(reason)) for key, (yes, reason) in raw.items()}

    rows = {row: capabilities(ops) for row, ops in data["rows"].items()}
    features = {driver: capabilities(raw) for driver, raw in data["features"].items()}
    return CapabilityMatrix(Path(data["path"]), rows, features)
