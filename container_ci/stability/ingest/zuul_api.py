"""Zuul's REST API as a source: `/api/tenant/<tenant>/builds`, paged with
skip/limit and filtered by job_name, pipeline, project, result; optionally
each build's subunit artifact fetched from its log url.

The build dict is Zuul's `buildToDict` (zuul/web), as a real Zuul 14.3
serves it: uuid, job_name, result, start_time/end_time as
`%Y-%m-%dT%H:%M:%S` (UTC, no zone), duration, voting, log_url, nodeset,
final, artifacts, pipeline, and the ref's project, branch, change,
patchset, ref (nested under `ref` since Zuul 10; older flat shapes are read
too). It names no node and no provider: the store's `node` gets the
build's `nodeset` (an old Zuul's `node_name` when one is given), and
`provider` stays null unless the API gives one. Non-final builds (retried
attempts) and builds still running are skipped: the final attempt is the
one that counts.

Subunit artifacts are fetched from the build's log_url: `--subunit PATH`
names one place; `--subunit` alone tries the places of the command's
SUBUNIT_PATHS in order, where this repository's jobs publish them (the post-run playbooks under
jobs/playbooks/ copy them to `container-ci/` of the logs; upstream
devstack jobs publish `testrepository.subunit.gz`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

from container_ci.errors import BadInput, InfrastructureError
from container_ci.stability.ingest.model import ParsedBuild
from container_ci.stability.ingest.subunit_reader import gunzip_if_needed, parse_stream


class ZuulAPIError(BadInput):
    """The API refused the request (4xx): retrying will not help."""


@dataclass
class ZuulClient:
    base_url: str  # e.g. https://zuul.opendev.org (with or without /api)
    tenant: str
    timeout: float = 30.0
    retries: int = 4
    backoff: float = 1.0  # seconds, doubled after each retry
    page_size: int = 50
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        root = self.base_url.rstrip("/")
        self.api = root if root.endswith("/api") else f"{root}/api"
        self.session = requests.Session()
        self.session.headers["Accept"] = "application/json"

    def get(self, url: str, params: dict[str, Any] | None = None) -> requests.Response:
        """GET with retries and exponential back-off on 5xx and connection errors."""
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                response = self.session.get(url, params=params, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 400:
                    return response
                if response.status_code < 500:
                    raise ZuulAPIError(
                        f"{response.url}: HTTP {response.status_code}: {_first_line(response)}"
                    )
                problem = f"HTTP {response.status_code}: {_first_line(response)}"
            if attempt < self.retries:
                self.sleep(delay)
                delay *= 2
        raise InfrastructureError(f"{url}: gave up after {self.retries + 1} attempts: {problem}")

    def builds(
        self, filters: dict[str, Any], max_builds: int | None = None
    ) -> Iterator[dict[str, Any]]:
        url = f"{self.api}/tenant/{self.tenant}/builds"
        skip = 0
        seen = 0
        while True:
            params = {k: v for k, v in filters.items() if v is not None}
            params.update(skip=skip, limit=self.page_size)
            page = self.get(url, params).json()
            if not isinstance(page, list):
                raise BadInput(f"{url}: expected a list of builds, got {type(page).__name__}")
            for build in page:
                yield build
                seen += 1
                if max_builds is not None and seen >= max_builds:
                    return
            if len(page) < self.page_size:
                return
            skip += len(page)

    def subunit(self, build: dict[str, Any], path: str) -> bytes | None:
        """The build's subunit artifact, or None when it has none (404)."""
        log_url = build.get("log_url")
        if not log_url:
            return None
        url = log_url if log_url.endswith("/") else f"{log_url}/"
        try:
            return self.get(f"{url}{path}").content
        except ZuulAPIError:
            return None


def _first_line(response: requests.Response) -> str:
    text = response.text.strip().splitlines()
    return text[0][:200] if text else response.reason or ""


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _ref_fields(build: dict[str, Any]) -> dict[str, Any]:
    ref = build.get("ref")
    if isinstance(ref, dict):  # Zuul 10+: the buildset's ref nested
        return {key: ref.get(key) for key in ("project", "branch", "change", "patchset", "ref")}
    return {key: build.get(key) for key in ("project", "branch", "change", "patchset", "ref")}


def counts_as_final(build: dict[str, Any]) -> bool:
    return build.get("final", True) is not False and bool(build.get("result"))


def build_from_zuul(build: dict[str, Any], source: str) -> ParsedBuild:
    try:
        uuid = build["uuid"]
        job = build["job_name"]
    except KeyError as exc:
        raise BadInput(f"{source}: a build without {exc.args[0]!r}") from exc
    fields = _ref_fields(build)
    change = fields["change"]
    return ParsedBuild(
        uuid=str(uuid),
        job=str(job),
        source="zuul",
        result=build.get("result"),
        pipeline=build.get("pipeline") or (build.get("buildset") or {}).get("pipeline"),
        project=fields["project"],
        change=int(change) if change not in (None, "") else None,
        patchset=str(fields["patchset"]) if fields["patchset"] is not None else None,
        ref=fields["ref"],
        branch=fields["branch"],
        voting=build.get("voting"),
        start_time=_time(build.get("start_time")),
        end_time=_time(build.get("end_time")),
        duration=build.get("duration"),
        log_url=build.get("log_url"),
        node=_node(build),
        provider=build.get("provider"),
    )


def _node(build: dict[str, Any]) -> str | None:
    """An old Zuul's `node_name`, else the build's nodeset name, else None."""
    for key in ("node_name", "nodeset"):
        value = build.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def read_zuul_builds(
    client: ZuulClient,
    filters: dict[str, Any],
    max_builds: int | None,
    subunit_path: str | Sequence[str] | None,
    on_problem: Callable[[str], None],
) -> Iterator[ParsedBuild]:
    """Parsed builds, each with its test results when `subunit_path` is
    given (one path, or several tried in order: the first found is read).
    A build whose artifact is truncated is reported and not yielded."""
    paths = [subunit_path] if isinstance(subunit_path, str) else list(subunit_path or [])
    for raw in client.builds(filters, max_builds):
        if not counts_as_final(raw):
            continue
        build = build_from_zuul(raw, f"{client.api}/tenant/{client.tenant}/builds")
        truncated = False
        for path in paths:
            data = client.subunit(raw, path)
            if data is not None:
                log_url = str(raw.get("log_url"))
                label = f"{log_url if log_url.endswith('/') else log_url + '/'}{path}"
                try:
                    stream = gunzip_if_needed(data, label)
                    build.results = [result for result, _ in parse_stream(stream, label)]
                except BadInput as exc:
                    on_problem(str(exc))
                    truncated = True
                break
        if not truncated:
            yield build
