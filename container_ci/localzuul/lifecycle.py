"""`container-ci zuul up | down | status | logs`: the local Zuul's life cycle.

`up` installs what is missing, makes the secrets and the configuration,
regenerates the tenant's repositories (this checkout's working tree
included), starts each process not already running (in order, each waited
for until it answers), then waits until zuul-web serves the tenant's loaded
layout and reports Zuul's configuration errors. `down` stops exactly the
processes `up` started, by pid, in reverse order. Modelled on the local
cloud's (`container_ci.cloud.lifecycle`), whose pid files it reuses."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from container_ci import private
from container_ci.cloud import processes
from container_ci.localzuul import api, configs, credentials, install, node, repos, tenant
from container_ci.localzuul.errors import ZuulError
from container_ci.localzuul.layout import CONFIG_PROJECT, OWN_PROJECT, PORTS, TENANT, Layout
from container_ci.localzuul.services import SERVICES, Service, ensure_database, tcp_answers
from container_ci.zuul.upstream import find_repositories

Say = Callable[[str], None]
LAYOUT_TIMEOUT = 300.0  # the first load clones every repository


def _timed(say: Say) -> Say:
    started = time.monotonic()
    return lambda text: say(
        f"{time.strftime('%H:%M:%S')} [{time.monotonic() - started:6.1f}s] {text}"
    )


@contextlib.contextmanager
def _one_at_a_time(layout: Layout, say: Say) -> Iterator[None]:
    """`up` and `down` of one state dir never overlap."""
    with processes.one_at_a_time(
        layout.root / "zuul.lock",
        say,
        "waiting for another `container-ci zuul up/down` on this state dir",
    ):
        yield


@dataclass(frozen=True)
class UpResult:
    started: list[str]
    config_errors: list[str]


def up(
    layout: Layout,
    checkout: Path,
    upstream: Path | None,
    say: Say = print,
    periodic_time: str | None = None,
) -> UpResult:
    """Install, configure and start the local Zuul (idempotent); the
    periodic pipeline on a timer only with `periodic_time` (cron). When a
    process fails to start, what this call started is stopped again."""
    say = _timed(say)
    # Owner-only, like the local cloud's: what it and Zuul's processes create.
    with private.owner_only(), _one_at_a_time(layout, say):
        started: list[Service] = []
        try:
            return _up(layout, checkout, upstream, say, started, periodic_time)
        except (ZuulError, KeyboardInterrupt):
            if started:
                say(f"stopping what this `up` started: {', '.join(s.name for s in started)}")
                for service in reversed(started):
                    processes.stop(layout.pidfile(service.name), service.stop_timeout)
            raise
        except OSError as exc:
            raise ZuulError(str(exc)) from exc


def _up(
    layout: Layout,
    checkout: Path,
    upstream: Path | None,
    say: Say,
    started: list[Service],
    periodic_time: str | None,
) -> UpResult:
    layout.make_dirs()
    began = time.monotonic()
    if install.install(layout, say):
        say(f"installed in {time.monotonic() - began:.1f}s")
    secrets = credentials.ensure(layout)
    node.ensure(layout)  # the user builds log in as, every time: it may have been changed
    configs.write_all(layout, secrets)
    # The repositories are rewritten while the scheduler runs (except the
    # first time, when there is nothing to load without them): only a change
    # its git poller sees reaches it. A scheduler (re)started after they
    # changed restores the layout it kept in ZooKeeper, its poller takes the
    # new commits as its starting point, and even a full-reconfigure then
    # reloads the old commits (measured with a regenerated pipeline).
    first = not layout.tenant_config.exists()
    if first:
        write_repositories(layout, checkout, upstream, say, periodic_time)
    for service in SERVICES:
        if _ensure_running(layout, service, say):
            started.append(service)
        if service.name == "postgresql" and ensure_database(layout):
            say(f"postgresql: created database {configs.DATABASE}")
    _wait_for_tenant(layout, say)
    previous = None
    if not first and write_repositories(layout, checkout, upstream, say, periodic_time):
        say(
            "zuul-scheduler: the tenant's repositories changed; full-reconfigure after "
            f"the git driver's next poll ({configs.GIT_POLL_DELAY}s)"
        )
        time.sleep(configs.GIT_POLL_DELAY + 1)
        previous = api.last_reconfigured(layout)
        install.run_step(
            [str(layout.bin("zuul-scheduler")), "-c", str(layout.zuul_conf), "full-reconfigure"],
            "zuul-scheduler full-reconfigure",
        )
        _wait_for_tenant(layout, say, previous)
    errors = api.config_errors(layout)
    for line in errors:
        say(f"config error: {line}")
    say(
        f"up: zuul-web {layout.url('zuul-web')}, tenant {TENANT}, "
        f"{len(errors)} configuration error(s); logs {layout.logs}"
    )
    return UpResult([s.name for s in started], errors)


def expected_projects(layout: Layout) -> int:
    """How many projects the tenant file names (config and untrusted)."""
    from container_ci.yaml_source import load_yaml, to_plain

    document = to_plain(load_yaml(layout.tenant_config)) or []
    count = 0
    for item in document:
        tenant = item.get("tenant", {}) if isinstance(item, dict) else {}
        for source in (tenant.get("source") or {}).values():
            for kind in ("config-projects", "untrusted-projects"):
                count += len(source.get(kind) or [])
    return count


def _wait_for_tenant(layout: Layout, say: Say, previous: int | None = None) -> None:
    """Until the tenant's layout is loaded (after `previous`, a
    reconfiguration's start) and zuul-web serves all of it: right after a
    reconfiguration web's status may already name it while its project list
    is still a part (7 of 59 projects, measured), and an enqueue then found
    no jobs."""
    deadline = time.monotonic() + LAYOUT_TIMEOUT
    expected = expected_projects(layout)
    while time.monotonic() < deadline:
        loaded = api.last_reconfigured(layout)
        if api.tenant_loaded(layout) and (previous is None or (loaded or 0) > previous):
            projects = api.get(layout, f"/api/tenant/{TENANT}/projects")
            if len(projects) >= expected:
                say(f"tenant {TENANT}: layout loaded, {len(projects)} projects")
                return
        for service in SERVICES:
            if processes.read_pid(layout.pidfile(service.name)) is None:
                raise ZuulError(
                    f"{service.name} exited while the tenant loaded: "
                    f"{_last_error(layout.logfile(service.name))}"
                )
        time.sleep(1)
    raise ZuulError(
        f"tenant {TENANT} not loaded within {LAYOUT_TIMEOUT:g}s "
        f"(log: {layout.logfile('zuul-scheduler')})"
    )


def upstream_default(checkout: Path) -> Path | None:
    """The upstream repositories when none are named: $CONTAINER_CI_SHARED_UPSTREAM,
    else `shared/upstream` beside the checkout, or beside the repository it
    was cloned from (a clean clone made elsewhere, as CI's is). Without
    them the tenant has no devstack or tox jobs, and this repository's jobs
    that build on them do not load."""
    candidates = []
    if os.environ.get("CONTAINER_CI_SHARED_UPSTREAM"):
        candidates.append(Path(os.environ["CONTAINER_CI_SHARED_UPSTREAM"]))
    candidates.append(checkout.resolve().parent / "shared" / "upstream")
    origin = subprocess.run(
        ["git", "-C", str(checkout), "config", "--get", "remote.origin.url"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    if origin and "://" not in origin and ":" not in origin.split("/")[0]:
        candidates.append(Path(origin).resolve().parent / "shared" / "upstream")
    return next((c for c in candidates if c.is_dir()), None)


def write_repositories(
    layout: Layout,
    checkout: Path,
    upstream: Path | None,
    say: Say,
    periodic_time: str | None = None,
) -> bool:
    """Every repository of the tenant, and main.yaml; True if anything changed."""
    changed = False
    own = layout.repo(OWN_PROJECT)
    before = repos.master(own)
    taken = repos.snapshot_working_tree(own, checkout)
    if repos.master(own) != before:
        changed = True
        say(f"{OWN_PROJECT}: the working tree of {checkout} ({taken})")
    upstreams = find_repositories(upstream) if upstream is not None else []
    for repository in upstreams:
        if repository.name in (OWN_PROJECT, CONFIG_PROJECT):
            continue
        at = repository.commit or "unknown commit"
        if repos.snapshot_upstream(
            layout.repo(repository.name),
            repository.name,
            repository.path,
            f"snapshot of {repository.name} at {at}",
        ):
            changed = True
            say(f"{repository.name}: snapshot at {at[:12]}")
    sources = [checkout] + [r.path for r in upstreams]
    known = {OWN_PROJECT, CONFIG_PROJECT} | {r.name for r in upstreams}
    stand_ins = sorted(repos.named_projects(sources) - known)
    made = [name for name in stand_ins if repos.empty_repository(layout.repo(name), name)]
    if made:
        changed = True
        say(f"stand-in repositories for {len(made)} project(s) jobs name: {', '.join(made)}")
    project = tenant.config_project_for(sources, periodic_time)
    nodesets = project.nodesets
    with tempfile.TemporaryDirectory() as scratch:
        tenant.write_config_project(layout, project, Path(scratch))
        if repos.snapshot_directory(
            layout.repo(CONFIG_PROJECT), Path(scratch), "generated by container-ci zuul up"
        ):
            changed = True
            say(f"{CONFIG_PROJECT}: regenerated ({len(nodesets)} nodesets)")
    untrusted: list[tuple[str, list[str] | None]] = [(OWN_PROJECT, None)]
    untrusted += [(r.name, tenant.UPSTREAM_INCLUDE) for r in upstreams if r.name != OWN_PROJECT]
    untrusted += [(name, []) for name in stand_ins]
    if configs.write_tenant(layout, configs.tenant_yaml(untrusted, CONFIG_PROJECT)):
        changed = True
    return changed


def config_files(layout: Layout, service: Service) -> list[Path]:
    """The generated files a process reads at start (a change restarts it)."""
    if service.name.startswith("zuul-"):
        return [layout.zuul_conf, layout.site_variables, configs.executor_wrapper(layout)]
    return {
        "zookeeper": [layout.zoo_cfg],
        "sshd": [layout.sshd_config],
    }.get(service.name, [])


def _config_digest(layout: Layout, service: Service) -> str:
    digest = hashlib.sha256()
    for path in config_files(layout, service):
        digest.update(path.read_bytes() if path.exists() else b"-")
    digest.update(" ".join(service.argv(layout)).encode())
    return digest.hexdigest()


def _ensure_running(layout: Layout, service: Service, say: Say) -> bool:
    """Running and answering afterwards (restarted if its configuration
    changed since it started); True if it was started here."""
    pid = processes.read_pid(layout.pidfile(service.name))
    digest_file = layout.run / f"{service.name}.config-digest"
    digest = _config_digest(layout, service)
    if pid is not None and digest_file.exists() and digest_file.read_text() != digest:
        say(f"{service.name}: its configuration changed; restarting it")
        processes.stop(layout.pidfile(service.name), service.stop_timeout)
        pid = None
    if pid is not None:
        if _wait_until_answers(layout, service, pid, timeout=service.start_timeout):
            return False
        raise ZuulError(
            f"{service.name} (pid {pid}) runs but does not answer "
            f"(log: {layout.logfile(service.name)})"
        )
    if service.port and tcp_answers(PORTS[service.port]):
        raise ZuulError(
            f"{service.name}: port {PORTS[service.port]} on 127.0.0.1 is taken by a process "
            "this local Zuul did not start"
        )
    began = time.monotonic()
    if service.prepare is not None:
        service.prepare(layout)
    component = service.name.removeprefix("zuul-")
    (layout.run / f"{component}.socket").unlink(missing_ok=True)  # a crashed run's
    pid = processes.spawn(
        service.argv(layout),
        layout.pidfile(service.name),
        layout.logfile(service.name),
        cwd=layout.root,
        umask=service.umask,
    )
    if not _wait_until_answers(layout, service, pid, timeout=service.start_timeout):
        exited = processes.exited(pid)
        processes.stop(layout.pidfile(service.name), service.stop_timeout)
        if exited:
            raise ZuulError(
                f"{service.name} exited during start: {_last_error(layout.logfile(service.name))} "
                f"(log: {layout.logfile(service.name)})"
            )
        raise ZuulError(
            f"{service.name} did not answer within {service.start_timeout:g}s "
            f"(log: {layout.logfile(service.name)})"
        )
    digest_file.write_text(digest)
    port = f", port {PORTS[service.port]}" if service.port else ""
    say(f"{service.name}: started (pid {pid}{port}) in {time.monotonic() - began:.1f}s")
    return True


def _wait_until_answers(layout: Layout, service: Service, pid: int, timeout: float) -> bool:
    return processes.wait_until_answers(pid, lambda: service.answers(layout), timeout)


# Zuul's components log Python exceptions by their class name.
ZUUL_ERROR_MARKERS = ("ERROR", "Error", "error:", "CRITICAL", "Exception")


def _last_error(log: Path) -> str:
    return processes.last_error(log, ZUUL_ERROR_MARKERS)


# -- down -------------------------------------------------------------------


def down(layout: Layout, say: Say = print, purge: bool = False) -> list[str]:
    """Stop every process of ours (reverse start order), then any process
    left whose command line names the state dir (a crashed `up`'s, a job's
    child). With `purge`, remove the state but the installed software."""
    say = _timed(say)
    stopped = []
    with _one_at_a_time(layout, say):
        for service in reversed(SERVICES):
            leader = processes.read_pid(layout.pidfile(service.name))
            children = descendants(leader) if leader is not None else []
            pid = processes.stop(layout.pidfile(service.name), service.stop_timeout)
            if pid is not None:
                stopped.append(service.name)
                say(f"{service.name}: stopped (pid {pid})")
            # What it started and left (an sshd's sessions, the executor's
            # Ansible ssh multiplexers): the same processes, by start time.
            for child, started in children:
                if _stat(child)[1] == started:
                    say(f"stopping pid {child}, left by {service.name}")
                    processes.stop_pid(child, timeout=10)
        for pid in stray_processes(layout):
            say(f"stopping stray pid {pid} of this local Zuul")
            processes.stop_pid(pid, timeout=30)
        if purge and layout.root.exists():
            keep = {layout.venv, layout.ansible_root, layout.root / "zuul.lock"}
            for entry in layout.root.iterdir():
                if entry not in keep:
                    shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
            for outside in (layout.postgres, layout.job_dir):
                shutil.rmtree(outside, ignore_errors=True)
            say(f"purged {layout.root} (Zuul's venv and Ansible kept)")
        say("down: no process of the local Zuul runs")
    return stopped


def _stat(pid: int) -> tuple[int | None, str | None]:
    """(parent pid, start time) of a live process, (None, None) if gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None, None
    if fields[0] == "Z":
        return None, None
    return int(fields[1]), fields[19]


def descendants(pid: int) -> list[tuple[int, str]]:
    """Every live descendant of `pid`, with its start time."""
    children: dict[int, list[tuple[int, str]]] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            parent, started = _stat(int(proc.name))
            if parent is not None and started is not None:
                children.setdefault(parent, []).append((int(proc.name), started))
    found: list[tuple[int, str]] = []
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child[0])
    return found


