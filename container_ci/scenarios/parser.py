"""Parsing scenario files and the capability matrix, with `file:line: message` errors.

Two passes: the JSON schema (types, allowed keys, values), then the rules a
schema says badly: which arguments and expectations each operation accepts,
and whether every instance alias and image alias exists when a step uses it.
Everything is checked before anything runs. loader.py is the way in: it
remembers what a file parsed to."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from container_ci.errors import BadInput
from container_ci.scenarios.model import (
    COMPUTE_API_FEATURES,
    DEFAULT_STATE,
    DEFAULT_TIMEOUT,
    FALLBACK_TIMEOUT,
    OPERATIONS,
    Capability,
    CapabilityMatrix,
    Expect,
    Scenario,
    Step,
    compute_driver_row,
)
from container_ci.yaml_source import dotted, line_of, load_yaml, to_plain

BUILTIN_IMAGES = ("base", "alt")

# Which step keys and expectations each operation accepts (beyond op/instance/
# name/timeout/optional/expect, which every step may have).
ARGUMENTS = {
    "boot": {"image", "count"},
    "rebuild": {"image"},
    "snapshot": {"image"},
    "exec": {"command"},
}
REQUIRED_ARGUMENTS = {
    "boot": {"image"},
    "rebuild": {"image"},
    "snapshot": {"image"},
    "exec": {"command"},
}
NO_STATE = {"exec", "console", "snapshot"}
EXPECTATIONS_ONLY_ON = {
    "exit_code": {"exec"},
    "stdout_contains": {"exec"},
    "error": {"boot", "rebuild"},
    "same_identity": {"rebuild"},
}


@cache
def _schema_text(name: str) -> str:
    return resources.files("container_ci.scenarios").joinpath(name).read_text()


def _schema_check(path: Path, document: Any, schema_name: str) -> None:
    """The document against its JSON schema; the first error, as `file:line:
    field: message`."""
    validator = jsonschema.Draft202012Validator(json.loads(_schema_text(schema_name)))
    error = best_match(validator.iter_errors(_dates_as_text(to_plain(document))))
    if error is not None:
        raise _schema_error(path, document, error)


def _dates_as_text(node: Any) -> Any:
    """YAML loads `expires: 2027-03-01` as a date; JSON Schema knows only
    text, so dates are checked as ISO text."""
    if isinstance(node, dict):
        return {key: _dates_as_text(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_dates_as_text(item) for item in node]
    return node.isoformat() if isinstance(node, date) else node


def _schema_error(path: Path, document: Any, error: ValidationError) -> BadInput:
    location = list(error.absolute_path)
    message = error.message
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(schema.get("properties", {}))
        extra = sorted(key for key in error.instance if key not in allowed)
        if extra:
            location.append(extra[0])
            message = f"unknown key {extra[0]!r}; allowed: {', '.join(sorted(allowed))}"
    elif "propertyNames" in error.schema_path:  # the offending key is the instance
        location.append(str(error.instance))
        if location[0] == "compute_api_features":
            message = (
                f"unknown feature {error.instance!r}; features: {', '.join(COMPUTE_API_FEATURES)}"
            )
        else:
            message = f"unknown operation {error.instance!r}; operations: {', '.join(OPERATIONS)}"
    elif error.validator == "oneOf":  # a matrix entry
        message = f"{error.instance!r}: must be `supported` or `unsupported: <why>`"
    elif error.validator == "required":
        message = error.message.replace("is a required property", "is required")
    elif error.validator == "enum" and isinstance(error.validator_value, list):
        message = f"{error.instance!r} is not one of {', '.join(map(str, error.validator_value))}"
    line = line_of(document, location)
    return BadInput(f"{path}:{line}: {dotted(location)}: {message}")


def _fail(path: Path, document: Any, location: list[str | int], message: str) -> BadInput:
    return BadInput(f"{path}:{line_of(document, location)}: {dotted(location)}: {message}")


def parse_scenario(path: Path) -> Scenario:
    document = load_yaml(path)
    if document is None:
        raise BadInput(f"{path}:1: the file is empty; a scenario needs name, description, steps")
    if not isinstance(document, dict):
        raise BadInput(f"{path}:1: a scenario must be a mapping, not a {type(document).__name__}")
    _schema_check(path, document, "scenario.schema.json")
    steps = tuple(_step(path, document, index, raw) for index, raw in enumerate(document["steps"]))
    _check_aliases(path, document, steps)
    return Scenario(
        name=str(document["name"]),
        description=" ".join(str(document["description"]).split()),
        path=path,
        steps=steps,
    )


def _step(path: Path, document: Any, index: int, raw: dict[str, Any]) -> Step:
    op = str(raw["op"])
    where: list[str | int] = ["steps", index]
    allowed = ARGUMENTS.get(op, set())
    for key in ("image", "count", "command"):
        if key in raw and key not in allowed:
            owners = [name for name, keys in ARGUMENTS.items() if key in keys]
            raise _fail(path, document, [*where, key], f"only allowed on {', '.join(owners)}")
    for key in sorted(REQUIRED_ARGUMENTS.get(op, set()) - set(raw)):
        raise _fail(path, document, where, f"{op} needs {key!r}")
    raw_expect = raw.get("expect") or {}
    for key, ops in EXPECTATIONS_ONLY_ON.items():
        if key in raw_expect and op not in ops:
            raise _fail(
                path, document, [*where, "expect", key], f"only allowed on {', '.join(sorted(ops))}"
            )
    if "state" in raw_expect and op in NO_STATE:
        raise _fail(path, document, [*where, "expect", "state"], f"not allowed on {op}")
    if op == "wait" and "state" not in raw_expect:
        raise _fail(path, document, where, "wait needs expect.state")
    error = raw_expect.get("error")
    state = raw_expect.get("state")
    if state is None and error is None:
        state = DEFAULT_STATE.get(op)
    exit_code = raw_expect.get("exit_code")
    if op == "exec" and exit_code is None:
        exit_code = 0
    same_identity = raw_expect.get("same_identity")
    if op == "rebuild" and same_identity is None and error is None:
        same_identity = True
    expect = Expect(
        state=None if state is None else str(state),
        exit_code=None if exit_code is None else int(exit_code),
        stdout_contains=_opt_str(raw_expect.get("stdout_contains")),
        console_contains=_opt_str(raw_expect.get("console_contains")),
        error=_opt_str(error),
        same_identity=same_identity,
    )
    instance = str(raw["instance"])
    return Step(
        index=index,
        op=op,
        instance=instance,
        line=line_of(document, where),
        image=_opt_str(raw.get("image")),
        command=tuple(str(part) for part in raw.get("command", ())),
        count=int(raw.get("count", 1)),
        expect=expect,
        timeout=float(raw.get("timeout", DEFAULT_TIMEOUT.get(op, FALLBACK_TIMEOUT))),
        optional=bool(raw.get("optional", False)),
        name=str(raw.get("name") or f"{op} {instance}"),
    )


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _check_aliases(path: Path, document: Any, steps: tuple[Step, ...]) -> None:
    """Walk the steps in order: instances must be live, image aliases defined."""
    live: set[str] = set()
    images: set[str] = set(BUILTIN_IMAGES)
    for step in steps:
        where: list[str | int] = ["steps", step.index]
        image = step.image or ""
        if step.op in ("boot", "rebuild") and _is_alias(image) and image not in images:
            known = ", ".join(sorted(images))
            raise _fail(
                path,
                document,
                [*where, "image"],
                f"unknown image {step.image!r}; known: {known} (or a literal repo:tag)",
            )
        if step.op == "boot":
            if step.instance in live:
                raise _fail(
                    path, document, [*where, "instance"], f"{step.instance!r} is already booted"
                )
            if step.expect.error is None:
                live.add(step.instance)
            continue
        if step.instance not in live:
            raise _fail(path, document, [*where, "instance"], f"{step.instance!r} is not booted")
        if step.op == "snapshot":
            alias = step.image or ""
            if not _is_alias(alias) or alias in images:
                raise _fail(
                    path,
                    document,
                    [*where, "image"],
                    f"snapshot alias {alias!r} must be a new bare name (not base/alt/repo:tag)",
                )
            images.add(alias)
        if step.op == "delete":
            live.discard(step.instance)


def _is_alias(ref: str) -> bool:
    return ":" not in ref and "/" not in ref


def parse_capabilities(path: Path) -> CapabilityMatrix:
    """`targets:` rows keep their names; `compute_drivers:` rows become `nova/<driver>`."""
    document = load_yaml(path)
    if not isinstance(document, dict):
        raise BadInput(f"{path}:1: the capability matrix must be a mapping with 'targets'")
    _schema_check(path, document, "capabilities.schema.json")
    rows: dict[str, dict[str, Capability]] = {}
    for section in ("targets", "compute_drivers"):
        for name, ops in (document.get(section) or {}).items():
            missing = [op for op in OPERATIONS if op not in ops]
            if missing:
                raise _fail(
                    path,
                    document,
                    [section, name],
                    f"declares nothing for {', '.join(missing)}: "
                    "say `supported` or `unsupported: why`",
                )
            row = compute_driver_row(str(name)) if section == "compute_drivers" else str(name)
            rows[row] = {str(op): _capability(value) for op, value in ops.items()}
    features: dict[str, dict[str, Capability]] = {}
    drivers = set(document.get("compute_drivers") or {})
    for name, declared in (document.get("compute_api_features") or {}).items():
        location: list[str | int] = ["compute_api_features", name]
        if name not in drivers:
            known = ", ".join(sorted(map(str, drivers))) or "none"
            raise _fail(path, document, location, f"not a row of compute_drivers ({known})")
        missing = [feature for feature in COMPUTE_API_FEATURES if feature not in declared]
        if missing:
            raise _fail(
                path,
                document,
                location,
                f"declares nothing for {', '.join(missing)}: say `supported` or `unsupported: why`",
            )
        features[str(name)] = {str(key): _capability(value) for key, value in declared.items()}
    return CapabilityMatrix(path=path, rows=rows, features=features)


def _capability(value: Any) -> Capability:
    if value == "supported":
        return Capability(True)
    return Capability(False, " ".join(str(value["unsupported"]).split()))
