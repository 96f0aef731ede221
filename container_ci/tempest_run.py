"""`container-ci tempest`: run Tempest against a cloud the user names (or
the local cloud), with the driver's rows of the capability matrix applied,
and keep the results where the stability ingest reads them.

The suites: the plugin's compute or container-service tests, or upstream
Tempest's own tempest.api.compute tests minus the exclude list
upstream_tempest.py generates. tempest_conf.py writes the configuration
(from a clouds.yaml entry, or a devstack's tempest.conf plus the plugin's
settings). The workspace is a real `tempest init` workspace under the data
dir, so the run can be repeated or inspected with tempest's own commands."""

from __future__ import annotations

import configparser
import contextlib
import hashlib
import os
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from container_ci import paths, tempest_conf
from container_ci.errors import BadInput
from container_ci.targets.cloud import CloudOptions

# Which tests a suite runs: the plugin's, upstream Tempest's own compute API
# tests (with the exclude list of upstream_exclusions.py), or both in one
# `tempest run` (one subunit stream, one build in the store).
PLUGIN_COMPUTE = r"tempest_plugin\.tests\.(api\.compute|scenario\.test_server)"
UPSTREAM_COMPUTE = r"tempest\.api\.compute\."
SUITES = {
    "compute": f"^{PLUGIN_COMPUTE}",
    "container-service": (
        r"^tempest_plugin\.tests\.(api\.container_service|scenario\.test_container)"
    ),
    "upstream-compute": f"^{UPSTREAM_COMPUTE}",
    "full-compute": f"^({PLUGIN_COMPUTE}|{UPSTREAM_COMPUTE})",
}
# The suites that run upstream's tests, and so its generated exclude list.
UPSTREAM_SUITES = ("upstream-compute", "full-compute")
SUBUNIT_NAME = "tempest.subunit"


@dataclass(frozen=True)
class TempestRun:
    suite: str
    compute_driver: str
    workspace: Path
    output: Path
    cloud: CloudOptions
    tempest_conf: Path | None = None
    regex: str = ""
    exclude_list: Path | None = None  # tempest run --exclude-list
    concurrency: int = 0  # workers; 0: two with dynamic credentials, else one
    # Neither a cloud nor a tempest.conf named: the local cloud, brought up
    # (`container-ci cloud up`) before the run.
    local_cloud: bool = False
    nova_source: Path | None = None  # the local cloud's Nova from this checkout

    @property
    def test_regex(self) -> str:
        return self.regex or SUITES[self.suite]


def tempest_bin(name: str = "tempest") -> str:
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else name


def tempest_env() -> dict[str, str]:
    """The environment Tempest runs in: a temporary directory of this
    user's own. Tempest keeps its locks in `<tmp>/tempest-lock`, made by
    whoever ran it first on the machine: after root had run Tempest, every
    other user's `tempest init` failed (Permission denied on
    /tmp/tempest-lock/workspaces; found running the unit tests as a Zuul
    node's user). A directory someone else made, or a symlink, is refused:
    it would be theirs to swap."""
    private = Path(tempfile.gettempdir()) / f"container-ci-tempest-{os.getuid()}"
    with contextlib.suppress(FileExistsError):
        private.mkdir(mode=0o700)
    found = os.lstat(private)
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.getuid():
        raise BadInput(f"{private}: not a directory of this user's own; remove it")
    return {**os.environ, "TMPDIR": str(private)}


def ensure_workspace(workspace: Path) -> None:
    """`tempest init` once; its etc/tempest.conf is rewritten on every run.

    Tempest registers workspaces by name in ~/.tempest/workspace.yaml and
    refuses a name it knows: the name is made unique to the path."""
    if (workspace / ".stestr.conf").exists():
        point_at_this_tempest(workspace / ".stestr.conf")
        return
    workspace.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(str(workspace.resolve()).encode()).hexdigest()[:8]
    done = subprocess.run(
        [tempest_bin(), "init", "--name", f"container-ci-{workspace.name}-{digest}",
         str(workspace)],
        capture_output=True,
        text=True,
        check=False,
        env=tempest_env(),
    )  # fmt: skip
    if done.returncode != 0:
        said = (done.stderr.strip() or done.stdout.strip())[-500:]
        raise BadInput(f"tempest init {workspace} failed: {said}")


def point_at_this_tempest(stestr_conf: Path) -> None:
    """A workspace names the Tempest install that made it (test_path, top_dir).
    Run from another virtualenv (.venv, then a tox env), discovery would mix
    the two installs and fail: point it at the Tempest running now."""
    import tempest

    top_dir = Path(tempest.__file__).parent
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(stestr_conf)
    wanted = {"test_path": str(top_dir / "test_discover"), "top_dir": str(top_dir)}
    if all(parser.get("DEFAULT", key, fallback="") == value for key, value in wanted.items()):
        return
    for key, value in wanted.items():
        parser.set("DEFAULT", key, value)
    with stestr_conf.open("w") as stream:
        parser.write(stream)


