"""The plugin's tests as Tempest sees them, listed for real through stestr,
and the exclude lists the tempest jobs use, generated from the capability
matrix (never hand-kept).

The tests are those of the installed plugin (the `tempest_plugin` package
beside this one), which is what Tempest would load: with container-ci
installed from the clone being checked, the clone's own."""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import regex

from container_ci.errors import BadInput
from container_ci.repository import Repository
from container_ci.scenarios import catalogue
from container_ci.scenarios.loader import load_capabilities
from container_ci.scenarios.model import compute_driver_row
from container_ci.stestr_listing import list_tests

TEST_PATH = "tempest_plugin/tests"

# Run in a child: importing the tests loads Tempest's configuration.
_OPS_SCRIPT = """
import json, sys, unittest
suite = unittest.TestLoader().discover(sys.argv[1], top_level_dir=sys.argv[2])
ops, pending = {}, [suite]
while pending:
    item = pending.pop()
    if isinstance(item, unittest.TestSuite):
        pending.extend(item)
        continue
    op = getattr(getattr(type(item), item._testMethodName, None), "container_ci_op", None)
    if op:
        ops[item.id().split("[")[0]] = op
print(json.dumps(ops))
"""


def plugin_root() -> Path:
    """The directory holding the installed `tempest_plugin` package."""
    import tempest_plugin

    return Path(tempest_plugin.__file__).resolve().parent.parent


@functools.cache
def listed_tests() -> tuple[str, ...]:
    """`stestr list` of the plugin's tests: full ids, attributes included."""
    root = plugin_root()
    listed = list_tests(root / TEST_PATH, root, "", "the plugin's tests")
    return tuple(test for test in listed if test.startswith("tempest_plugin."))


@functools.cache
def test_operations() -> dict[str, str]:
    """Test id (no attributes) -> the operation its @requires names."""
    root = plugin_root()
    done = subprocess.run(
        [sys.executable, "-c", _OPS_SCRIPT, str(root / TEST_PATH), str(root)],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BadInput(f"cannot import the plugin's tests: {done.stderr.strip()[-400:]}")
    operations: dict[str, str] = json.loads(done.stdout.strip().splitlines()[-1])
    return operations


def exclude_list(driver: str, matrix_path: Path | None = None) -> str:
    """The tempest exclude list for `driver`: a line per test of an operation
    the matrix marks unsupported, with the matrix's reason as its comment."""
    path = matrix_path or catalogue.default_matrix()
    matrix = load_capabilities(path)
    row = compute_driver_row(driver)
    if row not in matrix.rows:
        known = ", ".join(matrix.compute_drivers())
        raise BadInput(f"{path}: no compute driver {driver!r} (known: {known})")
    lines = [
        f"# Generated from {path.name} by `container-ci zuul exclude-list --driver {driver}`:",
        f"# the plugin's tests of operations {driver} lacks. Do not edit by hand.",
    ]
    for test_id, op in sorted(test_operations().items()):
        capability = matrix.capability(row, op)
        if not capability.supported:
            lines.append(f"^{re.escape(test_id)}(\\[|$)  # {op}: {capability.reason}")
    return "\n".join(lines) + "\n"


def exclude_entries(text: str) -> list[tuple[int, str]]:
    """(line number, regex) of each entry of an exclude-list file."""
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        regex = line.split("#", 1)[0].strip()
        if regex:
            entries.append((number, regex))
    return entries


# How long one regex of a job (or one exclude entry) may take against every
# test id. The regexes come from changes under review: a pattern that
# backtracks catastrophically (`^(\w+\.?)+$!` ran over 30 s under `re` on
# one id) must not hold the check, or the node that runs it, hostage.
MATCH_SECONDS = 2.0


class RegexTooSlow(ValueError):
    """A regex did not finish matching within MATCH_SECONDS."""


def matches(regex_text: str, tests: tuple[str, ...], seconds: float = MATCH_SECONDS) -> list[str]:
    """The tests `regex_text` finds, as stestr would search them.

    It must compile under `re` (stestr's engine: re.error otherwise). The
    search runs on the `regex` module, whose version-0 syntax is `re`'s and
    which can be stopped: RegexTooSlow past `seconds` for all the tests
    together, never a hang. A pattern `regex` itself cannot take is refused
    the same way, as one that cannot be checked within the bound."""
    re.compile(regex_text)
    try:
        pattern = regex.compile(regex_text, flags=regex.VERSION0)
    except regex.error as exc:
        raise RegexTooSlow(f"cannot be matched within a bound ({exc})") from exc
    deadline = time.monotonic() + seconds
    found = []
    for test in tests:
        try:
            if pattern.search(test, timeout=max(deadline - time.monotonic(), 0.001)):
                found.append(test)
        except TimeoutError as exc:
            raise RegexTooSlow(
                f"takes over {seconds:g} s to match {len(tests)} test ids "
                "(catastrophic backtracking?)"
            ) from exc
    return found


def write_exclude_list(repository: Repository, driver: str) -> Path:
    """The driver's exclude list, written where the repository's jobs read it."""
    path = repository.exclude_list(driver)
    text = exclude_list(driver)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
