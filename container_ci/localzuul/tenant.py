"""The tenant `local`: its generated config project and its project list.

The config project (`local/zuul-config`, trusted) holds what OpenStack's
project-config and opendev/base-jobs would: pipelines shaped like
OpenStack's but triggered without Gerrit (git `ref-updated` on branch
patterns, a timer, and manual enqueue), the `base` job (its post-run
publishes the build's logs on the log server and sets `log_url`), the
static node (image, flavor, label, section, provider), and a nodeset for
every name a job uses that no repository defines.

Two kinds of labels (the tenant has `use-nodepool: false`, so every label
a nodeset names must be defined, and a request goes to the launcher only):

- `container-ci-local`, the one label the static provider offers (this
  machine). The nodesets defined here (`ubuntu-noble`, `debian-bookworm`,
  ...: the names opendev/base-jobs defines upstream, used by this
  repository's own jobs and by the tox jobs they inherit from) are one node
  on it, so those jobs run here.
- every label the upstream nodesets use (`ubuntu-noble`, `debian-bookworm`
  ... as in devstack's `openstack-single-node-noble`): defined, offered by
  no provider. The launcher fails such a request at once ("No provider
  found for label ..."), and Zuul ends the build with NODE_FAILURE, an
  infrastructure result: a devstack job never runs on this machine.

It also runs `zuul-local-smoke` (`hostname` on the node) for itself in
`experimental`: a job that proves the whole chain in seconds."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from container_ci.localzuul import repos
from container_ci.localzuul.layout import CONFIG_PROJECT, HOST, PORTS, Layout
from container_ci.localzuul.node import NODE_USER, SUDOERS, SUDOERS_RULE

LABEL = "container-ci-local"
IMAGE = "debian-local"
FLAVOR = "local"
SMOKE_JOB = "zuul-local-smoke"
# What upstream repositories may contribute (no pipelines, no project stanzas:
# they would add OpenStack's jobs to our projects).
UPSTREAM_INCLUDE = ["job", "nodeset", "semaphore", "secret", "project-template"]
# Names this repository's and upstream jobs use, defined here when no
# repository of the tenant defines them (opendev/base-jobs does, upstream).
BASE_NODESETS = ("ubuntu-noble", "ubuntu-jammy", "ubuntu-focal", "debian-bookworm", "debian-trixie")


@dataclass
class ConfigProject:
    """What goes into the config project, from what the tenant's repositories name."""

    nodesets: list[str]  # defined here, each one node on LABEL
    unprovided_labels: list[str]  # the labels upstream nodesets use: defined, on no provider
    smoke_project: str = CONFIG_PROJECT
    # The periodic pipeline's timer (cron), None: no timer. Off unless asked:
    # on a shared machine a nightly run of this repository's periodic job
    # (container-ci-stability) would run on this node and read
    # zuul.opendev.org, which these machines must not contact.
    periodic_time: str | None = None
    files: dict[str, str] = field(default_factory=dict)


def config_project_for(sources: list[Path], periodic_time: str | None = None) -> ConfigProject:
    """A nodeset for every name jobs of `sources` use that none defines (and
    the usual base names), on the one label; the labels of the nodesets they
    do define, defined with no provider offering them."""
    used, defined, labels = repos.nodeset_names(sources)
    return ConfigProject(
        nodesets=sorted((used | set(BASE_NODESETS)) - defined),
        unprovided_labels=sorted(labels - {LABEL}),
        periodic_time=periodic_time,
    )


