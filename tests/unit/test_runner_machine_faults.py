"""A step that meets the machine's own fault (bench/chaos's disk-full: the
data dir on a full tmpfs) is an infrastructure error (exit 3), not a driver
failure (exit 1); any other OSError a target lets out stays a failure."""

from __future__ import annotations

import errno
import os
import shutil
import threading

import pytest

from container_ci.errors import InfrastructureError
from container_ci.naming import Owner
from container_ci.results.model import PairStatus, RunResult, StepStatus
from container_ci.runner.pair import PairExecution, machine_fault, now
from container_ci.runner.timeouts import AbandonedThreads
from tests.fakes.target import FakeTarget, make_scenario, matrix


def run_pair(target: FakeTarget):
    return PairExecution(
        make_scenario(), target, matrix(), "unit-test", threading.Event(), AbandonedThreads()
    ).run()


def full_disk_copy_error(tmp_path) -> shutil.Error:
    """The Error shutil.copytree raises when files do not fit (what an LXC
    create met on a 2 MB tmpfs), made the way copytree makes it."""
    return shutil.Error(
        [
            (str(tmp_path / f"src/lib{i}.so"), str(tmp_path / f"dst/lib{i}.so"),
             str(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / f"lib{i}.so"))))
            for i in range(300)
        ]
    )  # fmt: skip


@pytest.mark.parametrize("op", ["boot", "snapshot", "rebuild"])
def test_a_full_disk_is_infrastructure(tmp_path, op):
    target = FakeTarget(Owner.current("unit-test"), fail={op: full_disk_copy_error(tmp_path)})
    result = run_pair(target)
    [errored] = [step for step in result.steps if step.status == StepStatus.ERROR]
    assert errored.op == op
    assert result.status == PairStatus.ERROR
    assert StepStatus.FAILED not in {step.status for step in result.steps}
    assert errored.message.startswith("this machine: [Errno 28] No space left on device")
    assert "(and 299 more file(s))" in errored.message
    assert len(errored.details) < 5000, "not the 300 entries again"
    assert target.instances == {}
    run = RunResult("r", now(), now(), pairs=[result])
    assert run.exit_code == 3


def test_an_oserror_of_the_machine_is_infrastructure():
    target = FakeTarget(
        Owner.current("unit-test"), fail={"boot": OSError(errno.EROFS, "Read-only file system")}
    )
    assert run_pair(target).status == PairStatus.ERROR


@pytest.mark.parametrize(
    "error",
    [
        OSError(errno.ENOENT, "No such file or directory"),
        shutil.Error([("a", "b", "[Errno 13] Permission denied: 'b'")]),
        RuntimeError("driver bug"),
    ],
)
def test_other_errors_stay_failures(error):
    assert machine_fault(error) == ""
    result = run_pair(FakeTarget(Owner.current("unit-test"), fail={"boot": error}))
    assert result.status == PairStatus.FAILED


def test_results_on_a_full_disk_are_infrastructure(tmp_path, monkeypatch):
    """The stream cannot be written (a full disk: /dev/full answers every
    write with ENOSPC): the run still cleans up and writes what it can, and
    says so in one line, exit 3, not a traceback (exit 1)."""
    from pathlib import Path

    from container_ci.errors import InfrastructureError
    from container_ci.runner import session

    made: list[FakeTarget] = []

    def factory(name: str, cloud=None):
        def make(owner: Owner) -> FakeTarget:
            made.append(FakeTarget(owner))
            return made[-1]

        return make

    monkeypatch.setattr(session, "target_factory", factory)
    monkeypatch.setattr(session, "load_scenarios", lambda _files: [make_scenario()])
    monkeypatch.setattr(session, "load_capabilities", lambda _path: matrix())
    output = tmp_path / "out"
    output.mkdir()
    (output / "results.subunit").symlink_to("/dev/full")
    with pytest.raises(InfrastructureError, match=r"results not written: .*results\.subunit: "):
        session.run_session(
            ["fake"], [Path("lifecycle.yaml")], Path("capabilities.yaml"), 1, output, "full",
            plain=True, record=False,
        )  # fmt: skip
    assert made and all(target.instances == {} for target in made)
    assert (output / "summary.json").is_file() and (output / "results.xml").is_file()


class ConsoleGoneTarget(FakeTarget):
    """Its console is read through a connection that has closed."""

    def console_lost(self, instance) -> str:
        return "the daemon went away meanwhile"


@pytest.mark.timeout(60)  # the wait below is an hour: only the lost console can end it
def test_a_console_wait_ends_at_once_when_the_backend_went_away():
    """bench/chaos: libvirtd killed during a reboot; the wait for the boot
    marker ran out its 60 s, though nothing could show up any more."""
    target = ConsoleGoneTarget(Owner.current("tconsole"))
    instance = target.create("cci-tconsole-x-vm", "cci-guest:base", "x")
    with pytest.raises(InfrastructureError, match="did not show 'never': the daemon went away"):
        target.wait_for_console(instance, "never", 3600)
    assert target.wait_for_console(instance, "boot=1", 3600)  # what is there is still found


ABANDONED_CALL_HOLDS_A_LOCK = """
import atexit, threading, time
import container_ci.cli as cli
from container_ci.runner.timeouts import AbandonedThreads, call_with_deadline
from container_ci.errors import StepTimeout

held = threading.Lock()
def hung_backend_call():
    with held:
        time.sleep(600)
try:
    call_with_deadline(hung_backend_call, 0.2, threading.Event(), AbandonedThreads(), "hung")
except StepTimeout:
    pass
atexit.register(held.acquire)  # what a connection's finalizer waiting on it does
cli.main = lambda: 7
cli.console_script()
"""


def test_the_process_exits_though_an_abandoned_call_still_holds_a_lock():
    """bench/chaos: a run hung 235 s after writing and recording its
    results, until SIGKILLed; a libvirt call abandoned past its step's
    deadline still blocked, and the interpreter's exit waited on it."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", ABANDONED_CALL_HOLDS_A_LOCK],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 7, done.stderr
