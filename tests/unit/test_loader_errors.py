"""Scenario files and the capability matrix: valid files load with defaults
filled in; every malformed file is rejected as `file:line: field: message`."""

from __future__ import annotations

from pathlib import Path

import pytest

from container_ci.errors import BadInput
from container_ci.scenarios import catalogue
from container_ci.scenarios.loader import load_capabilities, load_scenario, load_scenarios
from container_ci.scenarios.model import OPERATIONS

VALID = """\
name: demo
description: >
  two lines of
  description
steps:
  - op: boot
    instance: vm
    image: base
  - op: exec
    instance: vm
    command: [cat, /etc/cci-image]
  - op: snapshot
    instance: vm
    image: snap
  - op: rebuild
    instance: vm
    image: snap
    timeout: 5
  - op: delete
    instance: vm
"""


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_valid_file_loads_with_defaults(tmp_path):
    scenario = load_scenario(write(tmp_path, VALID))
    assert scenario.name == "demo"
    assert scenario.description == "two lines of description"
    boot, exec_, snapshot, rebuild, delete = scenario.steps
    assert (boot.line, boot.expect.state, boot.timeout, boot.name) == (
        6,
        "active",
        120.0,
        "boot vm",
    )
    assert (exec_.command, exec_.expect.exit_code, exec_.expect.state) == (
        ("cat", "/etc/cci-image"),
        0,
        None,
    )
    assert snapshot.image == "snap" and snapshot.expect.state is None
    assert (rebuild.expect.same_identity, rebuild.timeout, rebuild.line) == (True, 5.0, 15)
    assert delete.expect.state == "gone"


def test_shipped_scenarios_and_matrix_load():
    scenarios = load_scenarios(catalogue.shipped_scenarios())
    assert {s.name for s in scenarios} >= {"lifecycle", "snapshot", "bad-image"}
    assert [s.path.stem for s in scenarios] == catalogue.shipped_names()
    matrix = load_capabilities(catalogue.default_matrix())
    for target in matrix.rows:
        assert set(matrix.rows[target]) == set(OPERATIONS)
        for capability in matrix.rows[target].values():
            assert capability.supported or capability.reason


BOOT = "  - op: boot\n    instance: vm\n    image: base\n"
HEAD = "name: x\ndescription: d\nsteps:\n"


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        (HEAD + "  - op: bot\n    instance: vm\n", 4, "steps[0].op: 'bot' is not one of"),
        (HEAD + BOOT + "    colour: red\n", 7, "steps[0].colour: unknown key 'colour'"),
        (HEAD + "  - op: boot\n    image: base\n", 4, "steps[0]: 'instance' is required"),
        (HEAD + BOOT + "    count: many\n", 7, "steps[0].count: 'many' is not of type 'integer'"),
        (
            HEAD + BOOT + "  - op: reboot\n    instance: vm\n    command: [x]\n",
            9,
            "steps[1].command: only allowed on exec",
        ),
        (
            HEAD + BOOT + "  - op: stop\n    instance: vm\n    expect: {exit_code: 0}\n",
            9,
            "steps[1].expect.exit_code: only allowed on exec",
        ),
        (HEAD + BOOT + "  - op: exec\n    instance: vm\n", 7, "steps[1]: exec needs 'command'"),
        (HEAD + "  - op: stop\n    instance: vm\n", 5, "steps[0].instance: 'vm' is not booted"),
        (
            HEAD + BOOT + "  - op: delete\n    instance: vm\n  - op: start\n    instance: vm\n",
            10,
            "steps[2].instance: 'vm' is not booted",
        ),
        (HEAD + BOOT + BOOT, 8, "steps[1].instance: 'vm' is already booted"),
        (
            HEAD + "  - op: boot\n    instance: vm\n    image: bsae\n",
            6,
            "steps[0].image: unknown image 'bsae'",
        ),
        (HEAD + BOOT + "  - op: wait\n    instance: vm\n", 7, "steps[1]: wait needs expect.state"),
        (HEAD + BOOT + "    timeout: -1\n", 7, "steps[0].timeout: -1 is less than or equal to"),
        ("name: x\ndescription: d\nsteps: [\n", 4, "invalid YAML"),
        ("name: x\nname: y\ndescription: d\nsteps: []\n", 2, "invalid YAML"),
        ("", 1, "the file is empty"),
        ("- just\n- a list\n", 1, "a scenario must be a mapping"),
        ("name: x\ndescription: d\nsteps: []\n", 3, "steps: [] should be non-empty"),
        ("name: Bad Name\ndescription: d\nsteps:\n" + BOOT, 1, "name: 'Bad Name' does not match"),
    ],
)
def test_malformed_scenarios_name_file_line_and_field(tmp_path, text, line, expected):
    path = write(tmp_path, text)
    with pytest.raises(BadInput) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert expected in message, message
    assert "\n" not in message


def test_duplicate_scenario_names_name_both_files(tmp_path):
    first = write(tmp_path, HEAD + BOOT, "a.yaml")
    second = write(tmp_path, HEAD + BOOT, "b.yaml")
    with pytest.raises(BadInput, match=rf"{second}:1: name: 'x' is also the name of {first}"):
        load_scenarios([first, second])


def test_missing_file(tmp_path):
    with pytest.raises(BadInput, match="no such file"):
        load_scenario(tmp_path / "absent.yaml")


def matrix_text(drop: str = "", extra: str = "", suspend: str = "supported") -> str:
    lines = ["targets:", "  docker:"]
    for op in OPERATIONS:
        if op == drop:
            continue
        lines.append(f"    {op}: {suspend if op == 'suspend' else 'supported'}")
    return "\n".join(lines) + "\n" + extra


def test_matrix_loads_reasons(tmp_path):
    text = matrix_text(suspend="\n      unsupported: >-\n        no managed\n        save")
    matrix = load_capabilities(write(tmp_path, text, "capabilities.yaml"))
    assert matrix.capability("docker", "boot").supported
    assert matrix.capability("docker", "suspend").reason == "no managed save"


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        (matrix_text(drop="pause"), 2, "targets.docker: declares nothing for pause"),
        (
            matrix_text(extra="    fly: supported\n"),
            17,
            "targets.docker.fly: unknown operation 'fly'",
        ),
        (matrix_text(suspend="\n      unsupported: ' '"), 13, "targets.docker.suspend"),
        (matrix_text(suspend="maybe"), 12, "targets.docker.suspend: 'maybe': must be `supported`"),
        ("targets: {}\n", 1, "targets"),
    ],
)
def test_malformed_matrix(tmp_path, text, line, expected):
    path = write(tmp_path, text, "capabilities.yaml")
    with pytest.raises(BadInput) as caught:
        load_capabilities(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert expected in message, message
