"""Typed errors, so every layer can tell bad input, a capability gap, broken
infrastructure and a real driver failure apart (they end up as different exit
codes and different result classes).

    ContainerCIError
    +-- BadInput                  exit 2: file:line: message
    +-- Unsupported               a declared capability gap: a skip
    +-- InfrastructureError       exit 3: not the driver's fault
    |   +-- TargetUnavailable     a backend cannot be reached at all
    |   +-- PackageError          a Debian package cannot be installed
    |   +-- DaemonError           dockerd or libvirtd cannot be started
    |   +-- CloudError            the local cloud cannot be installed or started
    +-- ExpectationFailed         a supported step did the wrong thing
        +-- ImageNotFound
        +-- StepTimeout

Every error raised on purpose is one of these, so the command line can turn
each into its exit code and one line, and nothing has to catch broad
built-in exceptions (which would swallow bugs too)."""

from __future__ import annotations


def first_line(exc: BaseException, limit: int = 300) -> str:
    """One line of an exception's text, for one-line error reports."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:limit]


class ContainerCIError(Exception):
    """Base class of every error container-ci raises on purpose."""


class BadInput(ContainerCIError):
    """A scenario, matrix or option is malformed. Message is `file:line: message`."""

    exit_code = 2


class Unsupported(ContainerCIError):
    """The target cannot do this operation at all (a capability gap, not a failure)."""

    def __init__(self, op: str, reason: str) -> None:
        super().__init__(f"{op} is not supported: {reason}")
        self.op = op
        self.reason = reason


class InfrastructureError(ContainerCIError):
    """The backend itself is broken or unreachable (daemon down, connection lost).

    Kept apart from driver failures: stability tracking must not count these
    against the driver."""


class TargetUnavailable(InfrastructureError):
    """The target's backend cannot be reached at all when the run starts."""


class PackageError(InfrastructureError):
    """A Debian package is missing and cannot be installed (one line: why)."""


class DaemonError(InfrastructureError):
    """dockerd or libvirtd cannot be started (one line: why, and its log)."""


class CloudError(InfrastructureError):
    """The local cloud cannot be installed, set up or started: what failed
    and which log says more, in one line."""


class ExpectationFailed(ContainerCIError):
    """A supported step ran but did not do what the scenario expects."""


class ImageNotFound(ExpectationFailed):
    """The image asked for does not exist on the target (never pulled, never built)."""

    def __init__(self, image: str) -> None:
        super().__init__(f"image not found: {image}")
        self.image = image


class StepTimeout(ExpectationFailed):
    """A step, or a wait for a state, did not finish within its timeout.

    `blocked_in`: where the call left running still was (its stack), for
    the step's details: "did not finish" alone had left a delete that
    blocked for 65 s unexplained (bench/chaos)."""

    def __init__(self, message: str, blocked_in: str = "") -> None:
        super().__init__(message)
        self.blocked_in = blocked_in
