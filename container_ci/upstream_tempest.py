"""Upstream Tempest's compute API tests on one compute driver: which are not
run, and why.

What a driver lacks is first said by the capability matrix as Tempest's own
`[compute-feature-enabled]` flags (tempest_conf.feature_flags): Tempest then
skips those tests itself, naming the flag. The exclude list is for the rest,
tests whose needs no flag states, and every entry carries its reason. The
entries live in upstream_exclusions.yaml, beside the matrix:

- `needs: OPERATION` (or a compute_api_features name): excluded for every
  driver whose row marks it unsupported, the row's own reason quoted, so
  the list follows the matrix;
- `drivers: [...]` with a `reason`: what the matrix has no word for (an LXC
  guest counts the host's CPUs), for those drivers;
- `cloud: local` with a `reason`: what the one-node local cloud cannot offer,
  only when the run is against it.

A test keeps every entry matching at least one real upstream test."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from container_ci.errors import BadInput
from container_ci.scenarios import catalogue
from container_ci.scenarios.loader import load_capabilities
from container_ci.scenarios.model import COMPUTE_API_FEATURES, OPERATIONS, compute_driver_row
from container_ci.stestr_listing import list_tests
from container_ci.yaml_source import dotted, line_of, load_yaml

SUITE_REGEX = r"^tempest\.api\.compute\."
EXCLUSIONS_FILE = "upstream_exclusions.yaml"
ENTRY_KEYS = {"tests", "needs", "drivers", "cloud", "reason"}


@dataclass(frozen=True)
class Exclusion:
    tests: str  # a regex, as tempest run --exclude-list reads one
    reason: str
    line: int  # of the entry in the exclusions file


def exclusions_path() -> Path:
    return Path(str(resources.files("container_ci.scenarios").joinpath(EXCLUSIONS_FILE)))


@dataclass(frozen=True)
class _Entry:
    tests: str
    line: int
    needs: str = ""
    drivers: tuple[str, ...] = ()
    cloud: str = ""
    reason: str = ""


def _entries(path: Path) -> list[_Entry]:
    """The file's entries, checked: file:line: field: message for a bad one."""
    document = load_yaml(path)
    if not isinstance(document, list):
        raise BadInput(f"{path}:1: a list of exclusions is expected")
    entries = []
    for index, raw in enumerate(document):

        def fail(field: str | None, message: str, index: int = index) -> BadInput:
            location: list[str | int] = [index] + ([field] if field else [])
            return BadInput(f"{path}:{line_of(document, location)}: {dotted(location)}: {message}")

        if not isinstance(raw, dict):
            raise fail(None, "an exclusion is a mapping with `tests`")
        unknown = sorted(set(raw) - ENTRY_KEYS)
        if unknown:
            raise fail(unknown[0], f"unknown key; allowed: {', '.join(sorted(ENTRY_KEYS))}")
        tests = str(raw.get("tests") or "")
        if not tests:
            raise fail("tests", "is required: a regex of upstream test ids")
        try:
            re.compile(tests)
        except re.error as exc:
            raise fail("tests", f"does not compile: {exc}") from exc
        needs = str(raw.get("needs") or "")
        reason = " ".join(str(raw.get("reason") or "").split())
        drivers = raw.get("drivers") or []
        cloud = str(raw.get("cloud") or "")
        kinds = [name for name in ("needs", "drivers", "cloud") if raw.get(name)]
        if len(kinds) != 1:
            raise fail(None, "say exactly one of `needs`, `drivers`, `cloud`")
        if needs and needs not in OPERATIONS + COMPUTE_API_FEATURES:
            raise fail("needs", f"{needs!r} is neither an operation nor a compute_api_feature")
        if needs and reason:
            raise fail("reason", "a `needs` entry takes its reason from the matrix")
        if not needs and not reason:
            raise fail("reason", "is required: why the test cannot pass there")
        if cloud and cloud != "local":
            raise fail("cloud", "the one cloud named here is `local`")
        if not isinstance(drivers, list):
            raise fail("drivers", "a list of compute drivers")
        entries.append(
            _Entry(
                tests=tests,
                line=line_of(document, [index]),
                needs=needs,
                drivers=tuple(map(str, drivers)),
                cloud=cloud,
                reason=reason,
            )
        )
    return entries


def exclusions(
    driver: str,
    local_cloud: bool,
    path: Path | None = None,
    matrix_path: Path | None = None,
) -> list[Exclusion]:
    """The entries that apply to `driver` (and to the local cloud, when the
    run is against it), each with its reason."""
    path = path or exclusions_path()
    matrix_path = matrix_path or catalogue.default_matrix()
    matrix = load_capabilities(matrix_path)
    row = matrix.rows.get(compute_driver_row(driver))
    if row is None:
        known = ", ".join(matrix.compute_drivers())
        raise BadInput(f"{matrix_path}: no compute driver {driver!r} (known: {known})")
    features = matrix.features.get(driver, {})
    chosen = []
    for entry in _entries(path):
        if entry.needs:
            capability = row.get(entry.needs) or features.get(entry.needs)
            if capability is None:
                raise BadInput(
                    f"{path}:{entry.line}: needs: {matrix_path} says nothing of "
                    f"{entry.needs!r} for {driver}"
                )
            if not capability.supported:
                chosen.append(
                    Exclusion(entry.tests, f"{entry.needs}: {capability.reason}", entry.line)
                )
        elif driver in entry.drivers or (entry.cloud == "local" and local_cloud):
            chosen.append(Exclusion(entry.tests, entry.reason, entry.line))
    return chosen


def exclude_list(driver: str, local_cloud: bool) -> str:
    """The text `tempest run --exclude-list` reads: a regex per line, its
    reason after `#`."""
    where = "the local cloud" if local_cloud else "any cloud"
    lines = [
        f"# Upstream tempest.api.compute tests not run on {driver} ({where}), generated from",
        f"# {EXCLUSIONS_FILE} and the capability matrix by container-ci. Do not edit.",
    ]
    for exclusion in exclusions(driver, local_cloud):
        lines.append(f"{exclusion.tests}  # {exclusion.reason}")
    return "\n".join(lines) + "\n"


def write_exclude_list(directory: Path, driver: str, local_cloud: bool) -> Path:
    path = directory / f"exclude-upstream-compute-{driver}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(exclude_list(driver, local_cloud), encoding="utf-8")
    return path


@functools.cache
def upstream_tests() -> tuple[str, ...]:
    """Upstream tempest.api.compute test ids, listed by stestr from the
    installed Tempest (attributes included, as the exclude list sees them)."""
    import tempest

    top_dir = Path(tempest.__file__).resolve().parent.parent
    listed = list_tests(
        top_dir / "tempest" / "test_discover", top_dir, SUITE_REGEX, "Tempest's tests"
    )
    return tuple(test for test in listed if test.startswith("tempest.api.compute."))


def excluded_tests(driver: str, local_cloud: bool) -> list[str]:
    """The upstream tests the exclude list keeps out of a run on `driver`:
    what a run's counts leave out, said beside them."""
    patterns = [re.compile(e.tests) for e in exclusions(driver, local_cloud)]
    return [test for test in upstream_tests() if any(p.search(test) for p in patterns)]


def problems(path: Path | None = None) -> list[str]:
    """file:line: message for every entry that matches no upstream test."""
    path = path or exclusions_path()
    tests = upstream_tests()
    found = []
    for entry in _entries(path):
        pattern = re.compile(entry.tests)
        if not any(pattern.search(test) for test in tests):
            found.append(f"{path}:{entry.line}: tests: {entry.tests!r} matches no upstream test")
    return found