def write_config(run: TempestRun) -> Path:
    """The workspace's etc/tempest.conf, readable by its owner only: it holds
    the cloud's password."""
    ensure_workspace(run.workspace)
    conf_path = run.workspace / "etc" / "tempest.conf"
    if run.tempest_conf:
        parser = tempest_conf.read_tempest_conf(run.tempest_conf)
    elif run.cloud.cloud:
        parser = tempest_conf.config_from_cloud(run.cloud, run.compute_driver, run.workspace)
    else:
        raise BadInput(
            "name the cloud: --cloud NAME (clouds.yaml, or $OS_CLOUD) or --tempest-conf FILE "
            "(e.g. a devstack's /opt/stack/tempest/etc/tempest.conf)"
        )
    parser.read_dict(tempest_conf.plugin_settings(run.suite, run.compute_driver))
    conf_path.touch(mode=0o600)
    conf_path.chmod(0o600)
    with conf_path.open("w") as stream:
        parser.write(stream)
    return conf_path


def _say(text: str) -> None:
    print(text, flush=True)


def run_tempest(
    run: TempestRun,
    record: bool = True,
    db_url: str | None = None,
    job: str = "",
    say: Callable[[str], None] = _say,
) -> int:
    """Run the suite; subunit into `output`; recorded (`record`) in the
    stability store at `db_url` (None: the default store) as `job`
    (default: `default_job`). Returns tempest's exit code (3 when no
    results came out of it)."""
    if run.local_cloud:
        components = frozenset({"container-service"} if run.suite == "container-service" else ())
        run = replace(
            run,
            cloud=bring_up_local_cloud(
                run.cloud, say, run.nova_source, components, run.compute_driver
            ),
        )
    workers = run.concurrency or tempest_conf.concurrency(write_config(run))
    if run.suite in UPSTREAM_SUITES and run.exclude_list is None:
        from container_ci import upstream_tempest

        listed = upstream_tempest.write_exclude_list(
            run.workspace / "etc", run.compute_driver, run.local_cloud
        )
        excluded = upstream_tempest.excluded_tests(run.compute_driver, run.local_cloud)
        say(
            f"tempest: {len(excluded)} of {len(upstream_tempest.upstream_tests())} upstream "
            f"tempest.api.compute tests excluded on {run.compute_driver} ({listed})"
        )
        run = replace(run, exclude_list=listed)
    run.output.mkdir(parents=True, exist_ok=True)
    argv = [tempest_bin(), "run", "--regex", run.test_regex, "--concurrency", str(workers)]
    if run.exclude_list is not None:
        argv += ["--exclude-list", str(run.exclude_list.resolve())]
    say(
        f"tempest: workspace {run.workspace}, tests {run.test_regex}"
        + (f", excluding {run.exclude_list}" if run.exclude_list else "")
    )
    environment = tempest_env()
    done = subprocess.run(argv, cwd=run.workspace, check=False, env=environment)
    subunit = run.output / SUBUNIT_NAME
    with subunit.open("wb") as stream:
        last = subprocess.run(
            [tempest_bin("stestr"), "last", "--subunit"],
            cwd=run.workspace,
            stdout=stream,
            check=False,
            env=environment,
        )
    if last.returncode != 0:
        say(f"tempest: no results to keep (stestr last exited {last.returncode})")
        subunit.unlink(missing_ok=True)
        return done.returncode or 3
    say(f"tempest: results {subunit}")
    if record:
        _record(subunit, db_url, job or default_job(run.suite, run.compute_driver), say)
    return done.returncode


LOCAL_COMPUTE_DRIVERS = ("libvirt-lxc", "docker")


def bring_up_local_cloud(
    cloud: CloudOptions,
    say: Callable[[str], None],
    nova_source: Path | None = None,
    components: frozenset[str] = frozenset(),
    compute_driver: str = "",
) -> CloudOptions:
    """`cloud up` (idempotent) for a run that named no cloud, and its
    clouds.yaml entry. The network is the run's (by default the cloud's
    own, `commands.options.default_network`): servers get a port there and
    Tempest logs in to them."""
    from container_ci.cloud import lifecycle
    from container_ci.cloud.layout import CLOUD_NAME, Layout

    say("no cloud named: using the local cloud (container-ci cloud up)")
    # The local cloud runs either of its two drivers: the one the run names.
    driver = compute_driver if compute_driver in LOCAL_COMPUTE_DRIVERS else None
    lifecycle.up(Layout.default(), say, nova_source, components, driver)
    return replace(cloud, cloud=CLOUD_NAME)


def _record(subunit: Path, db_url: str | None, job: str, say: Callable[[str], None]) -> None:
    """Into the stability store; a stream the ingest refuses is said, and
    does not change the run's exit code (Tempest's own result stands)."""
    from container_ci.stability.ingest.sources import ingest_path
    from container_ci.stability.store import Store

    with Store(db_url) as store:
        try:
            for ingested in ingest_path(store, subunit, job):
                say(f"{subunit}: {ingested}")
        except BadInput as exc:
            print(f"container-ci: {exc}", file=sys.stderr)


def default_job(suite: str, driver: str) -> str:
    """The job a run is recorded under when none is named: one per suite and
    compute driver, the driver last, so the report can set the same tests on
    two drivers side by side (stability/drivers.py) and no suite's pass rate
    is diluted by another's."""
    if suite == "container-service":
        return "tempest-container-service"
    prefix = {"compute": "tempest", "upstream-compute": "tempest-upstream"}.get(
        suite, f"tempest-{suite}"
    )
    return f"{prefix}-{driver}"


def default_workspace(suite: str, driver: str) -> Path:
    return paths.data_dir() / "tempest" / f"{suite}-{driver}"