def pipelines(periodic_time: str | None = None) -> list[dict[str, object]]:
    """check/experimental independent, gate dependent, periodic on a timer
    (when `periodic_time` is given; else a push to periodic/* and enqueue);
    no reporters (the git driver has none, and the database reporter of
    14.3 crashes: builds are recorded without it)."""

    def on_branches(pattern: str) -> dict[str, object]:
        return {"git": [{"event": "ref-updated", "ref": f"^refs/heads/{pattern}$"}]}

    return [
        {"pipeline": {
            "name": "check",
            "description": "Changes pushed to a check/* branch (and manual enqueue).",
            "manager": "independent",
            "precedence": "normal",
            "trigger": on_branches("check/.*"),
        }},
        {"pipeline": {
            "name": "gate",
            "description": "Changes pushed to a gate/* branch, tested in series.",
            "manager": "dependent",
            "precedence": "high",
            "supercedes": ["check"],
            "trigger": on_branches("gate/.*"),
        }},
        {"pipeline": {
            "name": "experimental",
            "description": "On demand: `container-ci zuul enqueue --pipeline experimental`, "
            "or a push to an experimental/* branch.",
            "manager": "independent",
            "precedence": "low",
            "trigger": on_branches("experimental/.*"),
        }},
        {"pipeline": {
            "name": "periodic",
            "description": f"On a timer ({periodic_time}) while the local Zuul runs."
            if periodic_time else "No timer (`zuul up --periodic-time CRON` adds one): "
            "manual enqueue, or a push to a periodic/* branch.",
            "manager": "independent",
            "precedence": "low",
            "post-review": True,
            "trigger": {"timer": [{"time": periodic_time}]}
            if periodic_time else on_branches("periodic/.*"),
        }},
    ]  # fmt: skip


def nodes(nodesets: list[str], unprovided: list[str]) -> list[object]:
    """The static node, 127.0.0.1 through our sshd, with the one label
    LABEL. Flavors belong in the section (a provider's are refused in
    14.3). Each label upstream nodesets use is defined (with
    `use-nodepool: false` a nodeset naming an undefined label is a
    configuration error) but offered by no provider: the launcher fails
    the request ("No provider found for label"), the build is a
    NODE_FAILURE, and nothing waits (a label unknown to every launcher
    with `use-nodepool` left on became a Nodepool request that waited
    forever: research, pitfall 8)."""
    node: dict[str, object] = {
        "name": HOST,
        "label": LABEL,
        "connection-port": PORTS["sshd"],
        "username": NODE_USER,
    }
    return [
        {"image": {"name": IMAGE, "type": "cloud", "description": "this machine, Debian 12"}},
        {"flavor": {"name": FLAVOR}},
        {"label": {"name": LABEL, "image": IMAGE, "flavor": FLAVOR,
                   "description": "this machine (the static node)"}},
        *[{"label": {"name": name, "image": IMAGE, "flavor": FLAVOR,
                     "description": "an upstream label: no provider offers it here"}}
          for name in unprovided if name != LABEL],
        {"section": {"name": "local-static", "connection": "static", "flavors": [FLAVOR]}},
        {"provider": {
            "name": "local-static",
            "section": "local-static",
            "images": [IMAGE],
            "labels": [LABEL],
            "nodes": [node],
        }},
        *[
            {"nodeset": {"name": name, "nodes": [{"name": "controller", "label": LABEL}]}}
            for name in nodesets
        ],
    ]  # fmt: skip


def jobs() -> list[dict[str, object]]:
    return [
        {"job": {
            "name": "base",
            "parent": None,
            "description": "The root of every job: publishes the build's logs on the "
            "local log server and sets its log_url.",
            "nodeset": "ubuntu-noble",
            "timeout": 1800,
            "attempts": 1,
            "pre-run": "playbooks/base/pre.yaml",
            # The cleanup after the logs are published; `cleanup: true` runs
            # it even for an aborted build (cleanup-run is deprecated in 14).
            "post-run": [
                {"name": "playbooks/base/post.yaml"},
                {"name": "playbooks/base/cleanup.yaml", "cleanup": True},
            ],
        }},
        {"job": {
            "name": SMOKE_JOB,
            "description": "Runs `hostname` on the node: the local Zuul end to end.",
            "run": "playbooks/smoke.yaml",
        }},
    ]  # fmt: skip


SMOKE_PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: The node's hostname
      ansible.builtin.command: hostname
