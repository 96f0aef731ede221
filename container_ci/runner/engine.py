"""The run: connect targets, sweep stale leftovers, run pairs in parallel,
then sweep this run's id as a safety net. Cancellation (SIGINT/SIGTERM) stops
new steps and lets every pair clean up before the run returns."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

from container_ci.errors import BadInput, TargetUnavailable
from container_ci.naming import Owner
from container_ci.results.model import PairResult, PairStatus, RunResult, TargetInfo
from container_ci.runner.listeners import BaseListener, RunListener
from container_ci.runner.pair import PairExecution, now
from container_ci.runner.timeouts import AbandonedThreads, call_with_deadline
from container_ci.scenarios.model import CapabilityMatrix, Scenario
from container_ci.targets.base import OwnedResource, Target

CONNECT_TIMEOUT = 30.0
SWEEP_TIMEOUT = 120.0
ABANDONED_JOIN = 15.0


class Runner:
    def __init__(
        self,
        scenarios: Sequence[Scenario],
        target_names: Sequence[str],
        matrix: CapabilityMatrix,
        target_factory: Callable[[str], Callable[[Owner], Target]],
        run_id: str,
        concurrency: int = 2,
        listener: RunListener | None = None,
    ) -> None:
        self.scenarios = list(scenarios)
        self.target_names = list(target_names)
        self.matrix = matrix
        self.target_factory = target_factory
        self.owner = Owner.current(run_id)
        self.concurrency = max(1, concurrency)
        self.listener = listener or BaseListener()
        self.cancel_event = threading.Event()
        self.interrupted = ""
        self.abandoned = AbandonedThreads()

    def cancel(self, reason: str) -> None:
        """Called from a signal handler: stop starting steps, clean up, return."""
        if not self.interrupted:
            self.interrupted = reason
            self.listener.notice(f"{reason}: stopping, cleaning up what this run created")
        self.cancel_event.set()

    def run(self) -> RunResult:
        started = now()
        targets, infos = self._connect_targets()
        pairs = [(s, t) for s in self.scenarios for t in self.target_names]
        self.listener.run_started(
            self.owner.run_id, [(s.name, t) for s, t in pairs], list(infos.values())
        )
        results: list[PairResult] = []
        try:
            results = self._run_pairs(pairs, targets, infos)
        finally:
            for name, target in targets.items():
                self._final_sweep(name, target, results)
                target.close()
        result = RunResult(
            run_id=self.owner.run_id,
            started_at=started,
            finished_at=now(),
            pairs=results,
            targets=list(infos.values()),
            interrupted=self.interrupted,
        )
        self.listener.run_finished(result)
        return result

    def _connect_targets(self) -> tuple[dict[str, Target], dict[str, TargetInfo]]:
        targets: dict[str, Target] = {}
        infos: dict[str, TargetInfo] = {}
        created = [(name, self.target_factory(name)(self.owner)) for name in self.target_names]
        self._check_rows(target for _name, target in created if target.capability_row)
        for name, target in created:
            try:
                version = call_with_deadline(
                    target.connect, CONNECT_TIMEOUT, self.cancel_event, self.abandoned, name
                )
            except Exception as exc:  # noqa: BLE001 - any failure: reported, never dropped
                reason = str(exc) if isinstance(exc, TargetUnavailable) else f"{name}: {exc}"
                infos[name] = TargetInfo(name=name, available=False, reason=reason)
                self.listener.notice(f"target {name} unavailable: {reason}")
                continue
            if target.capability_row not in self.matrix.rows:
                reason = self._missing_row_message(target)
                infos[name] = TargetInfo(name=name, available=False, reason=reason)
                self.listener.notice(f"target {name} unavailable: {reason}")
                target.close()
                continue
            infos[name] = TargetInfo(name=name, available=True, version=version)
            targets[name] = target
            self._sweep_stale(name, target)
        return targets, infos

    def _check_rows(self, targets: Iterable[Target]) -> None:
        """Rows known before connecting must exist: a typo is bad input, found
        before anything is created."""
        missing = [
            self._missing_row_message(t)
            for t in targets
            if t.capability_row not in self.matrix.rows
        ]
        if missing:
            raise BadInput("; ".join(missing))

    def _missing_row_message(self, target: Target) -> str:
        return (
            f"{self.matrix.path}: no capabilities declared for {target.capability_row!r} "
            f"(target {target.name}); rows: {', '.join(self.matrix.rows)}"
        )

    def _sweep_stale(self, name: str, target: Target) -> None:
        """Leftovers of runs whose process is dead (SIGKILL, power loss) go first."""
        try:
            removed = call_with_deadline(
                target.sweep, SWEEP_TIMEOUT, threading.Event(), self.abandoned, f"sweep {name}"
            )
        except Exception as exc:  # noqa: BLE001 - a failed sweep must not stop the run
            self.listener.notice(f"{name}: sweeping stale leftovers failed: {exc}")
            return
        if removed:
            listing = ", ".join(resource.name for resource in removed)
            self.listener.notice(f"{name}: removed {len(removed)} stale leftover(s): {listing}")

    def _run_pairs(
        self,
        pairs: list[tuple[Scenario, str]],
        targets: dict[str, Target],
        infos: dict[str, TargetInfo],
    ) -> list[PairResult]:
        def run_pair(scenario: Scenario, target_name: str) -> PairResult:
            started = now()
            info = infos[target_name]
            if not info.available:
                result = PairResult(
                    scenario=scenario.name,
                    target=target_name,
                    status=PairStatus.UNAVAILABLE,
                    started_at=started,
                    finished_at=started,
                    message=info.reason,
                    scenario_file=str(scenario.path),
                )
                self.listener.pair_started(scenario.name, target_name, started)
                self.listener.pair_finished(result)
                return result
            self.listener.pair_started(scenario.name, target_name, started)
            execution = PairExecution(
                scenario,
                targets[target_name],
                self.matrix,
                self.owner.run_id,
                self.cancel_event,
                self.abandoned,
                on_step=lambda step: self.listener.step_finished(scenario.name, target_name, step),
            )
            result = execution.run()
            self.listener.pair_finished(result)
            return result

        with ThreadPoolExecutor(
            max_workers=self.concurrency, thread_name_prefix="cci-pair"
        ) as pool:
            futures = [pool.submit(run_pair, scenario, name) for scenario, name in pairs]
            return [future.result() for future in futures]

    def _final_sweep(self, name: str, target: Target, results: list[PairResult]) -> None:
        """Safety net: whatever still carries this run's id is removed now."""
        still_running = self.abandoned.join(ABANDONED_JOIN)
        if still_running:
            where = "; ".join(self.abandoned.where())
            self.listener.notice(
                f"{still_running} backend call(s) still hung; sweeping anyway ({where})"
            )

        def reconnect_and_sweep() -> tuple[str, list[OwnedResource]]:
            reconnected = target.reconnect_if_lost()
            return reconnected, target.sweep(run_id=self.owner.run_id)

        try:
            reconnected, removed = call_with_deadline(
                reconnect_and_sweep,
                SWEEP_TIMEOUT,
                threading.Event(),
                self.abandoned,
                f"final sweep {name}",
            )
        except Exception as exc:  # noqa: BLE001
            message = f"final sweep of run {self.owner.run_id} failed: {exc}"
            self.listener.notice(f"{name}: {message}")
            for result in results:
                if result.target == name:
                    result.cleanup_errors.append(message)
            return
        if reconnected:
            self.listener.notice(f"{name}: {reconnected}")
        if removed:
            self.listener.notice(
                f"{name}: final sweep removed {len(removed)} leftover(s): "
                + ", ".join(resource.name for resource in removed)
            )
