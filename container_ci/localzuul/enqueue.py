"""`container-ci zuul enqueue`: run a pipeline's jobs for a project's master
now, as Zuul's own client does (zuul-client enqueue-ref with an operator
token from zuul-admin), and wait for the buildset's result.

Zuul enqueues every job the project runs in the pipeline; there is no
per-job enqueue. So `--job J` is a guard, not a filter: it refuses unless J
is the only job that would run (this repository's experimental pipeline
holds tempest jobs that must not run on this shared machine's node)."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC

from container_ci.errors import BadInput
from container_ci.localzuul import api, repos
from container_ci.localzuul.errors import ZuulError
from container_ci.localzuul.layout import TENANT, Layout

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


def check_jobs(layout: Layout, pipeline: str, project: str, job: str | None) -> list[str]:
    """The jobs the enqueue will run; BadInput if `job` is not the only one."""
    jobs = api.freeze_jobs(layout, pipeline, project)
    if not jobs:
        raise BadInput(f"{project} runs no job in {pipeline} on master")
    if job is not None:
        if job not in jobs:
            raise BadInput(
                f"{project} does not run {job} in {pipeline} (it runs {', '.join(jobs)})"
            )
        others = [name for name in jobs if name != job]
        if others:
            raise BadInput(
                f"enqueueing {project} in {pipeline} would also run {', '.join(others)} "
                "(Zuul enqueues every job of a pipeline); refused"
            )
    return jobs


def enqueue(
    layout: Layout,
    pipeline: str,
    project: str,
    job: str | None,
    say: Callable[[str], None],
    timeout: float = 1800,
) -> Enqueued:
    jobs = check_jobs(layout, pipeline, project, job)
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
    say(f"enqueued {project} master ({newrev[:12]}) in {pipeline}: {', '.join(jobs)}")
    return wait_for_buildset(layout, pipeline, project, newrev, began, timeout)


def wait_for_buildset(
    layout: Layout, pipeline: str, project: str, newrev: str, since: float, timeout: float
) -> Enqueued:
    deadline = time.monotonic() + timeout
    queued_by = time.monotonic() + QUEUE_TIMEOUT
    while time.monotonic() < deadline:
        if time.monotonic() > queued_by and not _in_queue(layout, pipeline, newrev):
            raise ZuulError(
                f"the scheduler did not enqueue {project} {newrev[:12]} in {pipeline} "
                f"(see {layout.logfile('zuul-scheduler')}, 'Exception in management event')"
            )
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


def _in_queue(layout: Layout, pipeline: str, newrev: str) -> bool:
    """Whether an item of `newrev` is in the pipeline's queues (or was found done)."""
    status = api.get(layout, f"/api/tenant/{TENANT}/status")
    text = json.dumps([p for p in status.get("pipelines", []) if p.get("name") == pipeline])
    return newrev in text or newrev[:7] in text


def _timestamp(value: object) -> float:
    """Zuul's ISO timestamps (UTC, no zone) as epoch seconds; 0 if absent."""
    if not isinstance(value, str):
        return 0.0
    from datetime import datetime

    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return 0.0