"""


# The workspace on the node, as opendev's base job makes it (zuul-jobs'
# prepare-workspace, without its zuul_console: that daemon listens on every
# address, and Zuul streams nothing from a node at 127.0.0.1 anyway): the
# executor's prepared repositories (the change and every required project)
# under ~/src/<hostname>/<org>/<repo>. `delete` makes it the job's own, as on
# a fresh node: ~ is the node user's home (node.py), never root's.
PRE_PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: The prepared repositories into the workspace (~/src)
      synchronize:
        src: "{{ zuul.executor.src_root }}"
        dest: "{{ ansible_user_dir }}/"
        recursive: true
        delete: true
        owner: false
        group: false
"""


# The node is this machine, not a disposable VM: what a build put in the
# node user's home (the workspace, the jobs' results) goes with it, after
# the post-run playbooks have collected what they keep. As root: the jobs
# run tox as root, so the workspace holds root's .tox directories. The
# data dir (container-ci-data: the harness's and the local cloud's
# installs) stays, as a node's caches would.
CLEANUP_PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: The build's workspace and results off the node
      become: true
      ansible.builtin.file:
        path: "{{ ansible_user_dir }}/{{ item }}"
        state: absent
      loop: [src, container-ci-results]
"""


def restore_sudo_play() -> str:
    """A play on the executor (trusted: only the config project's playbooks
    may write /etc/sudoers.d, `trusted_rw_paths`) that gives the node user
    its sudo rule back, as a fresh node has it: zuul-jobs' revoke-sudo,
    which the tox jobs run, removed it in the last build. Checked by visudo
    before it is moved in. First in the base pre-run, so every build starts
    as on a fresh node, and in the cleanup, which needs root to remove what
    the jobs ran as root."""
    return f"""\
- hosts: localhost
  gather_facts: false
  tasks:
    - name: The node user's sudo rule, as on a fresh node (revoke-sudo removes it)
      ansible.builtin.copy:
        dest: {json.dumps(str(SUDOERS))}
        content: {json.dumps(SUDOERS_RULE)}
        mode: "0440"
        validate: /usr/sbin/visudo -c -q -f %s
"""


def config_project_files(project: ConfigProject, served_logs: Path) -> dict[str, str]:
    """File name -> content of the config project."""

    def dump(data: object) -> str:
        return json.dumps(data, indent=2) + "\n"  # JSON is YAML: no YAML writer needed

    smoke = [{"project": {"name": project.smoke_project,
                          "experimental": {"jobs": [SMOKE_JOB]}}}]  # fmt: skip
    return {
        "zuul.d/pipelines.yaml": dump(pipelines(project.periodic_time)),
        "zuul.d/nodes.yaml": dump(nodes(project.nodesets, project.unprovided_labels)),
        "zuul.d/jobs.yaml": dump(jobs()),
        "zuul.d/projects.yaml": dump(smoke),
        "playbooks/base/pre.yaml": restore_sudo_play() + PRE_PLAYBOOK,
        "playbooks/base/post.yaml": _post_playbook(served_logs),
        "playbooks/base/cleanup.yaml": restore_sudo_play() + CLEANUP_PLAYBOOK,
        "playbooks/smoke.yaml": SMOKE_PLAYBOOK,
    }


def _post_playbook(served_logs: Path) -> str:
    return f"""\
# Publish the build's logs: the executor's log root, copied to the log
# server's directory under the build's uuid, and log_url set to it.
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Make the build's log directory
      ansible.builtin.file:
        path: "{served_logs}/{{{{ zuul.build }}}}"
        state: directory
        mode: "0755"
    - name: Copy the build's logs
      ansible.builtin.command:
        argv: [cp, -a, "{{{{ zuul.executor.log_root }}}}/.", "{served_logs}/{{{{ zuul.build }}}}/"]
    - name: Report where they are
      zuul_return:
        data:
          zuul:
            log_url: "http://{HOST}:{PORTS["logs"]}/{{{{ zuul.build }}}}/"
"""


def write_config_project(layout: Layout, project: ConfigProject, directory: Path) -> None:
    for name, text in config_project_files(project, layout.served_logs).items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
