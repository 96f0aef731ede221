"""The Target contract: the lowest common denominator of Nova's compute driver.

Every backend implements the same operations on an "instance". An operation a
backend cannot do raises `Unsupported` (a declared capability gap); a broken
backend raises `InfrastructureError`; a wrong result raises `ExpectationFailed`.
Nothing else is allowed out, so the runner can classify every outcome."""

from __future__ import annotations

import abc
import enum
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from container_ci import abandoned, naming
from container_ci.errors import (
    ContainerCIError,
    ExpectationFailed,
    InfrastructureError,
    StepTimeout,
    Unsupported,
)
from container_ci.naming import Owner
from container_ci.provision.rootfs import VARIANTS, image_ref


class InstanceState(enum.StrEnum):
    BUILDING = "building"  # transitional: being created, started or restarted
    ACTIVE = "active"
    SHUTOFF = "shutoff"
    PAUSED = "paused"
    SUSPENDED = "suspended"
    ERROR = "error"
    GONE = "gone"


@dataclass
class Instance:
    """A booted guest. `id` is its identity, kept across rebuilds."""

    id: str
    name: str
    image: str
    scenario: str = ""


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class OwnedResource:
    """Something the harness created and may have to sweep."""

    kind: str  # "instance", "image" or "orphaned-container"
    name: str
    run_id: str
    owner: Owner | None  # None when the labels are unreadable: treat as dead
    backend_id: str = ""  # the backend's id, where the name cannot reach it

    def is_stale(self) -> bool:
        return self.owner is None or not self.owner.is_alive()

    def belongs_to(self, run_id: str) -> bool:
        """By its run id label; without one (unreadable labels, a container
        the Docker Engine lost) by its name, `cci-<run>-...`."""
        if self.run_id:
            return self.run_id == run_id
        return self.name.startswith(f"{naming.PREFIX}{run_id}-")

    @classmethod
    def from_labels(cls, kind: str, name: str, labels: dict[str, str]) -> OwnedResource:
        return cls(
            kind=kind,
            name=name,
            run_id=labels.get(naming.LABEL_RUN_ID, ""),
            owner=naming.owner_from_labels(labels),
        )


def choose_for_sweep(
    resources: list[OwnedResource], run_id: str | None, include_live: bool
) -> list[OwnedResource]:
    """Leftovers of one run, or of every run whose owner process is dead
    (or of every run at all with `include_live`). Instances first: an
    image may still be in use by an instance."""
    chosen = [
        resource
        for resource in resources
        if (resource.belongs_to(run_id) if run_id else include_live or resource.is_stale())
    ]
    chosen.sort(key=lambda resource: resource.kind != naming.KIND_INSTANCE)
    return chosen


