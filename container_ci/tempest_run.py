"""`container-ci tempest`: run the plugin's Tempest tests against a cloud the
user names, with the driver's row of the capability matrix applied, and keep
the results where the stability ingest reads them.

The configuration comes from one of two places: a devstack's own
tempest.conf (`--tempest-conf`, e.g. /opt/stack/tempest/etc/tempest.conf),
to which the plugin's settings are added; or a clouds.yaml entry, from which
a tempest.conf is written (pre-provisioned credentials from the entry, the
images and flavor looked up in the cloud). Either way the workspace is a
real `tempest init` workspace under the data dir, so the run can be
repeated or inspected with tempest's own commands."""

from __future__ import annotations

import configparser
import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from keystoneauth1.identity.base import BaseIdentityPlugin

from container_ci import paths
from container_ci.errors import BadInput
from container_ci.scenarios import catalogue
from container_ci.targets.cloud import CloudOptions, authorized_connection, cloud_region, reaching

if TYPE_CHECKING:
    from openstack.connection import Connection

# Which of the plugin's tests a suite runs.
SUITES = {
    "compute": r"^tempest_plugin\.tests\.(api\.compute|scenario\.test_server)",
    "container-service": (
        r"^tempest_plugin\.tests\.(api\.container_service|scenario\.test_container)"
    ),
}
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
    # Neither a cloud nor a tempest.conf named: the local cloud, brought up
    # (`container-ci cloud up`) before the run.
    local_cloud: bool = False

    @property
    def test_regex(self) -> str:
        return self.regex or SUITES[self.suite]


def tempest_bin(name: str = "tempest") -> str:
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else name


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


def plugin_settings(run: TempestRun) -> dict[str, dict[str, str]]:
    return {
        "container_ci": {
            "compute_driver": run.compute_driver,
            "capabilities_file": str(catalogue.default_matrix()),
            "container_service_available": str(run.suite == "container-service").lower(),
        }
    }


def config_from_cloud(run: TempestRun, workspace: Path) -> configparser.ConfigParser:
    """tempest.conf for a clouds.yaml entry: its user makes the test accounts
    (admin) or is the one test account."""
    region = cloud_region(run.cloud.cloud)
    auth = region.config.get("auth", {})
    conn = authorized_connection(region, run.cloud.cloud)
    with reaching(run.cloud.cloud, "image", "(catalog)"):
        images = {
            ref: conn.image.find_image(name, ignore_missing=False).id
            for ref, name in run.cloud.images.items()
        }
    with reaching(run.cloud.cloud, "compute", "(catalog)"):
        flavors = sorted(conn.compute.flavors(), key=lambda f: (f.ram, f.vcpus, f.disk))
    flavor = run.cloud.flavor or (flavors[0].id if flavors else "")
    with reaching(run.cloud.cloud, "identity", auth.get("auth_url", "")):
        roles = token_roles(conn)
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_dict(
        {
            "DEFAULT": {"log_dir": str(workspace / "logs"), "log_file": "tempest.log"},
            "auth": credentials_settings(auth, roles, workspace),
            "identity": {
                "uri_v3": auth.get("auth_url", ""),
                "auth_version": "v3",
                "region": region.region_name or "RegionOne",
            },
            "compute": {
                "image_ref": images.get("base", ""),
                "image_ref_alt": images.get("alt", images.get("base", "")),
                "flavor_ref": flavor,
                "flavor_ref_alt": flavor,
            },
            "validation": {"run_validation": "false"},
            "service_available": {"neutron": str(run.cloud.network != "none").lower()},
        }
    )
    return parser


def token_roles(conn: Connection) -> list[str]:
    """The roles of the entry's token (Tempest picks accounts by role)."""
    plugin = conn.session.auth
    if not isinstance(plugin, BaseIdentityPlugin):
        raise BadInput(f"{type(plugin).__name__}: not a Keystone identity plugin")
    return sorted(plugin.get_access(conn.session).role_names or [])


