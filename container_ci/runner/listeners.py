"""Who hears about a run as it happens: the live display, the subunit stream."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from container_ci.results.model import PairResult, RunResult, StepResult, TargetInfo


class RunListener(Protocol):
    def run_started(
        self, run_id: str, pairs: list[tuple[str, str]], targets: list[TargetInfo]
    ) -> None: ...

    def pair_started(self, scenario: str, target: str, started_at: datetime) -> None: ...

    def step_finished(self, scenario: str, target: str, step: StepResult) -> None: ...

    def pair_finished(self, result: PairResult) -> None: ...

    def run_finished(self, result: RunResult) -> None: ...

    def notice(self, message: str) -> None: ...


class BaseListener:
    """Does nothing; listeners override what they care about."""

    def run_started(
        self, run_id: str, pairs: list[tuple[str, str]], targets: list[TargetInfo]
    ) -> None:
        pass

    def pair_started(self, scenario: str, target: str, started_at: datetime) -> None:
        pass

    def step_finished(self, scenario: str, target: str, step: StepResult) -> None:
        pass

    def pair_finished(self, result: PairResult) -> None:
        pass

    def run_finished(self, result: RunResult) -> None:
        pass

    def notice(self, message: str) -> None:
        pass


class FanOut(BaseListener):
    """Calls every listener in order."""

    def __init__(self, *listeners: RunListener) -> None:
        self.listeners = listeners

    def _each(self, method: str, *args: object) -> None:
        for listener in self.listeners:
            getattr(listener, method)(*args)

    def run_started(
        self, run_id: str, pairs: list[tuple[str, str]], targets: list[TargetInfo]
    ) -> None:
        self._each("run_started", run_id, pairs, targets)

    def pair_started(self, scenario: str, target: str, started_at: datetime) -> None:
        self._each("pair_started", scenario, target, started_at)

    def step_finished(self, scenario: str, target: str, step: StepResult) -> None:
        self._each("step_finished", scenario, target, step)

    def pair_finished(self, result: PairResult) -> None:
        self._each("pair_finished", result)

    def run_finished(self, result: RunResult) -> None:
        self._each("run_finished", result)

    def notice(self, message: str) -> None:
        self._each("notice", message)