class StateWaiter:
    """Wakes waiters when the backend reports an event; polls as a fallback.

    The backends' event streams (Docker events API, libvirt lifecycle
    callbacks) call `notify()`, and a waiter re-checks the real state. An
    event can arrive a moment before the state it announces is readable
    (libvirt reports STOPPED while the domain is still being torn down), so
    after each event the waiter re-checks a few times quickly; without events
    it polls every `poll_interval` seconds in case one was lost or the stream
    is down."""

    RECHECK_AFTER_EVENT = (0.01, 0.03, 0.1, 0.3)

    def __init__(self, poll_interval: float = 2.0) -> None:
        self._cond = threading.Condition()
        self._generation = 0
        self.poll_interval = poll_interval

    def notify(self) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def wait_for_event(self, timeout: float) -> bool:
        """Block until the next event (True) or the timeout (False)."""
        with self._cond:
            seen = self._generation
            self._cond.wait_for(lambda: self._generation != seen, timeout)
            return self._generation != seen

    def wait_until(self, check: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        rechecks: tuple[float, ...] = ()
        while True:
            with self._cond:
                seen = self._generation
            if check():
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0 or abandoned.current_is_abandoned():
                return False
            pause = rechecks[0] if rechecks else self.poll_interval
            rechecks = rechecks[1:]
            with self._cond:
                if self._generation == seen:
                    self._cond.wait(min(remaining, pause))
                if self._generation != seen:
                    rechecks = self.RECHECK_AFTER_EVENT


class Target(abc.ABC):
    """One backend. Instances are created with the owner's run id in their labels."""

    name: str = ""
    # Seconds between reads of a console while waiting for a text on it: each
    # read is a backend call, so a cloud's API is asked at most this often.
    console_poll_interval: float = 0.05

    def __init__(self, owner: Owner) -> None:
        self.owner = owner
        self.waiter = StateWaiter()

    @property
    def capability_row(self) -> str | None:
        """The capability matrix row this target's skips come from; None until
        known (a cloud target learns its compute driver when it connects)."""
        return self.name

    # -- connection -------------------------------------------------------
    @abc.abstractmethod
    def connect(self) -> str:
        """Reach the backend; return its version string. Raise TargetUnavailable."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections and event threads."""

    def reconnect_if_lost(self) -> str:
        """Open the backend's connection again if it was lost (its daemon
        restarted), so that a run can still remove what it made; say so, or
        return "". Raises TargetUnavailable when the backend does not
        answer. Only for cleanup: a step never runs on a new connection."""
        return ""

    # -- images -----------------------------------------------------------
    def resolve_image(self, ref: str) -> str:
        """Map a scenario image ref (`base`, `alt`, a literal) to a backend image name."""
        return image_ref(ref) if ref in VARIANTS else ref

    @abc.abstractmethod
    def delete_image(self, image: str) -> None: ...

    # -- lifecycle --------------------------------------------------------
    @abc.abstractmethod
    def create(self, name: str, image: str, scenario: str) -> Instance:
        """Create and start an instance. Raise ImageNotFound, leaving nothing behind."""

    @abc.abstractmethod
    def state(self, instance: Instance) -> InstanceState: ...

    @abc.abstractmethod
    def identity(self, instance: Instance) -> str:
        """The identity the backend itself reports (what rebuild must keep)."""

    def wait_for_state(self, instance: Instance, wanted: InstanceState, timeout: float) -> None:
        last: list[InstanceState] = []

        def reached() -> bool:
            current = self.state(instance)
            last[:] = [current]
            return current == wanted

        if not self.waiter.wait_until(reached, timeout):
            seen = last[0].value if last else "unknown"
            detail = self.state_detail(instance)
            raise StepTimeout(
                f"{instance.name} did not reach {wanted.value} within {timeout:g}s "
                f"(last state: {seen}{'; ' + detail if detail else ''})"
            )

    def state_detail(self, instance: Instance) -> str:
        """What the backend says of how the instance got to its state, for a
        timeout's message; "" when it says nothing more."""
        return ""

    def wait_for_console(self, instance: Instance, text: str, timeout: float) -> str:
        """Wait until the console log contains `text`; return the log."""
        log: list[str] = [""]

        def found() -> bool:
            log[0] = self.console_log(instance)
            return text in log[0]

        # Console output does not produce backend events: poll briskly.
        deadline = time.monotonic() + timeout
        while not found():
            lost = self.console_lost(instance)
            if lost:
                raise InfrastructureError(
                    f"{self.name}: console of {instance.name} did not show {text!r}: {lost}"
                )
            if time.monotonic() >= deadline or abandoned.current_is_abandoned():
                tail = "\n".join(log[0].splitlines()[-5:]) or "(nothing)"
                raise StepTimeout(
                    f"console of {instance.name} did not show {text!r} within {timeout:g}s "
                    f"({self.console_diagnostics(instance)}); last lines:\n{tail}"
                )
            time.sleep(self.console_poll_interval)
        return log[0]

    @abc.abstractmethod
    def console_log(self, instance: Instance) -> str: ...

    def console_lost(self, instance: Instance) -> str:
        """Why the console can show nothing more (the backend went away), or
        "": a wait for it then ends at once, as infrastructure."""
        return ""

    def console_diagnostics(self, instance: Instance) -> str:
        """How the console is being read, for a timeout message."""
        return "no diagnostics"

    @abc.abstractmethod
    def exec(self, instance: Instance, argv: list[str], timeout: float) -> ExecResult: ...

    @abc.abstractmethod
    def reboot(self, instance: Instance) -> None: ...

    @abc.abstractmethod
    def stop(self, instance: Instance) -> None: ...

    @abc.abstractmethod
    def start(self, instance: Instance) -> None: ...

    @abc.abstractmethod
    def pause(self, instance: Instance) -> None: ...

    @abc.abstractmethod
    def unpause(self, instance: Instance) -> None: ...

    def suspend(self, instance: Instance) -> None:
        raise Unsupported("suspend", f"{self.name} has no suspend to disk")

    def resume(self, instance: Instance) -> None:
        raise Unsupported("resume", f"{self.name} has no suspend to disk")

    @abc.abstractmethod
    def snapshot(self, instance: Instance, alias: str) -> str:
        """Capture the instance's filesystem as a new image; return its name."""

    @abc.abstractmethod
    def rebuild(self, instance: Instance, image: str) -> Instance:
        """Replace the instance's filesystem with `image`, keeping id and name."""

    @abc.abstractmethod
    def delete(self, instance: Instance) -> None:
        """Delete the instance and everything it holds (not its snapshots)."""

    # -- sweeping ---------------------------------------------------------
    @abc.abstractmethod
    def list_owned(self) -> list[OwnedResource]:
        """Every instance and snapshot image the harness created on this backend."""

    @abc.abstractmethod
    def remove(self, resource: OwnedResource) -> None:
        """Remove one owned resource, whatever state it is in."""

    def select_for_sweep(
        self, run_id: str | None = None, include_live: bool = False
    ) -> list[OwnedResource]:
        """What `sweep` would remove (`container-ci sweep --dry-run`)."""
        return choose_for_sweep(self.list_owned(), run_id, include_live)

    def sweep(self, run_id: str | None = None, include_live: bool = False) -> list[OwnedResource]:
        """Remove what `select_for_sweep` chooses; return it."""
        return self.remove_all(self.select_for_sweep(run_id, include_live))

    def remove_all(self, resources: list[OwnedResource]) -> list[OwnedResource]:
        """Remove each; return those removed.

        One resource that cannot be removed does not keep the others: each
        is tried, then the first failure is raised, saying how many others
        failed and how many went (bench/chaos: one image no call could name
        had left every later run's rootfs dirs in place)."""
        removed: list[OwnedResource] = []
        failures: list[ContainerCIError] = []
        for resource in resources:
            try:
                self.remove(resource)
            except ContainerCIError as exc:
                failures.append(exc)
            else:
                removed.append(resource)
        if len(failures) == 1 and not removed:
            raise failures[0]
        if failures:
            kind = (
                InfrastructureError
                if any(isinstance(exc, InfrastructureError) for exc in failures)
                else ExpectationFailed
            )
            others = f"; {len(failures) - 1} other(s) not removed" if len(failures) > 1 else ""
            raise kind(f"{failures[0]}{others}; {len(removed)} removed") from failures[0]
        return removed
