"""`container-ci setup` is idempotent: once everything is ready it changes nothing."""

from __future__ import annotations

from tests.helpers import run_cli


def test_second_setup_does_nothing_and_says_so(backends):
    first = run_cli("setup")
    assert first.returncode == 0, first.stdout + first.stderr
    second = run_cli("setup")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "setup: nothing to do" in second.stdout
    assert "started" not in second.stdout and "built" not in second.stdout
