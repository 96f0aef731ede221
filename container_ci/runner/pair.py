"""One scenario on one target: steps in order, skip rules, and guaranteed cleanup.

Skip rules (the capability matrix is the single source of truth):
- a step whose operation the matrix declares unsupported is skipped with the
  matrix's reason; unless the step is `optional`, the rest of the scenario is
  skipped too (it depends on that step) and the pair is reported as skipped;
- a target raising Unsupported for an operation the matrix declares supported
  is a failure: the matrix is wrong or the driver regressed;
- after a failed or errored step, the remaining steps are skipped.
Cleanup (delete every instance, then every snapshot image) always runs.
A target's error that is the machine's (a full disk: `machine_fault`) is an
infrastructure error, as a broken backend's is, never a failure."""

from __future__ import annotations

import errno
import functools
import re
import shutil
import threading
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime

from container_ci.errors import ExpectationFailed, InfrastructureError, StepTimeout, Unsupported
from container_ci.results.model import PairResult, PairStatus, StepResult, StepStatus
from container_ci.runner.steps import Ledger, StepContext, execute
from container_ci.runner.timeouts import AbandonedThreads, Cancelled, call_with_deadline
from container_ci.scenarios.model import CapabilityMatrix, Scenario, Step
from container_ci.targets.base import Target

CLEANUP_TIMEOUT = 60.0
CONSOLE_TIMEOUT = 10.0
GRACE = 5.0  # on top of a step's own timeout, for the waits inside it to report first


def now() -> datetime:
    return datetime.now(UTC)


class PairExecution:
    def __init__(
        self,
        scenario: Scenario,
        target: Target,
        matrix: CapabilityMatrix,
        run_id: str,
        cancel: threading.Event,
        abandoned: AbandonedThreads,
        on_step: Callable[[StepResult], None] = lambda _step: None,
    ) -> None:
        self.scenario = scenario
        self.target = target
        self.matrix = matrix
        self.row = target.capability_row or target.name  # the engine checked the row exists
        self.cancel = cancel
        self.abandoned = abandoned
        self.on_step = on_step
        self.ledger = Ledger()
        console = matrix.capability(self.row, "console")
        self.context = StepContext(
            target,
            scenario,
            run_id,
            self.ledger,
            console_unsupported="" if console.supported else console.reason,
        )

    def run(self) -> PairResult:
        started = now()
        results: list[StepResult] = []
        stop_reason = ""  # once set, every later step is skipped with it
        skipped_as_unsupported = ""
        try:
            for step in self.scenario.steps:
                if self.cancel.is_set() and not stop_reason:
                    stop_reason = "not run: the run was interrupted"
                if stop_reason:
                    results.append(self._record(step, StepStatus.SKIPPED, now(), 0.0, stop_reason))
                    continue
                capability = self.matrix.capability(self.row, step.op)
                if not capability.supported:
                    reason = f"{self.row} does not support {step.op}: {capability.reason}"
                    results.append(self._record(step, StepStatus.SKIPPED, now(), 0.0, reason))
                    if not step.optional:
                        skipped_as_unsupported = reason
                        stop_reason = f"not run: needs step {step.index + 1} ({step.op})"
                    continue
                result = self._run_step(step)
                results.append(result)
                if result.status in (StepStatus.FAILED, StepStatus.ERROR):
                    stop_reason = f"not run: step {step.index + 1} ({step.name}) {result.status}"
        finally:
            failed = any(r.status in (StepStatus.FAILED, StepStatus.ERROR) for r in results)
            console = self._collect_console() if failed else {}
            cleanup_errors = self._cleanup()
        return PairResult(
            scenario=self.scenario.name,
            target=self.target.name,
            status=_pair_status(results, skipped_as_unsupported),
            started_at=started,
            finished_at=now(),
            steps=results,
            message=_pair_message(results, skipped_as_unsupported),
            console=console,
            cleanup_errors=cleanup_errors,
            scenario_file=str(self.scenario.path),
        )

    def _record(
        self,
        step: Step,
        status: StepStatus,
        started: datetime,
        duration: float,
        message: str = "",
        details: str = "",
    ) -> StepResult:
        result = StepResult(
            index=step.index,
            name=step.name,
            op=step.op,
            status=status,
            started_at=started,
            duration=duration,
            message=message,
            details=details,
            line=step.line,
        )
        self.on_step(result)
        return result

    def _run_step(self, step: Step) -> StepResult:
        started, clock = now(), time.monotonic()
        status, message, details = StepStatus.PASSED, "", ""
        try:
            message = call_with_deadline(
                lambda: execute(step, self.context),
                step.timeout + GRACE,
                self.cancel,
                self.abandoned,
                f"{step.name}",
            )
        except Cancelled as exc:
            status, message = StepStatus.ERROR, str(exc)
        except Unsupported as exc:
            status = StepStatus.FAILED
            message = f"{exc} (capabilities.yaml declares {step.op} supported on {self.row})"
        except InfrastructureError as exc:
            status, message, details = StepStatus.ERROR, str(exc), traceback.format_exc()
        except ExpectationFailed as exc:
            status, message, details = StepStatus.FAILED, str(exc), traceback.format_exc()
            if isinstance(exc, StepTimeout) and exc.blocked_in:
                details += f"\nThe call left running was, at the deadline, in:\n{exc.blocked_in}"
        except Exception as exc:  # noqa: BLE001 - an unexpected backend error is still a failure
            status = StepStatus.FAILED
            message = f"{type(exc).__name__}: {exc}"
            details = traceback.format_exc()
            machine = machine_fault(exc)
            if machine:  # the machine's, not the driver's: infrastructure
                status, message = StepStatus.ERROR, f"this machine: {machine}"
                details = "".join(traceback.format_tb(exc.__traceback__)) + message
        return self._record(
            step, status, started, time.monotonic() - clock, _one_line(message), details
        )

    def _collect_console(self) -> dict[str, str]:
        logs: dict[str, str] = {}
        for instance in self.ledger.all_instances():
            try:
                logs[instance.name] = call_with_deadline(
                    functools.partial(self.target.console_log, instance),
                    CONSOLE_TIMEOUT,
                    threading.Event(),
                    self.abandoned,
                    f"console of {instance.name}",
                )
            except Exception as exc:  # noqa: BLE001 - best effort, for the report only
                logs[instance.name] = f"(console unavailable: {exc})"
        return logs

    def _cleanup(self) -> list[str]:
        """Delete what this pair created; never raises, never waits forever.

        Not subject to the cancel switch: an interrupted run must still clean up."""
        errors: list[str] = []
        never_cancelled = threading.Event()
        for instance in self.ledger.all_instances():
            try:
                call_with_deadline(
                    functools.partial(self.target.delete, instance),
                    CLEANUP_TIMEOUT,
                    never_cancelled,
                    self.abandoned,
                    f"cleanup {instance.name}",
                )
            except Exception as exc:  # noqa: BLE001 - record it; the final sweep retries
                errors.append(f"delete {instance.name}: {_one_line(str(exc))}")
        for alias, image in list(self.ledger.images.items()):
            try:
                call_with_deadline(
                    functools.partial(self.target.delete_image, image),
                    CLEANUP_TIMEOUT,
                    never_cancelled,
                    self.abandoned,
                    f"cleanup image {image}",
                )
            except Exception as exc:  # noqa: BLE001
                errors.append(f"delete image {image} ({alias}): {_one_line(str(exc))}")
        self.ledger.instances.clear()
        self.ledger.images.clear()
        return errors


