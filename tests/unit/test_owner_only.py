"""Secrets and exposure without a running service: what the harness and the
local cloud create is owner-only from its creation (a umask of 077, or an
explicit mode), what an older version left open is tightened once (never
through a symlink, never a guest's files), and the cloud's password never
reaches a command line, a log or an error."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from container_ci import atomic, paths, private
from container_ci.cloud import bootstrap, configs, lifecycle, mariadb, modes, services, zun
from container_ci.cloud.layout import Layout
from container_ci.errors import CloudError
from container_ci.localzuul.layout import Layout as ZuulLayout
from container_ci.provision import daemons, packages, rootfs
from container_ci.stability.store import Store
from tests.unit.test_local_cloud_parts import configured

PASSWORD = "Pw-only-in-this-test-7c1e9f"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def usual_umask():
    """The umask a user's shell usually has, whatever the test runner's."""
    with private.umask(0o022):
        yield


# -- the umask and the one-time tightening ------------------------------------


def test_under_owner_only_everything_made_is_private_and_the_umask_comes_back(
    tmp_path, usual_umask
):
    with private.owner_only():
        (tmp_path / "dir").mkdir()
        (tmp_path / "file").write_text("secret")
        # A process started meanwhile (a service) inherits it.
        subprocess.run(["sh", "-c", f"mkdir {tmp_path}/its-dir; echo x > {tmp_path}/its-file"],
                       check=True)  # fmt: skip
    (tmp_path / "after").write_text("not secret")
    assert mode(tmp_path / "dir") == mode(tmp_path / "its-dir") == 0o700
    assert mode(tmp_path / "file") == mode(tmp_path / "its-file") == 0o600
    assert mode(tmp_path / "after") == 0o644


def test_a_private_write_creates_0600_whatever_the_umask(tmp_path, usual_umask):
    private.write_private(tmp_path / "conf", "password = x\n")
    assert mode(tmp_path / "conf") == 0o600
    private.make_dir(tmp_path / "a" / "traversable", 0o711)
    assert mode(tmp_path / "a" / "traversable") == 0o711


def old_state(tmp_path: Path) -> dict[str, Path]:
    """What an older container-ci left: 0755 directories, 0644 files, a
    symlink out of the tree (a venv's python) and a kept subtree."""
    root = tmp_path / "state"
    made = {
        "root": root,
        "dir": root / "etc" / "nova",
        "file": root / "etc" / "nova" / "nova.conf",
        "kept": root / "data" / "docker-x" / "layer",
        "kept_file": root / "data" / "docker-x" / "layer" / "bin",
        "outside": tmp_path / "system-python",
    }
    for key in ("dir", "kept"):
        made[key].mkdir(parents=True)
    for key in ("file", "kept_file", "outside"):
        made[key].write_text("x")
    (root / "venv-python").symlink_to(made["outside"])
    for path in made.values():
        path.chmod(0o755 if path.is_dir() else 0o644)
    (root / "data").chmod(0o755)
    (root / "etc").chmod(0o755)
    return made


def test_an_old_state_dir_is_tightened_once_never_through_a_symlink(tmp_path, usual_umask):
    made = old_state(tmp_path)
    root = made["root"]

    def keep(path: Path) -> bool:
        return path.name == "docker-x"

    assert set(private.open_to_others(root, keep)) == {
        root, root / "etc", made["dir"], made["file"], root / "data"
    }  # fmt: skip
    changed = private.tighten(root, keep)
    assert changed == 5
    assert private.open_to_others(root, keep) == []
    assert mode(root) == mode(made["dir"]) == 0o700
    assert mode(made["file"]) == 0o600
    assert mode(made["outside"]) == 0o644  # the symlink's target is not ours
    assert mode(made["kept"]) == 0o755 and mode(made["kept_file"]) == 0o644
    # Once: with the root private, nothing is looked at again.
    made["file"].chmod(0o644)
    assert private.tighten(root, keep) == 0
    assert mode(made["file"]) == 0o644


def test_the_clouds_wider_paths_are_spared_and_listed_with_a_reason(tmp_path, usual_umask):
    layout = Layout(tmp_path / "cloud")
    (layout.run).mkdir(parents=True)
    (layout.data / "docker-cci-zun-2" / "overlay2").mkdir(parents=True)
    (layout.run / "dockerd-own.pid").write_text("1\n")
    (layout.run / "nova-api.pid").write_text("1 2\n")
    data_dir = tmp_path
    tmp_path.chmod(0o755)
    changed = modes.tighten_old_state(layout, data_dir)
    assert changed >= 5
    assert mode(layout.run / "nova-api.pid") == 0o600
    assert mode(layout.run / "dockerd-own.pid") == 0o644  # dockerd's own, written as it likes
    assert mode(layout.data / "docker-cci-zun-2" / "overlay2") == 0o755
    assert mode(data_dir) == 0o700
    assert modes.open_to_others(layout) == []
    assert all(reason for _, reason in modes.WIDER)


# -- what the harness writes ---------------------------------------------------


def test_the_data_dir_and_the_daemons_dir_are_made_0700(tmp_path, monkeypatch, usual_umask):
    monkeypatch.setenv(paths.ENV_DATA_DIR, str(tmp_path / "new" / "container-ci"))
    assert mode(paths.data_dir()) == 0o700
    assert mode(paths.daemons_dir()) == 0o700


def test_an_atomic_write_with_a_mode_is_never_wider(tmp_path, usual_umask):
    path = tmp_path / "clouds.yaml"
    path.write_text("old")
    path.chmod(0o644)
    atomic.write_text_atomically(path, "password: x\n", mode=0o600)
    assert mode(path) == 0o600 and path.read_text() == "password: x\n"
    atomic.write_text_atomically(path, "again\n")
    assert mode(path) == 0o600  # kept


def test_the_stability_store_is_0600_from_its_creation(tmp_path, usual_umask):
    database = tmp_path / "stability.sqlite"
    with Store(f"sqlite:///{database}") as store, store.transaction() as session:
        session.execute(text("CREATE TABLE scratch (x INTEGER)"))
        session.execute(text("INSERT INTO scratch VALUES (1)"))
        wal = [Path(f"{database}{suffix}") for suffix in ("-wal", "-shm")]
        assert all(path.exists() for path in wal)  # WAL: both live while it is open
        assert [mode(path) for path in wal] == [0o600, 0o600]
    assert mode(database) == 0o600
    assert mode(Path(f"{database}.migrate-lock")) == 0o600
    older = tmp_path / "older.sqlite"
    with Store(f"sqlite:///{older}"):
        pass
    older.chmod(0o644)  # as an older container-ci made it
    with Store(f"sqlite:///{older}"):
        assert mode(older) == 0o600


def test_the_cloud_configuration_is_owner_only_whoever_writes_it(tmp_path, usual_umask):
    layout = configured(tmp_path)  # written under the usual umask
    with_password = [
        layout.config_dir(service) / name
        for service, name in (
            ("nova", "nova.conf"), ("keystone", "keystone.conf"), ("neutron", "neutron.conf"),
            ("glance", "glance-api.conf"), ("placement", "placement.conf"),
            ("neutron", "metadata_agent.ini"), ("rabbitmq", "rabbitmq.conf"),
        )
    ]  # fmt: skip
    assert all("pw" in path.read_text() for path in with_password)
    assert {mode(path) for path in with_password} == {0o600}
    with private.owner_only():  # as `cloud up` writes it
        again = configured(tmp_path / "again")
        zun.write_binding(again)
    assert private.open_to_others(again.etc) == []
    assert mode(zun.binding_dir(again) / "ovs") == 0o700


def test_the_local_zuuls_dirs_are_private_but_postgres_can_reach_its_own(tmp_path):
    layout = ZuulLayout(tmp_path / "zuul", outside=tmp_path / "var-lib")
    with private.owner_only():
        layout.make_dirs()
    assert mode(layout.outside) == 0o711  # user postgres and the node user traverse it
    assert private.open_to_others(layout.root) == []
    assert mode(layout.job_dir) == 0o700


def test_daemons_and_apt_get_the_systems_umask_not_ours(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.ENV_DATA_DIR, str(tmp_path))
    seen = tmp_path / "umask"
    spec = daemons.DaemonSpec(
        "fakedaemon", ("sh", "-c", f"umask > {seen}; sleep 30"), (), lambda: None, 10
    )
    with private.owner_only():
        daemons.start(spec, answers=seen.exists)
    try:
        assert seen.read_text().strip() == "0022"
        assert mode(daemons.logfile("fakedaemon")) == 0o600  # its log is ours
    finally:
        daemons.stop_managed("fakedaemon")
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **kw: calls.append(kw))
    packages._apt(["update"])
    assert calls[0]["umask"] == 0o022


