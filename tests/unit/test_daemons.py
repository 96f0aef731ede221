"""Starting a daemon that cannot start gives one clear line, from its own log."""

from __future__ import annotations

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
