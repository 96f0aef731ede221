"""Starting a daemon that cannot start gives one clear line, from its own log."""

from __future__ import annotations

import time

import pytest

from container_ci.errors import DaemonError
from container_ci.provision import daemons


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CONTAINER_CI_DATA_DIR", str(tmp_path))


def spec(argv: tuple[str, ...], timeout: float = 10) -> daemons.DaemonSpec:
    return daemons.DaemonSpec("fakedaemon", argv, (), lambda: None, start_timeout=timeout)


def test_daemon_that_exits_reports_its_error_line():
    script = "echo 'starting'; echo 'level=fatal msg=\"cannot bind socket\"'; echo bye; exit 4"
    with pytest.raises(DaemonError) as caught:
        daemons.start(spec(("sh", "-c", script)), answers=lambda: False)
    message = str(caught.value)
    assert "\n" not in message
    assert "exited with status 4" in message
    assert "cannot bind socket" in message
    assert "fakedaemon.log" in message


def test_missing_binary_is_one_line():
    with pytest.raises(DaemonError, match="is not installed"):
        daemons.start(spec(("/nonexistent/daemond",)), answers=lambda: False)


def test_daemon_that_never_answers_times_out_and_is_ours_to_stop():
    with pytest.raises(DaemonError, match="did not answer within 0.5s"):
        daemons.start(spec(("sleep", "30"), timeout=0.5), answers=lambda: False)
    pid = daemons.managed_pid("fakedaemon")
    assert pid is not None
    assert daemons.stop_managed("fakedaemon")
    assert daemons.managed_pid("fakedaemon") is None


def test_answering_daemon_returns_its_pid():
    pid = daemons.start(spec(("sleep", "30")), answers=lambda: True)
    try:
        assert daemons.managed_pid("fakedaemon") == pid
    finally:
        daemons.stop_managed("fakedaemon")


def test_a_daemon_with_a_config_of_ours_is_started_with_it_owner_only():
    """libvirtd gets a config file of the harness's (max_client_requests):
    written before each start, readable by its owner only, passed with the
    daemon's own option."""
    script = 'test "$1" = --config && cat "$2" > "$2.seen"; exec sleep 30'
    with_config = daemons.DaemonSpec(
        "fakedaemon",
        ("sh", "-c", script, "sh"),
        (),
        lambda: None,
        config="max_client_requests = 64\n",
        config_option="--config",
    )
    daemons.start(with_config, answers=lambda: True)
    try:
        path = daemons.configfile("fakedaemon")
        seen = path.with_name(path.name + ".seen")
        for _ in range(50):
            if seen.exists() and seen.read_text():
                break
            time.sleep(0.1)
        assert seen.read_text() == "max_client_requests = 64\n"
        assert path.stat().st_mode & 0o777 == 0o600
    finally:
        daemons.stop_managed("fakedaemon")