@pytest.mark.skipif(not rootfs.SSH_SERVER.exists(), reason="dropbear-bin: `container-ci setup`")
def test_a_guests_files_have_a_distributions_modes_under_any_umask(tmp_path):
    with private.owner_only():
        rootfs.build_rootfs(tmp_path / "rootfs", "base")
    tree = tmp_path / "rootfs"
    assert mode(tree) == mode(tree / "etc") == mode(tree / "bin") == 0o755
    assert mode(tree / "etc" / "passwd") == 0o644
    assert mode(tree / "tmp") == 0o1777


@pytest.mark.skipif(not shutil.which("mariadb-install-db"), reason="mariadb-server")
def test_mariadbs_files_are_owner_only(tmp_path):
    layout = Layout(tmp_path / "cloud")
    with private.owner_only():
        mariadb.install_db(layout)
    assert private.open_to_others(layout.mariadb_data) == []
    mariadb_service = next(s for s in services.SERVICES if s.name == "mariadb")
    assert mariadb_service.env(layout) == mariadb.FILE_MODES


# -- the password ---------------------------------------------------------------


class Recorder:
    """subprocess.run, recorded: what another user could see of each call
    (its argv) and what only we see (its stdin and environment)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append({"argv": argv, **kwargs})
        return subprocess.CompletedProcess(argv, 0, "", "")


def test_the_password_is_never_on_a_command_line(tmp_path, monkeypatch):
    layout = configured(tmp_path)
    recorded = Recorder()
    monkeypatch.setattr(subprocess, "run", recorded)
    mariadb.create_databases(layout, PASSWORD)
    services.ensure_rabbitmq_user(layout, PASSWORD)
    assert recorded.calls
    for call in recorded.calls:
        assert PASSWORD not in " ".join(call["argv"]), call["argv"]
    assert PASSWORD in recorded.calls[0]["input"]  # the SQL, on the client's stdin
    rabbit = recorded.calls[1:]
    assert [c["argv"][1] for c in rabbit] == ["add_user", "change_password", "set_permissions"]
    assert [c["input"] for c in rabbit[:2]] == [PASSWORD + "\n"] * 2
    # rabbitmqctl's own Erlang node listens on loopback only while it runs.
    assert all("{127,0,0,1}" in c["env"]["RABBITMQ_CTL_ERL_ARGS"] for c in rabbit)
    state = bootstrap.CloudState(password=PASSWORD)
    steps = [step for chain in bootstrap._schema_chains(layout, state) for step in chain]
    for step in steps:
        assert PASSWORD not in " ".join(step.argv), step.argv
    envs = {step.argv[-1]: dict(step.env) for step in steps if step.env}
    assert envs["RegionOne"] == {"OS_BOOTSTRAP_PASSWORD": PASSWORD}  # keystone-manage bootstrap
    # nova-manage derives cell0's URL from [database] connection as Nova does:
    connection = make_url(envs["map_cell0"]["OS_DATABASE__CONNECTION"])
    cell0 = connection.set(database=f"{connection.database}_cell0")
    assert cell0 == make_url(layout.database_url("nova_cell0", PASSWORD))
    for service in services.SERVICES:
        assert PASSWORD not in " ".join(service.argv(layout))


def test_a_manage_commands_output_never_puts_the_password_in_the_log(tmp_path):
    layout = Layout(tmp_path / "cloud")
    tool = layout.bin("keystone-manage")
    tool.parent.mkdir(parents=True)
    tool.write_text('#!/bin/sh\necho "bootstrapping with $OS_BOOTSTRAP_PASSWORD"\nexit 1\n')
    tool.chmod(0o700)
    step = bootstrap.ManageStep(("keystone-manage", "bootstrap"),
                                env=(("OS_BOOTSTRAP_PASSWORD", PASSWORD),))  # fmt: skip
    with pytest.raises(CloudError) as caught:
        bootstrap._manage(layout, step, PASSWORD)
    log = layout.logfile("manage").read_text()
    assert "bootstrapping with ***" in log and PASSWORD not in log
    assert PASSWORD not in str(caught.value) and "***" in str(caught.value)


def test_an_up_that_fails_never_quotes_the_password(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.ENV_DATA_DIR, str(tmp_path))
    layout = Layout(tmp_path / "cloud")
    layout.root.mkdir(mode=0o700)
    layout.state_file.write_text(json.dumps({"password": PASSWORD}))

    def failing(*args: Any) -> None:
        raise CloudError(f"rabbitmqctl add_user: Error: cci {PASSWORD} rejected")

    monkeypatch.setattr(lifecycle, "_up", failing)
    said: list[str] = []
    with pytest.raises(CloudError) as caught:
        lifecycle.up(layout, said.append)
    assert str(caught.value) == "rabbitmqctl add_user: Error: cci *** rejected"
    assert caught.value.__suppress_context__  # the original, quoting it, is not shown
    assert not any(PASSWORD in line for line in said)


def test_each_cloud_gets_its_own_password(tmp_path):
    first = bootstrap.CloudState.load_or_create(Layout(tmp_path / "one"))
    second = bootstrap.CloudState.load_or_create(Layout(tmp_path / "two"))
    assert first.password != second.password and len(first.password) >= 24
    assert mode(Layout(tmp_path / "one").state_file) == 0o600
    assert first.password not in configs.COMMON.values()


def test_the_password_an_older_version_logged_is_removed(tmp_path):
    layout = Layout(tmp_path / "cloud")
    log = layout.logfile("manage")
    log.parent.mkdir(parents=True)
    log.write_text(f"--- keystone-manage bootstrap --bootstrap-password {PASSWORD}\nok\n")
    log.chmod(0o600)
    assert modes.forget_password(layout, PASSWORD)
    assert log.read_text() == "--- keystone-manage bootstrap --bootstrap-password ***\nok\n"
    assert mode(log) == 0o600
    assert not modes.forget_password(layout, PASSWORD)


def test_a_socket_dir_in_tmp_must_be_ours_and_private(tmp_path, monkeypatch, usual_umask):
    """A long state dir puts MariaDB's socket in /tmp, under a name every
    local user can compute: one of theirs made first is refused."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    layout = Layout(tmp_path / ("long-" * 20) / "cloud")
    directory = layout.mariadb_socket.parent
    assert directory.parent == tmp_path / "tmp"
    directory.mkdir(mode=0o755)  # as another user's would be: open (or not ours)
    with pytest.raises(CloudError, match="not a directory of this user's"):
        mariadb.prepare(layout)
    directory.rmdir()
    with private.owner_only():
        layout.make_socket_dir(layout.mariadb_socket)
    assert mode(directory) == 0o700
    layout.make_socket_dir(layout.second_docker_socket)  # the same directory, accepted
