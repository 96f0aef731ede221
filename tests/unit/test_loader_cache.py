"""A scenario file or matrix is parsed once; after that its loaded form is
read from the data dir's cache, equal to a fresh parse, and a changed or
failing file is never served from it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from container_ci.errors import BadInput
from container_ci.scenarios import catalogue
from container_ci.scenarios.loader import load_capabilities, load_scenario
from container_ci.scenarios.parser import parse_capabilities, parse_scenario


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CONTAINER_CI_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def entries(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "cache" / "loaded").glob("*.json"))


def test_what_is_read_back_equals_a_fresh_parse(data_dir):
    for path in catalogue.shipped_scenarios():
        assert load_scenario(path) == load_scenario(path) == parse_scenario(path)
    matrix = catalogue.default_matrix()
    assert load_capabilities(matrix) == load_capabilities(matrix) == parse_capabilities(matrix)
    assert len(entries(data_dir)) == len(catalogue.shipped_scenarios()) + 1


def test_a_remembered_load_needs_neither_yaml_nor_the_schema_validator(data_dir):
    script = (
        "import sys\n"
        "from container_ci.scenarios import catalogue, loader\n"
        "loader.load_scenario(catalogue.shipped_dir() / 'lifecycle.yaml')\n"
        "loader.load_capabilities(catalogue.default_matrix())\n"
        "print(sorted(m for m in ('ruamel', 'jsonschema') if m in sys.modules))\n"
    )
    first, second = (
        subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    )
    assert (first, second) == ("['jsonschema', 'ruamel']", "[]")


def test_a_changed_file_is_parsed_again(data_dir, tmp_path):
    path = tmp_path / "lifecycle.yaml"
    shutil.copy(catalogue.shipped_dir() / "lifecycle.yaml", path)
    before = load_scenario(path)
    path.write_text(path.read_text().replace("description:", "description: Changed.", 1))
    after = load_scenario(path)
    assert after.description.startswith("Changed.") and not before.description.startswith("C")
    assert after == parse_scenario(path)


def test_a_file_that_fails_is_never_kept(data_dir, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\ndescription: d\nsteps:\n  - op: bot\n    instance: vm\n")
    for _ in range(2):
        with pytest.raises(BadInput, match=rf"{path}:4: steps\[0\]\.op"):
            load_scenario(path)
    assert entries(data_dir) == []
    with pytest.raises(BadInput, match="no such file"):
        load_scenario(tmp_path / "missing.yaml")


def test_an_unreadable_entry_is_parsed_again_and_replaced(data_dir):
    path = catalogue.shipped_dir() / "rebuild.yaml"
    expected = load_scenario(path)
    (entry,) = entries(data_dir)
    entry.write_text('{"name": "truncated')
    assert load_scenario(path) == expected
    assert entry.read_text().startswith('{"name": "rebuild"')