def _pair_status(results: list[StepResult], skipped_as_unsupported: str) -> PairStatus:
    statuses = {result.status for result in results}
    if StepStatus.FAILED in statuses:
        return PairStatus.FAILED
    if StepStatus.ERROR in statuses:
        return PairStatus.ERROR
    if skipped_as_unsupported or StepStatus.PASSED not in statuses:
        return PairStatus.SKIPPED
    return PairStatus.PASSED


def _pair_message(results: list[StepResult], skipped_as_unsupported: str) -> str:
    for result in results:
        if result.status in (StepStatus.FAILED, StepStatus.ERROR):
            return f"step {result.index + 1} ({result.name}): {result.message}"
    return skipped_as_unsupported


# A disk full or read-only, memory or file descriptors out: what a step
# meets on a broken machine, whichever target it drives.
MACHINE_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.ENOMEM, errno.EMFILE, errno.ENFILE}
)
_ERRNO = re.compile(r"\[Errno (\d+)\] ")


def machine_fault(exc: BaseException) -> str:
    """Why `exc` is this machine's fault and not the driver's, in one line,
    or "". An OSError a target let out (its contract says it must not, but
    the file system is the machine's) counts when its errno is one of
    MACHINE_ERRNOS; so does shutil.copytree's Error, which gathers every
    file it could not copy, errno lost, as "[Errno N] ..." texts (an LXC
    rootfs copied onto a full disk: hundreds of them)."""
    if isinstance(exc, shutil.Error) and exc.args and isinstance(exc.args[0], list):
        reasons = [str(entry[-1]) for entry in exc.args[0] if isinstance(entry, tuple) and entry]
        for reason in reasons:
            match = _ERRNO.match(reason)
            if match and int(match.group(1)) in MACHINE_ERRNOS:
                more = f" (and {len(reasons) - 1} more file(s))" if len(reasons) > 1 else ""
                return f"{reason}{more}"
        return ""
    if isinstance(exc, OSError) and exc.errno in MACHINE_ERRNOS:
        return str(exc)
    return ""


def _one_line(text: str) -> str:
    return " ".join(text.split())[:500]
