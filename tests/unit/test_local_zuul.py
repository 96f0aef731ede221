"""The local Zuul's parts that need no running Zuul: the generated secrets
(their modes), zuul.conf, zoo.cfg, sshd_config, the tenant and its config
project (every nodeset this repository's jobs use resolves to the one
label), the git snapshots of a working tree and of plain directories, and
`down` stopping what a service left behind."""

from __future__ import annotations

import configparser
import json
import stat
import subprocess
from pathlib import Path

import pytest

from container_ci.cloud import processes
from container_ci.localzuul import configs, credentials, lifecycle, repos, tenant
from container_ci.localzuul.layout import HOST, PORTS, Layout
from container_ci.localzuul.node import NODE_USER
from container_ci.localzuul.services import SERVICES
from container_ci.yaml_source import load_yaml
from container_ci.zuul.upstream import find_repositories
from tests.helpers import REPO

UPSTREAM = REPO.parent / "shared" / "upstream"


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    made = Layout(tmp_path / "zuul", outside=tmp_path / "outside")
    made.make_dirs()
    return made


@pytest.fixture
def secrets(layout: Layout) -> credentials.Secrets:
    return credentials.ensure(layout)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_secrets_are_0600_in_a_0700_dir_and_made_once(layout, secrets):
    configs.write_all(layout, secrets)
    assert _mode(layout.root) == 0o700
    assert _mode(layout.secrets) == 0o700
    files = sorted(layout.secrets.iterdir())
    names = {path.name for path in files}
    assert {
        "ca.key",
        "client.key",
        "zookeeper.pem",
        "id_ed25519",
        "jwt-secret",
        "zuul.conf",
    } <= names
    assert {path.name: oct(_mode(path)) for path in files} == {
        path.name: oct(0o600) for path in files
    }
    key = secrets.ssh_key.read_bytes()
    again = credentials.ensure(layout)
    assert again.ssh_key.read_bytes() == key  # a second `up` keeps the node's key trusted
    assert again.jwt_secret == secrets.jwt_secret
    # The client certificate is the CA's, for 127.0.0.1 (ZooKeeper checks both ends).
    verify = subprocess.run(
        ["openssl", "verify", "-CAfile", str(secrets.ca_cert), str(secrets.client_cert)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stderr


def test_zuul_conf_has_no_timer_connection_and_listens_on_loopback(layout, secrets):
    parser = configparser.ConfigParser()
    parser.read_string(configs.zuul_conf(layout, secrets))
    sections = set(parser.sections())
    assert "connection timer" not in sections  # crashes every component in 14.3
    assert {"zookeeper", "keystore", "database", "scheduler", "executor", "web"} <= sections
    assert parser["connection git"]["driver"] == "git"
    assert parser["connection git"]["baseurl"] == str(layout.git)
    assert parser["connection static"]["driver"] == "static"
    assert parser["web"]["listen_address"] == HOST
    assert parser["zookeeper"]["hosts"] == f"{HOST}:{PORTS['zookeeper']}"
    assert parser["database"]["dburi"].startswith("postgresql://")
    assert "host=" in parser["database"]["dburi"]  # the Unix socket, no TCP
    assert parser["auth zuul_operator"]["allow_authz_override"] == "true"
    assert parser["executor"]["private_key_file"] == str(secrets.ssh_key)
    assert parser["executor"]["variables"] == str(layout.site_variables)
    assert configs.site_variables() == "ansible_python_interpreter: /usr/bin/python3\n"
    # Every command socket in our run dir, never /var/lib/zuul.
    for section in ("scheduler", "executor", "web", "launcher"):
        assert parser[section]["command_socket"].startswith(str(layout.run))
    assert all(24601 <= port <= 24609 for port in PORTS.values())


def test_zookeeper_is_tls_only_and_sshd_takes_keys_only(layout, secrets):
    zoo = dict(line.split("=", 1) for line in configs.zoo_cfg(layout, secrets).splitlines() if line)
    assert "clientPort" not in zoo
    assert zoo["secureClientPort"] == str(PORTS["zookeeper"])
    assert zoo["secureClientPortAddress"] == HOST
    assert zoo["ssl.clientAuth"] == "need"
    assert zoo["admin.enableServer"] == "false"
    argv = configs.zookeeper_argv(layout)
    classpath = argv[argv.index("-cp") + 1].split(":")
    assert set(configs.NETTY_JARS) <= set(classpath)
    sshd = dict(
        line.split(" ", 1) for line in configs.sshd_config(layout, secrets).splitlines() if line
    )
    assert sshd["ListenAddress"] == HOST
    assert sshd["PasswordAuthentication"] == "no"
    # Builds log in as the dedicated node user, never as root: the base
    # job's workspace sync deletes what it finds in the user's ~/src.
    assert sshd["AllowUsers"] == NODE_USER != "root"
    assert sshd["PermitRootLogin"] == "no"
    assert sshd["AuthorizedKeysFile"] == ".ssh/authorized_keys"
    assert f"default_username={NODE_USER}" in configs.zuul_conf(layout, secrets)


def test_the_executors_build_dir_keeps_ansibles_control_socket_short(tmp_path):
    deep = Layout(tmp_path / ("a" * 60) / "zuul")
    socket = deep.job_dir / ("0" * 32) / ".ansible" / "cp" / ("0" * 10)
    assert len(f"{socket}.{'X' * 16}") < 108


def test_the_config_project_has_no_database_reporter_and_runs_the_smoke_job(layout):
    project = tenant.ConfigProject(nodesets=["ubuntu-noble"], unprovided_labels=["ubuntu-jammy"])
    files = tenant.config_project_files(project, layout.served_logs)
    pipelines = [item["pipeline"] for item in json.loads(files["zuul.d/pipelines.yaml"])]
    assert [p["name"] for p in pipelines] == ["check", "gate", "experimental", "periodic"]
    managers = {p["name"]: p["manager"] for p in pipelines}
    assert managers["gate"] == "dependent" and managers["check"] == "independent"
    for pipeline in pipelines:
        reporters = [k for k in pipeline if k in ("start", "success", "failure", "enqueue")]
        assert reporters == [], pipeline  # the git driver reports nothing; SQL's crashes
        assert "gerrit" not in pipeline["trigger"]
    # No timer unless asked: a nightly run here would run this repository's
    # periodic job on this machine.
    assert "timer" not in next(p for p in pipelines if p["name"] == "periodic")["trigger"]
    timed = tenant.pipelines("0 3 * * *")[-1]["pipeline"]
    assert timed["trigger"] == {"timer": [{"time": "0 3 * * *"}]}
    stanzas = json.loads(files["zuul.d/nodes.yaml"])
    kinds = [next(iter(item)) for item in stanzas]
    assert "flavors" not in next(item["provider"] for item in stanzas if "provider" in item)
    assert "flavors" in next(item["section"] for item in stanzas if "section" in item)
    labels = {item["label"]["name"] for item in stanzas if "label" in item}
    # Every label a nodeset names is defined (use-nodepool: false requires
    # it), but the provider offers only the static node's: a request for an
    # upstream label fails at once (NODE_FAILURE) instead of landing here.
    assert labels == {tenant.LABEL, "ubuntu-jammy"}
    assert kinds.count("provider") == 1
    provider = next(item["provider"] for item in stanzas if "provider" in item)
    assert provider["labels"] == [tenant.LABEL]
    assert [node["label"] for node in provider["nodes"]] == [tenant.LABEL]
    assert not any("aliases" in node for node in provider["nodes"])
    nodesets = {item["nodeset"]["name"]: item["nodeset"] for item in stanzas if "nodeset" in item}
    assert nodesets["ubuntu-noble"]["nodes"] == [{"name": "controller", "label": tenant.LABEL}]
    jobs = {item["job"]["name"]: item["job"] for item in json.loads(files["zuul.d/jobs.yaml"])}
    assert jobs["base"]["parent"] is None
    post_runs = jobs["base"]["post-run"]
    assert all(run["name"] in files for run in post_runs)
    # The workspace goes last, even from an aborted build; as root (the
    # jobs' tox envs are root's), never from root's home (see node.py).
    assert "cleanup-run" not in jobs["base"] and post_runs[-1]["cleanup"] is True
    assert "become: true" in files[post_runs[-1]["name"]]
    # The workspace as opendev's base makes it (the repositories under ~/src),
    # without zuul_console (it would listen on every address).
    assert "zuul.executor.src_root" in files[jobs["base"]["pre-run"]]
    assert "zuul_console" not in files[jobs["base"]["pre-run"]]
    assert jobs[tenant.SMOKE_JOB]["run"] in files
    assert str(layout.served_logs) in files["playbooks/base/post.yaml"]
    assert "log_url" in files["playbooks/base/post.yaml"]


@pytest.mark.skipif(not UPSTREAM.is_dir(), reason=f"no upstream repositories at {UPSTREAM}")
def test_our_jobs_land_on_this_machine_and_devstacks_nodesets_on_no_provider():
    """The nodeset names this repository's jobs use (ubuntu-noble,
    debian-bookworm: opendev/base-jobs' names, defined by no repository
    here) are defined in the config project on the one label; the nodesets
    upstream repositories define (devstack's openstack-single-node-noble
    ...) keep their labels, which no provider offers."""
    upstream = find_repositories(UPSTREAM)
    sources = [REPO] + [r.path for r in upstream]
    project = tenant.config_project_for(sources)
    defined_upstream: dict[str, set[str]] = {}
    for repository in upstream:
        for kind, body in repos.stanzas(repository.path):
            if kind == "nodeset":
                nodes = body.get("nodes") or []
                nodes = nodes if isinstance(nodes, list) else [nodes]
                defined_upstream[body["name"]] = {n["label"] for n in nodes if "label" in n}
    used = set()
    for path in sorted((REPO / "zuul.d").glob("*.yaml")):
        for item in load_yaml(path) or []:
            job = item.get("job") if isinstance(item, dict) else None
            if job and isinstance(job.get("nodeset"), str):
                used.add(job["nodeset"])
    assert {"ubuntu-noble", "debian-bookworm"} <= used
    for name in sorted(used):
        assert name in project.nodesets, f"{name}: our job's nodeset must be the static node's"
        assert name not in defined_upstream, name
    assert tenant.LABEL not in project.unprovided_labels
    for name in ("openstack-single-node-noble", "devstack-single-node-debian-bookworm"):
        assert name not in project.nodesets  # devstack's own definition stands
        assert defined_upstream[name], name
        assert defined_upstream[name] <= set(project.unprovided_labels), name
    every_label = set().union(*defined_upstream.values())
    assert every_label <= set(project.unprovided_labels)  # each defined: no config error


def test_the_tenant_asks_no_nodepool():
    text = configs.tenant_yaml([("openstack/container-ci", None)], "local/zuul-config")
    assert load_yaml_text(text)[0]["tenant"]["use-nodepool"] is False


def _frozen(job: str, nodeset: dict, playbooks: list[str], variables: dict) -> dict:
    """A freeze-job answer of zuul-web 14.3 (its shape as the local Zuul
    answered for nova-lxc-tempest), the parts `placement` reads."""

    def playbook(spec: str) -> dict:
        project, path = spec.split(":")
        role = {"target_name": project.split("/")[-1], "type": "zuul", "implicit": True,
                "project_canonical_name": f"opendev.org/{project}", "connection": "git",
                "project": project}  # fmt: skip
        return {"connection": "git", "project": project, "branch": "master",
                "trusted": False, "path": path, "roles": [role]}  # fmt: skip

    return {
        "job": job,
        "nodeset": nodeset,
        "pre_playbooks": [playbook(p) for p in playbooks[:-1]],
        "playbooks": [playbook(playbooks[-1])],
        "post_playbooks": [],
        "vars": variables,
    }


def test_the_enqueue_guard_refuses_only_devstack_on_this_machine():
    from container_ci.errors import BadInput
    from container_ci.localzuul import enqueue

    here = {"name": "ubuntu-noble", "nodes": [{"name": "controller", "label": tenant.LABEL}],
            "groups": [], "alternatives": []}  # fmt: skip
    upstream = {"name": "openstack-single-node-noble",
                "nodes": [{"name": "controller", "label": "ubuntu-noble", "aliases": []}],
                "groups": [{"name": "tempest", "nodes": ["controller"]}],
                "alternatives": []}  # fmt: skip
    devstack = ["openstack/devstack:playbooks/pre.yaml", "openstack/tempest:playbooks/run.yaml"]
    scenarios = enqueue.placement(_frozen(
        "container-ci-scenarios", here, ["zuul/zuul-jobs:playbooks/tox/run.yaml"],
        {"tox_envlist": "scenarios"},
    ))  # fmt: skip
    nova_lxc = enqueue.placement(
        _frozen("nova-lxc-tempest", upstream, devstack, {"tempest_concurrency": 2})
    )
    assert scenarios.runs_here and not scenarios.devstack and not scenarios.dangerous
    assert nova_lxc.devstack and not nova_lxc.runs_here and not nova_lxc.dangerous
    assert "NODE_FAILURE" in nova_lxc.describe()
    enqueue.refuse([scenarios, nova_lxc], "openstack/container-ci", "experimental")  # allowed
    # The same devstack job given this machine's node (e.g. a nodeset
    # defined on our label) would run devstack here: refused, named.
    on_us = enqueue.placement(_frozen("nova-lxc-tempest", here, devstack, {}))
    by_vars = enqueue.placement(
        _frozen("odd", here, ["x/y:run.yaml"], {"devstack_localrc": {"VIRT_DRIVER": "libvirt"}})
    )
    assert on_us.dangerous and by_vars.dangerous
    with pytest.raises(BadInput, match="would run devstack on this machine: nova-lxc-tempest"):
        enqueue.refuse([scenarios, on_us], "openstack/container-ci", "experimental")
    # An alternative on this machine counts as running here.
    either = {"name": "alt", "alternatives": [upstream, here]}
    assert enqueue.placement(_frozen("j", either, devstack, {})).dangerous
    assert (
        "the executor only" in enqueue.placement(_frozen("noop", {}, ["a/b:r.yaml"], {})).describe()
    )


def test_the_tenant_loads_only_definitions_from_upstream():
    text = configs.tenant_yaml(
        [("openstack/container-ci", None), ("openstack/devstack", tenant.UPSTREAM_INCLUDE),
         ("openstack/oslo.log", [])],
        "local/zuul-config",
    )  # fmt: skip
    tenants = load_yaml_text(text)
    source = tenants[0]["tenant"]["source"]["git"]
    assert source["config-projects"] == ["local/zuul-config"]
    untrusted = source["untrusted-projects"]
    assert untrusted[0] == "openstack/container-ci"  # everything, its pipelines included
    assert untrusted[1]["openstack/devstack"]["include"] == tenant.UPSTREAM_INCLUDE
    assert untrusted[2]["openstack/oslo.log"]["include"] == []


def load_yaml_text(text: str) -> object:
    from ruamel.yaml import YAML

    return YAML(typ="safe").load(text)


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_the_working_tree_with_its_uncommitted_change_is_what_zuul_reads(tmp_path):
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    _git("init", "-q", "-b", "main", cwd=checkout)
    (checkout / "zuul.d").mkdir()
    (checkout / "zuul.d" / "jobs.yaml").write_text("- job: {name: one}\n")
    (checkout / "untracked.txt").write_text("not in the snapshot\n")
    _git("add", "zuul.d", cwd=checkout)
    _git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one", cwd=checkout)
    (checkout / "zuul.d" / "jobs.yaml").write_text("- job: {name: two}\n")  # not committed
    head, status = _git("rev-parse", "HEAD", cwd=checkout), _git("status", "--short", cwd=checkout)
    bare = tmp_path / "bare" / "openstack" / "container-ci"

    taken = repos.snapshot_working_tree(bare, checkout)

    assert taken.endswith("+ 1 uncommitted file(s)")
    assert _git("--git-dir", str(bare), "show", "master:zuul.d/jobs.yaml", cwd=tmp_path) == (
        "- job: {name: two}"
    )
    listed = _git("--git-dir", str(bare), "ls-tree", "-r", "--name-only", "master", cwd=tmp_path)
    assert listed.split() == ["zuul.d/jobs.yaml"]
    assert _git("--git-dir", str(bare), "fsck", "--strict", cwd=tmp_path) == ""  # stands alone
    # The checkout is untouched: its HEAD, its index, its status.
    assert _git("rev-parse", "HEAD", cwd=checkout) == head
    assert _git("status", "--short", cwd=checkout) == status
    first = repos.master(bare)
    repos.snapshot_working_tree(bare, checkout)
    assert repos.master(bare) == first  # nothing changed: no commit, no reconfiguration


def test_a_plain_upstream_copy_becomes_one_commit_naming_its_provenance(tmp_path):
    source = tmp_path / "devstack"
    (source / "zuul.d").mkdir(parents=True)
    (source / "zuul.d" / "jobs.yaml").write_text("- job: {name: devstack}\n")
    bare = tmp_path / "git" / "openstack" / "devstack"
    assert repos.snapshot_directory(bare, source, "snapshot of openstack/devstack at abc")
    assert not repos.snapshot_directory(bare, source, "snapshot of openstack/devstack at abc")
    log = _git("--git-dir", str(bare), "log", "--format=%s", "master", cwd=tmp_path)
    # On an empty root commit: an enqueue always has a real old revision.
    assert log.splitlines() == ["snapshot of openstack/devstack at abc", "repository created"]
    assert repos.parent(bare, repos.master(bare) or "") is not None
    assert sorted(p.name for p in source.rglob("*")) == ["jobs.yaml", "zuul.d"]  # only read


def test_projects_jobs_name_become_stand_ins(tmp_path):
    repo = tmp_path / "repo"
    (repo / "zuul.d").mkdir(parents=True)
    (repo / "zuul.d" / "jobs.yaml").write_text(
        "- job:\n"
        "    name: j\n"
        "    required-projects:\n"
        "      - opendev.org/openstack/nova\n"
        "      - name: openstack/oslo.log\n"
        "      - github.com/other/thing\n"
        "    roles:\n"
        "      - zuul: opendev/base-jobs\n"
        "    secret: !encrypted/pkcs1-oaep [abc]\n"
    )
    assert repos.named_projects([repo]) == {
        "openstack/nova",
        "openstack/oslo.log",
        "opendev/base-jobs",
    }
    # openstack-tox's tox role fails without requirements' constraints file.
    bare = tmp_path / "git" / "openstack" / "requirements"
    assert repos.empty_repository(bare, "openstack/requirements")
    listed = _git("--git-dir", str(bare), "ls-tree", "--name-only", "master", cwd=tmp_path)
    assert listed.split() == ["README", "upper-constraints.txt"]


def test_down_stops_what_a_service_left_behind(tmp_path):
    """An sshd's sessions outlive its listener: `down` stops the service's
    descendants too, and only those."""
    layout = Layout(tmp_path / "zuul", outside=tmp_path / "outside")
    layout.make_dirs()
    service = SERVICES[0]
    leader = processes.spawn(
        ["sh", "-c", "sleep 300 & echo $! > child; exec sleep 300"],
        layout.pidfile(service.name),
        layout.logfile(service.name),
        cwd=tmp_path,
    )
    outsider = subprocess.Popen(["sleep", "300"])
    try:
        for _ in range(50):
            if (tmp_path / "child").exists() and (tmp_path / "child").read_text().strip():
                break
            subprocess.run(["sleep", "0.1"], check=True)
        child = int((tmp_path / "child").read_text())
        assert child in [pid for pid, _ in lifecycle.descendants(leader)]
        stopped = lifecycle.down(layout, say=lambda _: None)
        assert stopped == [service.name]
        assert processes.exited(leader) and processes.exited(child)
        assert outsider.poll() is None  # not ours: left alone
    finally:
        outsider.kill()
        outsider.wait()


def test_zuul_jobs_snapshot_drops_the_stat_option_ansible_2_16_refuses(tmp_path):
    source = tmp_path / "zuul-jobs"
    (source / "roles" / "tox" / "tasks").mkdir(parents=True)
    task = (
        "- name: Check to see if the constraints file exists\n"
        "  stat:\n"
        '    path: "{{ tox_constraints_file }}"\n'
        "    get_checksum: false\n"
        "    get_md5: false\n"
        "  register: stat_results\n"
    )
    (source / "roles" / "tox" / "tasks" / "main.yaml").write_text(task)
    (source / "README.rst").write_text("get_md5: false stays in prose\n")
    bare = tmp_path / "git" / "zuul" / "zuul-jobs"
    assert repos.snapshot_upstream(bare, "zuul/zuul-jobs", source, "snapshot of zuul/zuul-jobs")
    shown = _git("--git-dir", str(bare), "show", "master:roles/tox/tasks/main.yaml", cwd=tmp_path)
    assert "get_md5" not in shown and "get_checksum: false" in shown
    assert load_yaml_text(shown)[0]["stat"] == {
        "path": "{{ tox_constraints_file }}",
        "get_checksum": False,
    }
    log = _git("--git-dir", str(bare), "log", "-1", "--format=%s", "master", cwd=tmp_path)
    assert (
        log == "snapshot of zuul/zuul-jobs + 1 stat get_md5 line(s) removed (ansible-core >= 2.16)"
    )
    assert "get_md5" in (source / "roles" / "tox" / "tasks" / "main.yaml").read_text()  # only read
    other = tmp_path / "git" / "openstack" / "devstack"
    assert repos.snapshot_upstream(other, "openstack/devstack", source, "snapshot of devstack")
    assert "get_md5" in _git(
        "--git-dir", str(other), "show", "master:roles/tox/tasks/main.yaml", cwd=tmp_path
    )