def credentials_settings(auth: dict[str, str], roles: list[str], workspace: Path) -> dict[str, str]:
    """An admin entry lets Tempest make a project and user per test class
    (dynamic credentials, as on a devstack), so classes run in parallel.
    Any other user is the one pre-provisioned account, with the roles its
    token carries (Tempest picks accounts by role and scope)."""
    domain = auth.get("user_domain_name", "Default")
    if "admin" in roles:
        return {
            "use_dynamic_credentials": "true",
            "admin_username": auth.get("username", ""),
            "admin_password": auth.get("password", ""),
            "admin_project_name": auth.get("project_name", ""),
            "admin_domain_name": domain,
            "default_credentials_domain_name": domain,
        }
    accounts = workspace / "etc" / "accounts.yaml"
    account = {
        "username": auth.get("username", ""),
        "password": auth.get("password", ""),
        "project_name": auth.get("project_name", ""),
        "user_domain_name": domain,
        "project_domain_name": auth.get("project_domain_name", "Default"),
        "roles": roles,
    }
    accounts.write_text(json.dumps([account], indent=2) + "\n")  # JSON is YAML
    accounts.chmod(0o600)
    return {
        "use_dynamic_credentials": "false",
        "test_accounts_file": str(accounts),
        "default_credentials_domain_name": domain,
    }


def concurrency(conf_path: Path) -> int:
    """Two workers with dynamic credentials; one for a single pre-provisioned account."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(conf_path)
    return 2 if parser.getboolean("auth", "use_dynamic_credentials", fallback=True) else 1


def write_config(run: TempestRun) -> Path:
    ensure_workspace(run.workspace)
    conf_path = run.workspace / "etc" / "tempest.conf"
    if run.tempest_conf:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            with run.tempest_conf.open() as stream:
                parser.read_file(stream)
        except (OSError, configparser.Error) as exc:
            raise BadInput(f"{run.tempest_conf}: cannot read: {exc}") from exc
    elif run.cloud.cloud:
        parser = config_from_cloud(run, run.workspace)
    else:
        raise BadInput(
            "name the cloud: --cloud NAME (clouds.yaml, or $OS_CLOUD) or --tempest-conf FILE "
            "(e.g. a devstack's /opt/stack/tempest/etc/tempest.conf)"
        )
    parser.read_dict(plugin_settings(run))
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
    (default: tempest-DRIVER). Returns tempest's exit code (3 when no
    results came out of it)."""
    if run.local_cloud:
        run = replace(run, cloud=replace(run.cloud, cloud=bring_up_local_cloud(say)))
    workers = concurrency(write_config(run))
    run.output.mkdir(parents=True, exist_ok=True)
    say(f"tempest: workspace {run.workspace}, tests {run.test_regex}")
    done = subprocess.run(
        [tempest_bin(), "run", "--regex", run.test_regex, "--concurrency", str(workers)],
        cwd=run.workspace,
        check=False,
    )
    subunit = run.output / SUBUNIT_NAME
    with subunit.open("wb") as stream:
        last = subprocess.run(
            [tempest_bin("stestr"), "last", "--subunit"],
            cwd=run.workspace,
            stdout=stream,
            check=False,
        )
    if last.returncode != 0:
        say(f"tempest: no results to keep (stestr last exited {last.returncode})")
        subunit.unlink(missing_ok=True)
        return done.returncode or 3
    say(f"tempest: results {subunit}")
    if record:
        _record(subunit, db_url, job or f"tempest-{run.compute_driver}", say)
    return done.returncode


def bring_up_local_cloud(say: Callable[[str], None]) -> str:
    """`cloud up` (idempotent) for a run that named no cloud; its clouds.yaml entry."""
    from container_ci.cloud import lifecycle
    from container_ci.cloud.layout import CLOUD_NAME, Layout

    say("no cloud named: using the local cloud (container-ci cloud up)")
    lifecycle.up(Layout.default(), say)
    return CLOUD_NAME


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


def default_workspace(suite: str, driver: str) -> Path:
    return paths.data_dir() / "tempest" / f"{suite}-{driver}"
