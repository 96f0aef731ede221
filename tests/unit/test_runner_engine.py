"""A run over several targets: unreachable targets are reported, never dropped;
the exit code follows the worst outcome; leftovers are swept by run id."""

from __future__ import annotations

from container_ci.errors import ExpectationFailed, InfrastructureError, TargetUnavailable
from container_ci.results.model import PairStatus
from container_ci.runner.engine import Runner
from container_ci.scenarios.model import CapabilityMatrix
from tests.fakes.target import FakeTarget, make_scenario, matrix


class DownTarget(FakeTarget):
    name = "down"

    def connect(self) -> str:
        raise TargetUnavailable("down: cannot reach the daemon at /nowhere")


def two_target_matrix() -> CapabilityMatrix:
    caps = matrix().rows["fake"]
    return CapabilityMatrix(matrix().path, {"fake": caps, "down": caps})


def runner_for(factories: dict, scenarios, run_id: str = "engine-test") -> Runner:
    return Runner(
        scenarios,
        list(factories),
        two_target_matrix(),
        lambda name: factories[name],
        run_id,
        concurrency=2,
    )


def test_unavailable_target_is_reported_with_its_reason_and_exit_3():
    made: list[FakeTarget] = []

    def fake(owner):
        made.append(FakeTarget(owner))
        return made[-1]

    result = runner_for({"fake": fake, "down": DownTarget}, [make_scenario()]).run()
    statuses = {pair.target: pair.status for pair in result.pairs}
    assert statuses == {"fake": PairStatus.PASSED, "down": PairStatus.UNAVAILABLE}
    down = next(pair for pair in result.pairs if pair.target == "down")
    assert "cannot reach the daemon" in down.message
    info = {t.name: t for t in result.targets}
    assert not info["down"].available and info["fake"].version == "fake 1.0"
    assert result.exit_code == 3


def test_a_failure_outranks_unavailable():
    def failing(owner):
        return FakeTarget(owner, fail={"exec": ExpectationFailed("bad exec")})

    result = runner_for({"fake": failing, "down": DownTarget}, [make_scenario()]).run()
    assert result.exit_code == 1


def test_final_sweep_removes_what_cleanup_could_not():
    made: list[FakeTarget] = []

    def leaky(owner):
        target = FakeTarget(owner)
        target.delete = lambda instance: (_ for _ in ()).throw(RuntimeError("stuck"))
        made.append(target)
        return target

    result = runner_for({"fake": leaky}, [make_scenario()]).run()
    [pair] = result.pairs
    assert pair.cleanup_errors, "the failed cleanup is reported"
    assert made[0].instances == {}, "and the final sweep by run id removed the instance"


def test_cancel_before_start_reports_interrupted():
    runner = runner_for({"fake": FakeTarget}, [make_scenario()])
    runner.cancel("SIGINT")
    result = runner.run()
    assert result.interrupted == "SIGINT" and result.exit_code == 130
    assert all(step.status.value == "skipped" for step in result.pairs[0].steps)


class LostConnectionTarget(FakeTarget):
    """Its daemon restarted under it: every call on the old connection fails
    until the target connects again."""

    def __init__(self, owner) -> None:
        super().__init__(owner)
        self.lost = False
        self.reconnects = 0

    def delete(self, instance) -> None:
        if self.lost:
            raise InfrastructureError("fake: connection lost")
        super().delete(instance)

    def list_owned(self):
        if self.lost:
            raise InfrastructureError("fake: connection lost")
        return super().list_owned()

    def exec(self, instance, argv, timeout):
        self.lost = True  # the daemon went away during the scenario
        raise InfrastructureError("fake: connection lost")

    def reconnect_if_lost(self) -> str:
        if not self.lost:
            return ""
        self.lost, self.reconnects = False, self.reconnects + 1
        return "connected again to clean up"


def test_final_sweep_connects_again_after_a_lost_connection():
    """bench/chaos: libvirtd killed and started again mid-run; the run's
    cleanup failed on the dead connection and left every domain to
    `container-ci sweep`. The final sweep connects again and removes them."""
    made: list[LostConnectionTarget] = []

    def fake(owner):
        made.append(LostConnectionTarget(owner))
        return made[-1]

    result = runner_for({"fake": fake}, [make_scenario()]).run()
    [pair] = result.pairs
    assert pair.status == PairStatus.ERROR and result.exit_code == 3
    assert pair.cleanup_errors, "the cleanup on the dead connection is reported"
    assert made[0].reconnects == 1
    assert made[0].instances == {}, "the final sweep on the new connection removed it"


def test_a_call_still_hung_at_the_final_sweep_is_said_with_where(monkeypatch):
    """bench/chaos: signal runs that took 33 s instead of 3 said only "1
    backend call(s) still hung"; the notice now says where each one is."""

    from container_ci.runner import engine
    from container_ci.runner.listeners import BaseListener

    monkeypatch.setattr(engine, "ABANDONED_JOIN", 0.2)
    notices: list[str] = []

    class Listener(BaseListener):
        def notice(self, text: str) -> None:
            notices.append(text)

    made: list[FakeTarget] = []

    def hanging(owner):
        made.append(FakeTarget(owner))
        made[-1].hang = {"pause"}
        return made[-1]

    runner = runner_for({"fake": hanging}, [make_scenario(timeout=0.2)])
    runner.listener = Listener()
    try:
        runner.run()
    finally:
        made[0].release.set()
    [hung] = [text for text in notices if "still hung" in text]
    assert "(pause vm: in target.py:" in hung and " _op <- " in hung, hung
