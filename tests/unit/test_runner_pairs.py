"""The runner's rules on a target that fails, hangs or lacks an operation:
step classification, skip logic, and cleanup that always happens."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from container_ci.errors import ExpectationFailed, InfrastructureError, Unsupported
from container_ci.naming import Owner
from container_ci.results.model import PairStatus, StepStatus
from container_ci.runner.pair import PairExecution
from container_ci.runner.timeouts import AbandonedThreads
from container_ci.scenarios.model import Expect, Scenario, Step
from tests.fakes.target import OPS, FakeTarget, make_scenario, matrix


def run_pair(target, scenario=None, caps=None, cancel=None):
    owner = target.owner
    execution = PairExecution(
        scenario or make_scenario(),
        target,
        caps or matrix(),
        owner.run_id,
        cancel or threading.Event(),
        AbandonedThreads(),
    )
    return execution.run()


@pytest.fixture
def owner():
    return Owner.current("unit-test")


def test_all_steps_pass_and_nothing_is_left(owner):
    target = FakeTarget(owner)
    result = run_pair(target)
    assert result.status == PairStatus.PASSED, result.message
    assert [s.status for s in result.steps] == [StepStatus.PASSED] * len(OPS)
    assert target.instances == {}
    assert target.snapshots == set(), "the snapshot image must be cleaned up"
    assert result.test_id == "container_ci.scenarios.lifecycle.fake"


@pytest.mark.parametrize("failing", [op for op, _ in OPS])
def test_failure_at_each_step_is_a_failure_and_cleans_up(owner, failing):
    target = FakeTarget(owner, fail={failing: ExpectationFailed(f"{failing} broke")})
    result = run_pair(target)
    position = [op for op, _ in OPS].index(failing)
    statuses = [s.status for s in result.steps]
    assert statuses[:position] == [StepStatus.PASSED] * position
    assert statuses[position] == StepStatus.FAILED
    assert statuses[position + 1 :] == [StepStatus.SKIPPED] * (len(OPS) - position - 1)
    assert result.status == PairStatus.FAILED
    assert f"{failing} broke" in result.message
    assert target.snapshots == set()
    if failing == "delete":  # cleanup's own delete fails too: reported for the final sweep
        assert result.cleanup_errors and "delete cci-" in result.cleanup_errors[0]
    else:
        assert target.instances == {}, f"instance left after {failing} failed"
        assert result.cleanup_errors == []


@pytest.mark.parametrize("failing", ["boot", "reboot", "snapshot", "delete"])
def test_infrastructure_error_is_kept_apart_from_failure(owner, failing):
    target = FakeTarget(owner, fail={failing: InfrastructureError("daemon gone")})
    result = run_pair(target)
    assert result.status == PairStatus.ERROR
    assert StepStatus.ERROR in [s.status for s in result.steps]
    assert StepStatus.FAILED not in [s.status for s in result.steps]
    assert "daemon gone" in result.message
    if failing != "delete":
        assert target.instances == {}


def test_hanging_step_times_out_and_cleanup_still_runs(owner):
    target = FakeTarget(owner)
    target.hang = {"pause"}
    scenario = make_scenario(timeout=0.3)
    try:
        result = run_pair(target, scenario)
    finally:
        target.release.set()
    pause = next(s for s in result.steps if s.op == "pause")
    assert pause.status == StepStatus.FAILED
    assert "did not finish" in pause.message
    assert result.status == PairStatus.FAILED
    assert target.instances == {}
    # where the call was blocked (bench/chaos: a delete blocked 65 s, unexplained)
    blocked_in = pause.details.split("The call left running was, at the deadline, in:")[1]
    assert "in _op" in blocked_in and "self.release.wait(30)" in blocked_in


def test_cleanup_failure_is_reported_not_raised(owner):
    target = FakeTarget(owner, fail={"exec": ExpectationFailed("no"), "delete": RuntimeError("x")})
    result = run_pair(target)
    assert result.status == PairStatus.FAILED
    assert result.cleanup_errors and "delete" in result.cleanup_errors[0]


def test_console_collected_on_failure(owner):
    target = FakeTarget(owner, fail={"stop": ExpectationFailed("stuck")})
    result = run_pair(target)
    assert any("CCI-BOOT-OK" in text for text in result.console.values())


def test_declared_unsupported_step_skips_rest_with_reason(owner):
    target = FakeTarget(owner)
    caps = matrix({"pause": "no freezer here", "unpause": "no freezer here"})
    result = run_pair(target, caps=caps)
    pause = next(s for s in result.steps if s.op == "pause")
    assert pause.status == StepStatus.SKIPPED
    assert "no freezer here" in pause.message
    assert "pause" not in target.calls, "an unsupported op must not be attempted"
    later = result.steps[pause.index + 1 :]
    assert all(s.status == StepStatus.SKIPPED for s in later)
    assert result.status == PairStatus.SKIPPED
    assert "no freezer here" in result.message
    assert target.instances == {}


def test_optional_unsupported_step_skips_only_itself(owner):
    target = FakeTarget(owner)
    caps = matrix({"pause": "no freezer here"})
    scenario = make_scenario(optional=frozenset({"pause"}))
    result = run_pair(target, scenario, caps)
    statuses = {s.op: s.status for s in result.steps}
    assert statuses["pause"] == StepStatus.SKIPPED
    assert statuses["unpause"] == StepStatus.PASSED
    assert statuses["delete"] == StepStatus.PASSED
    assert result.status == PairStatus.PASSED


def test_unsupported_raised_for_declared_supported_op_is_a_failure(owner):
    target = FakeTarget(owner, fail={"pause": Unsupported("pause", "driver says no")})
    result = run_pair(target)
    pause = next(s for s in result.steps if s.op == "pause")
    assert pause.status == StepStatus.FAILED
    assert "declares pause supported" in pause.message
    assert result.status == PairStatus.FAILED


def test_cancel_skips_remaining_steps_and_cleans_up(owner):
    target = FakeTarget(owner)
    cancel = threading.Event()
    original = target.stop

    def stop_and_cancel(instance):
        original(instance)
        cancel.set()

    target.stop = stop_and_cancel
    result = run_pair(target, cancel=cancel)
    start = next(s for s in result.steps if s.op == "start")
    assert start.status == StepStatus.SKIPPED
    assert "interrupted" in start.message
    assert target.instances == {}


def test_missing_image_expected_error_passes_and_leaves_nothing(owner):
    target = FakeTarget(owner)
    step = Step(0, "boot", "vm", 3, image="cci-guest:nope", expect=Expect(error="image-not-found"))
    scenario = Scenario("bad-image", "", Path("bad-image.yaml"), (step,))
    result = run_pair(target, scenario)
    assert result.status == PairStatus.PASSED
    assert "refused as expected" in result.steps[0].message


def test_missing_image_that_boots_is_a_failure(owner):
    target = FakeTarget(owner)
    target.images.add("cci-guest:nope")
    step = Step(0, "boot", "vm", 3, image="cci-guest:nope", expect=Expect(error="image-not-found"))
    scenario = Scenario("bad-image", "", Path("bad-image.yaml"), (step,))
    result = run_pair(target, scenario)
    assert result.status == PairStatus.FAILED
    assert target.instances == {}


def test_group_boot_drives_every_member(owner):
    target = FakeTarget(owner)
    steps = (
        Step(0, "boot", "fleet", 3, image="base", count=3, expect=Expect(state="active")),
        Step(1, "exec", "fleet", 4, command=("true",), expect=Expect(exit_code=0)),
        Step(2, "delete", "fleet", 5, expect=Expect(state="gone")),
    )
    result = run_pair(target, Scenario("concurrent-boot", "", Path("c.yaml"), steps))
    assert result.status == PairStatus.PASSED, result.message
    assert target.calls.count("boot") == 3
    assert target.calls.count("exec") == 3
    assert target.instances == {}


@pytest.mark.timeout(60)  # the waits below are an hour long
@pytest.mark.parametrize("wait", ["console", "state"])
def test_a_wait_given_up_on_ends_at_its_next_check(owner, wait):
    """bench/chaos: a SIGINT during a reboot step's wait for the new boot's
    console left that wait running its own 30 s for a guest the cleanup had
    deleted, and the run waited for it before its final sweep."""
    from container_ci.errors import StepTimeout
    from container_ci.runner.timeouts import call_with_deadline
    from container_ci.targets.base import InstanceState

    target = FakeTarget(owner)
    instance = target.create("cci-twait-x-vm", "cci-guest:base", "x")
    ended = threading.Event()

    def waits() -> None:
        try:
            if wait == "console":
                target.wait_for_console(instance, "never shown", 3600)
            else:
                target.wait_for_state(instance, InstanceState.SHUTOFF, 3600)
        finally:
            ended.set()

    with pytest.raises(StepTimeout):
        call_with_deadline(waits, 0.2, threading.Event(), AbandonedThreads(), "wait")
    assert ended.wait(5), "the abandoned wait still runs"


@pytest.mark.timeout(60)  # the waits below are an hour long
def test_a_fleets_waits_end_when_its_step_is_given_up_on(owner):
    """bench/chaos: a SIGTERM during a fleet's boot abandoned the step,
    but each member's state wait runs in a helper thread of the step's,
    and those ran out their own 30 s while the run waited for them."""
    from container_ci.errors import StepTimeout
    from container_ci.runner.steps import _each
    from container_ci.runner.timeouts import call_with_deadline
    from container_ci.targets.base import InstanceState

    target = FakeTarget(owner)
    fleet = [target.create(f"cci-twait-x-vm-{n}", "cci-guest:base", "x") for n in range(3)]
    ended = threading.Event()

    def fleet_waits() -> None:
        try:
            _each(fleet, lambda m: target.wait_for_state(m, InstanceState.SHUTOFF, 20))
        finally:
            ended.set()

    with pytest.raises(StepTimeout):
        call_with_deadline(fleet_waits, 0.2, threading.Event(), AbandonedThreads(), "fleet")
    assert ended.wait(8), "the members' waits still run (their pool keeps the process 20 s)"
