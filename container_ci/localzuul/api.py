"""zuul-web's REST API, as the local Zuul's commands read it (stdlib only)."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from container_ci.localzuul.errors import ZuulError
from container_ci.localzuul.layout import TENANT, Layout


def get(layout: Layout, path: str, timeout: float = 30) -> Any:
    """The JSON zuul-web answers for `path`; ZuulError if it does not."""
    url = layout.url("zuul-web", path)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
            return json.loads(response.read().decode())
    except urllib.error.HTTPError as exc:
        body = exc.read().decode(errors="replace")[:300]
        raise ZuulError(f"zuul-web: GET {path}: HTTP {exc.code}: {body}") from exc
    except (OSError, ValueError) as exc:
        raise ZuulError(f"zuul-web does not answer at {url}: {exc}") from exc


def quote(name: str) -> str:
    return urllib.parse.quote(name, safe="/")


def tenant_loaded(layout: Layout) -> bool:
    """The tenant's layout is loaded: zuul-web lists the tenant, and its
    status says when its layout was last (re)configured."""
    try:
        tenants = get(layout, "/api/tenants", timeout=5)
        if not any(t.get("name") == TENANT for t in tenants):
            return False
        status = get(layout, f"/api/tenant/{TENANT}/status", timeout=5)
    except ZuulError:
        return False
    return bool(status.get("last_reconfigured"))


def last_reconfigured(layout: Layout) -> int | None:
    """When the tenant's layout was last loaded (ms since the epoch), None if never."""
    try:
        value = get(layout, f"/api/tenant/{TENANT}/status", timeout=5).get("last_reconfigured")
    except ZuulError:
        return None
    return int(value) if value else None


ERROR_LINE = re.compile(r'in "[^"]*", line (\d+)')


@dataclass(frozen=True)
class ConfigError:
    """One error Zuul's configloader reported, where it is."""

    project: str
    branch: str
    path: str  # in the project's repository; "" when Zuul names none
    line: int  # 0 when Zuul names none
    message: str


def project_config_errors(layout: Layout, project: str) -> list[ConfigError]:
    """Zuul's configuration errors in `project`, with the file and line its
    message names (`in "<project>/<path>@<branch>", line N`)."""
    found = []
    for error in get(layout, f"/api/tenant/{TENANT}/config-errors"):
        context = error.get("source_context") or {}
        if context.get("project") != project:
            continue
        text = str(error.get("error") or "")
        mark = ERROR_LINE.search(text)
        short = " ".join(str(error.get("short_error") or text).split())
        found.append(
            ConfigError(
                project=project,
                branch=str(context.get("branch") or ""),
                path=str(context.get("path") or ""),
                line=int(mark.group(1)) if mark else 0,
                message=short[:300],
            )
        )
    return found


def config_errors(layout: Layout) -> list[str]:
    """Each configuration error Zuul found, one line: project, branch, error."""
    lines = []
    for error in get(layout, f"/api/tenant/{TENANT}/config-errors"):
        context = error.get("source_context") or {}
        where = f"{context.get('project', '?')}@{context.get('branch', '?')}"
        if context.get("path"):
            where += f":{context['path']}"
        text = (error.get("short_error") or error.get("error") or "").strip()
        lines.append(f"{where}: {' '.join(text.split())[:300]}")
    return lines


def freeze_job(
    layout: Layout, pipeline: str, project: str, job: str, branch: str = "master"
) -> Any:
    return get(
        layout,
        f"/api/tenant/{TENANT}/pipeline/{quote(pipeline)}/project/{quote(project)}"
        f"/branch/{quote(branch)}/freeze-job/{quote(job)}",
    )


def freeze_jobs(layout: Layout, pipeline: str, project: str, branch: str = "master") -> list[str]:
    """The names of the jobs `project` runs in `pipeline` on `branch`."""
    frozen = get(
        layout,
        f"/api/tenant/{TENANT}/pipeline/{quote(pipeline)}/project/{quote(project)}"
        f"/branch/{quote(branch)}/freeze-jobs",
    )
    return [str(job["name"]) for job in frozen]


def buildsets(layout: Layout, **query: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = get(
        layout, f"/api/tenant/{TENANT}/buildsets?{urllib.parse.urlencode(query)}"
    )
    return result


def buildset(layout: Layout, uuid: str) -> dict[str, Any]:
    result: dict[str, Any] = get(layout, f"/api/tenant/{TENANT}/buildset/{uuid}")
    return result
