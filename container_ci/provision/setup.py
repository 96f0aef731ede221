"""`container-ci setup`: packages, daemons, base images, idempotently.

Every step checks first and acts only when needed, so a second run does
nothing and says so. A backend that cannot be brought up gets one line saying
why, and a non-zero exit; the other backend is still set up."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from container_ci import paths, private
from container_ci.errors import DaemonError, InfrastructureError
from container_ci.provision import daemons, images, packages, probes

BACKENDS = ("docker", "libvirt-lxc")


@dataclass
class SetupReport:
    actions: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _step(
    report: SetupReport, say: Callable[[str], None], label: str, action: Callable[[], list[str]]
) -> bool:
    """Run one step; a failure is one line in the report, never a traceback."""
    try:
        done = action()
    except InfrastructureError as exc:
        report.problems.append(f"{label}: {exc}")
        say(f"{label}: FAILED: {exc}")
        return False
    except (OSError, subprocess.CalledProcessError) as exc:  # building a guest rootfs
        report.problems.append(f"{label}: {type(exc).__name__}: {exc}")
        say(f"{label}: FAILED: {type(exc).__name__}: {exc}")
        return False
    for line in done:
        report.actions.append(line)
        say(f"{label}: {line}")
    return True


def ensure_daemon(spec: daemons.DaemonSpec, answers: Callable[[], bool]) -> list[str]:
    if answers():
        return []
    pid = daemons.managed_pid(spec.name)
    if pid is not None:  # ours, maybe still starting: give it a moment before a second one
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if answers():
                return []
            time.sleep(0.2)
        raise DaemonError(
            f"{spec.name} (pid {pid}) runs but does not answer (log: {daemons.logfile(spec.name)})"
        )
    pid = daemons.start(spec, answers)
    return [f"started {spec.name} (pid {pid}, log {daemons.logfile(spec.name)})"]


def run_setup(
    backends: Sequence[str] = BACKENDS, say: Callable[[str], None] = print
) -> SetupReport:
    """Under a umask of 077: the data dir, the daemons' logs and pid files
    and the image store are owner-only from their creation (the daemons
    themselves get the system's umask, the guests' files a distribution's
    modes). What an older container-ci left open is tightened once."""
    with private.owner_only():
        return _run_setup(backends, say)


def tighten_old_state() -> list[str]:
    """The data dir, the daemons' dir (recursively: logs, pid files), the
    image store's directories and the default stability store's files, if
    an older container-ci made them 0755/0644; never the guests' root file
    systems in the image store."""
    data = paths.data_dir()
    changed = private.tighten(data, recursive=False)
    changed += private.tighten(paths.daemons_dir())
    for path in (paths.lxc_images_dir().parent, paths.lxc_images_dir(),
                 *data.glob("stability.sqlite*")):  # fmt: skip
        changed += private.tighten(path, recursive=False)
    return (
        [f"made {changed} path(s) of {data} owner-only (left open by an older container-ci)"]
        if changed
        else []
    )


def _run_setup(backends: Sequence[str], say: Callable[[str], None]) -> SetupReport:
    started = time.monotonic()
    report = SetupReport()
    _step(report, say, "data dir", tighten_old_state)

    def install() -> list[str]:
        installed = packages.install(packages.ALL_PACKAGES)
        return [f"installed {' '.join(installed)}"] if installed else []

    if not _step(report, say, "packages", install):
        return report

    if "docker" in backends and _step(
        report, say, "docker", lambda: ensure_daemon(daemons.DOCKERD, probes.docker_answers)
    ):
        _step(report, say, "docker", images.ensure_docker_images)
    if "libvirt-lxc" in backends and _step(
        report,
        say,
        "libvirt-lxc",
        lambda: ensure_daemon(daemons.LIBVIRTD, probes.libvirt_answers),
    ):
        _step(report, say, "libvirt-lxc", images.ensure_lxc_images)

    elapsed = time.monotonic() - started
    if report.problems:
        say(f"setup: {len(report.problems)} problem(s); see above ({elapsed:.1f}s)")
    elif report.actions:
        say(f"setup: done, {len(report.actions)} change(s) ({elapsed:.1f}s)")
    else:
        say(f"setup: nothing to do; packages, daemons and images are ready ({elapsed:.1f}s)")
    return report
