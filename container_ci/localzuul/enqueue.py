"""`container-ci zuul enqueue`: run a pipeline's jobs for a project's master
now, as Zuul's own client does (zuul-client enqueue-ref with an operator
token from zuul-admin), and wait for the buildset's result.

Zuul enqueues every job the project runs in the pipeline; there is no
per-job enqueue. Before enqueueing, each job is frozen through the API and
placed: on this machine (its nodeset's labels are the static node's), on
no node (labels no provider offers: the launcher fails the request and the
build ends NODE_FAILURE at once, e.g. devstack's `openstack-single-node-*`),
or on the executor alone (an empty nodeset). The guard refuses only what
is dangerous: a devstack job (a playbook or role of openstack/devstack, or
devstack_* variables) that would run on this machine. `--job J` says J
must be one of the jobs the pipeline runs."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from container_ci.errors import BadInput
from container_ci.localzuul import api, repos
from container_ci.localzuul.errors import ZuulError
from container_ci.localzuul.layout import TENANT, Layout
from container_ci.localzuul.tenant import LABEL

DEVSTACK_PROJECT = "openstack/devstack"

QUEUE_TIMEOUT = 60.0  # an enqueue the scheduler refused shows in no queue and no buildset


@dataclass(frozen=True)
class Build:
    job: str
    result: str | None
    log_url: str | None
    uuid: str


@dataclass(frozen=True)
class Enqueued:
    buildset: str
    result: str | None
    builds: list[Build]
    seconds: float

    @property
    def ok(self) -> bool:
        return bool(self.builds) and all(b.result == "SUCCESS" for b in self.builds)


def auth_token(layout: Layout) -> str:
    """A short-lived operator token for the tenant (never printed)."""
    done = subprocess.run(
        [str(layout.bin("zuul-admin")), "-c", str(layout.zuul_conf), "create-auth-token",
         "--auth-config", "zuul_operator", "--user", "container-ci", "--tenant", TENANT,
         "--expires-in", "3600"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0 or not done.stdout.strip():
        raise ZuulError(f"zuul-admin create-auth-token failed: {done.stderr.strip()[-300:]}")
    return done.stdout.strip().split()[-1]  # "Bearer <token>"


@dataclass(frozen=True)
class Placement:
    """Where a frozen job would run in the local Zuul, and what it is."""

    job: str
    nodeset: str | None
    labels: tuple[str, ...]
    devstack: bool

    @property
    def runs_here(self) -> bool:
        """A node of its nodeset (or of an alternative) is this machine."""
        return LABEL in self.labels

    @property
    def dangerous(self) -> bool:
        return self.runs_here and self.devstack

    def describe(self) -> str:
        named = f"nodeset {self.nodeset or '(anonymous)'}"
        if self.runs_here:
            where = f"this machine ({named}, label {LABEL})"
        elif self.labels:
            where = (
                f"no node ({named}, label(s) {', '.join(sorted(set(self.labels)))} offered "
                "by no provider here: NODE_FAILURE)"
            )
        else:
            where = "the executor only (no node)"
        return f"{self.job}{' [devstack]' if self.devstack else ''}: {where}"


def _nodeset_labels(nodeset: Any) -> list[str]:
    """Every label of a frozen nodeset and of its alternatives."""
    if not isinstance(nodeset, dict):
        return []
    labels = [
        str(node["label"])
        for node in nodeset.get("nodes") or []
        if isinstance(node, dict) and node.get("label")
    ]
    for alternative in nodeset.get("alternatives") or []:
        labels += _nodeset_labels(alternative)
    return labels


def _from_devstack(playbook: Any) -> bool:
    if not isinstance(playbook, dict):
        return False
    names = [str(playbook.get("project", ""))]
    names += [
        str(role.get("project_canonical_name") or role.get("project") or "")
        for role in playbook.get("roles") or []
        if isinstance(role, dict)
    ]
    return any(name == DEVSTACK_PROJECT or name.endswith("/" + DEVSTACK_PROJECT) for name in names)


def placement(frozen: dict[str, Any]) -> Placement:
    """Where the job of a freeze-job answer would run, and whether it is a
    devstack job: a playbook or role from openstack/devstack, or a
    `devstack_*` variable (devstack_localrc, devstack_services, ...)."""
    playbooks = [
        playbook
        for key in ("pre_playbooks", "playbooks", "post_playbooks", "cleanup_playbooks")
        for playbook in frozen.get(key) or []
    ]
    variables = frozen.get("vars") or {}
    devstack = any(_from_devstack(p) for p in playbooks) or any(
        str(name).startswith("devstack_") for name in variables
    )
    nodeset = frozen.get("nodeset")
    name = nodeset.get("name") if isinstance(nodeset, dict) else None
    return Placement(
        job=str(frozen.get("job", "?")),
        nodeset=str(name) if name else None,
        labels=tuple(_nodeset_labels(nodeset)),
        devstack=devstack,
    )


def check_jobs(layout: Layout, pipeline: str, project: str, job: str | None) -> list[Placement]:
    """Where each job the enqueue will run would run; BadInput if `job` is
    not one of them, or if a devstack job would run on this machine."""
    jobs = api.freeze_jobs(layout, pipeline, project)
    if not jobs:
        raise BadInput(f"{project} runs no job in {pipeline} on master")
    if job is not None and job not in jobs:
        raise BadInput(f"{project} does not run {job} in {pipeline} (it runs {', '.join(jobs)})")
    placed = [placement(api.freeze_job(layout, pipeline, project, name)) for name in jobs]
    refuse(placed, project, pipeline)
    return placed


def refuse(placed: list[Placement], project: str, pipeline: str) -> None:
    """BadInput naming every devstack job that would run on this machine."""
    dangerous = [p for p in placed if p.dangerous]
    if dangerous:
        raise BadInput(
            f"enqueueing {project} in {pipeline} would run devstack on this machine: "
            f"{'; '.join(p.describe() for p in dangerous)}; refused"
        )


def enqueue(
    layout: Layout,
    pipeline: str,
    project: str,
    job: str | None,
    say: Callable[[str], None],
    timeout: float = 1800,
) -> Enqueued:
    placed = check_jobs(layout, pipeline, project, job)
    for where in placed:
        say(f"  {where.describe()}")
    newrev = repos.master(layout.repo(project))
    if newrev is None:
        raise BadInput(f"no repository {project} in the local Zuul")
    # An all-zero oldrev is a branch creation, whose files-changes merge job
    # fails in 14.3 ("Unknown change"), and zuul-client refuses oldrev ==
    # newrev: the parent (`up` gives every repository a root commit).
    oldrev = repos.parent(layout.repo(project), newrev)
    if oldrev is None:
        raise ZuulError(f"{project}: master has no parent commit; `container-ci zuul up` makes one")
    began = time.time()
    token = auth_token(layout)
    done = subprocess.run(
        [str(layout.bin("zuul-client")), "--zuul-url", layout.url("zuul-web"),
         "--auth-token", token, "enqueue-ref", "--tenant", TENANT, "--pipeline", pipeline,
         "--project", project, "--ref", "refs/heads/master", "--oldrev", oldrev,
         "--newrev", newrev],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise ZuulError(
            f"zuul-client enqueue-ref failed: {(done.stderr or done.stdout).strip()[-300:]}"
        )
    say(
        f"enqueued {project} master ({newrev[:12]}) in {pipeline}: "
        f"{', '.join(p.job for p in placed)}"
    )
    return wait_for_buildset(layout, pipeline, project, newrev, began, timeout)


def wait_for_buildset(
    layout: Layout, pipeline: str, project: str, newrev: str, since: float, timeout: float
) -> Enqueued:
    deadline = time.monotonic() + timeout
    queued_by: float | None = time.monotonic() + QUEUE_TIMEOUT  # None: seen enqueued
    while time.monotonic() < deadline:
        if queued_by is not None and time.monotonic() > queued_by:
            if not _in_queue(layout, pipeline, project, newrev):
                raise ZuulError(
                    f"the scheduler did not enqueue {project} {newrev[:12]} in {pipeline} "
                    f"(see {layout.logfile('zuul-scheduler')}, 'Exception in management event')"
                )
            queued_by = None
        for found in api.buildsets(layout, project=project, pipeline=pipeline, limit="10"):
            ref = found.get("refs", [{}])[0] if found.get("refs") else found
            if ref.get("newrev") != newrev or not found.get("result"):
                continue
            if _timestamp(found.get("event_timestamp")) < since - 5:
                continue
            detail = api.buildset(layout, str(found["uuid"]))
            builds = [
                Build(str(b["job_name"]), b.get("result"), b.get("log_url"), str(b["uuid"]))
                for b in detail.get("builds", [])
            ]
            return Enqueued(str(found["uuid"]), found.get("result"), builds, time.time() - since)
        time.sleep(2)
    raise ZuulError(f"no result for {project} in {pipeline} within {timeout:g}s")


def _in_queue(layout: Layout, pipeline: str, project: str, newrev: str) -> bool:
    """Whether the enqueue reached the pipeline: a buildset of `newrev`
    recorded (Zuul records it at enqueue), or an item of the project in the
    pipeline's queues (the status names the ref, not always its revision)."""
    for found in api.buildsets(layout, project=project, pipeline=pipeline, limit="10"):
        if any(ref.get("newrev") == newrev for ref in found.get("refs") or [found]):
            return True
    status = api.get(layout, f"/api/tenant/{TENANT}/status")
    for entry in status.get("pipelines", []):
        if entry.get("name") != pipeline:
            continue
        for queue in entry.get("change_queues", []):
            for head in queue.get("heads", []):
                for item in head:
                    refs = item.get("refs") or [item]
                    if any(ref.get("project") == project for ref in refs):
                        return True
    return False


def _timestamp(value: object) -> float:
    """Zuul's ISO timestamps (UTC, no zone) as epoch seconds; 0 if absent."""
    if not isinstance(value, str):
        return 0.0
    from datetime import datetime

    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return 0.0
