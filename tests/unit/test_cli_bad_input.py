"""Bad input exits 2 with `file:line: message`, no traceback, nothing created."""

from __future__ import annotations

import pytest

from tests.helpers import run_cli


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        ("name: x\ndescription: d\nsteps:\n  - op: bot\n    instance: vm\n", 4, "steps[0].op"),
        (
            "name: x\ndescription: d\nsteps:\n  - op: boot\n    instance: vm\n    image: base\n"
            "  - op: exec\n    instance: vm\n    command: [true]\n    expect:\n"
            "      exit_code: zero\n",
            11,
            "steps[1].expect.exit_code",
        ),
        ("name: x\ndescription: d\nsteps: [\n", 4, ""),
    ],
)
def test_malformed_scenario_exits_2_with_file_and_line(tmp_path, text, line, field):
    scenario = tmp_path / "broken.yaml"
    scenario.write_text(text)
    done = run_cli("run", "--scenario", str(scenario), "--output", str(tmp_path / "out"))
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{scenario}:{line}: " in done.stderr
    assert field in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert not (tmp_path / "out").exists(), "nothing may be written for bad input"


def test_missing_scenario_file_is_bad_input(tmp_path):
    done = run_cli("run", "--scenario", str(tmp_path / "nope.yaml"))
    assert done.returncode == 2
    assert "nope.yaml: no such file" in done.stderr


def test_bad_option_exits_2():
    done = run_cli("run", "--concurrency", "0")
    assert done.returncode == 2
    assert "--concurrency" in done.stderr


def test_help_lists_exit_codes():
    done = run_cli("run", "--help")
    assert done.returncode == 0
    for code in ("0 ", "1 ", "2 ", "3 ", "130"):
        assert f"  {code}" in done.stdout


def test_an_unknown_command_names_the_commands():
    done = run_cli("bogus", in_process=True)
    assert done.returncode == 2
    assert "invalid choice: 'bogus'" in done.stderr and "'devstack-config'" in done.stderr


def test_a_reader_that_goes_away_gets_no_traceback():
    """`container-ci ... | head -1`: the reader closed its end before the
    command printed; one exit code, no traceback."""
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "container_ci.cli", "zuul", "exclude-list", "--driver", "docker"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    errors = process.stderr.read()
    assert process.wait(timeout=60) == 141, errors
    assert "Traceback" not in errors, errors
