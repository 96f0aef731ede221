"""`container-ci setup` is idempotent: once everything is ready it changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from container_ci.provision import daemons
from tests.helpers import run_cli


def test_second_setup_does_nothing_and_says_so(backends):
    first = run_cli("setup")
    assert first.returncode == 0, first.stdout + first.stderr
    second = run_cli("setup")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "setup: nothing to do" in second.stdout
    assert "started" not in second.stdout and "built" not in second.stdout


def test_the_libvirtd_setup_starts_takes_calls_past_libvirts_five(backends):
    """libvirtd stops reading a client with 5 calls in flight, keepalive
    answers too: a run's connection was closed that way under load. The
    libvirtd `setup` starts reads our config, which raises the limit."""
    pid = daemons.managed_pid("libvirtd")
    if pid is None:
        pytest.skip("this libvirtd was not started by container-ci setup: its config is its own")
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    config = daemons.configfile("libvirtd")
    assert argv[1:3] == ["--config", str(config)]
    assert "max_client_requests = 64" in config.read_text().splitlines()