def stray_processes(layout: Layout) -> list[int]:
    """Processes no pid file records whose command line names the state
    dir, the build directory or the PostgreSQL cluster (a crashed `up`'s)."""
    recorded = {processes.read_pid(layout.pidfile(s.name)) for s in SERVICES}
    markers = (str(layout.root), str(layout.job_dir), str(layout.postgres))
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) in recorded:
            continue
        try:
            argv = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        ours = any(marker in argv for marker in markers)
        if ours and "container-ci zuul" not in argv and "container_ci" not in argv:
            found.append(int(proc.name))
    return sorted(found)


# -- status and logs ----------------------------------------------------------


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    pid: int | None
    port: int | None
    health: str  # "running", "not answering", "stopped"


def status(layout: Layout) -> list[ServiceStatus]:
    rows = []
    for service in SERVICES:
        pid = processes.read_pid(layout.pidfile(service.name))
        port = PORTS[service.port] if service.port else None
        if pid is None:
            health = "stopped"
        else:
            health = "running" if service.answers(layout) else "not answering"
        rows.append(ServiceStatus(service.name, pid, port, health))
    return rows


def require_running(layout: Layout) -> None:
    """ZuulError (exit 3) unless zuul-web answers."""
    if processes.read_pid(layout.pidfile("zuul-web")) is None:
        raise ZuulError(f"the local Zuul is not running (no zuul-web in {layout.run}): "
                        "`container-ci zuul up` starts it")  # fmt: skip
    if not api.tenant_loaded(layout):
        raise ZuulError(f"zuul-web ({layout.url('zuul-web')}) does not serve tenant {TENANT}")
