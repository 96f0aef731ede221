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
devstack jobs publish `testrepository.subunit.gz`).

A page that is not a JSON list of build objects, or a build whose field
has the wrong type, is bad input naming the API url and the build; an
artifact is read no further than MAX_SUBUNIT_BYTES (it is whatever the job
under test left in its logs)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

from container_ci.errors import BadInput, InfrastructureError
from container_ci.input_bounds import MAX_SUBUNIT_BYTES
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

    def get(
        self, url: str, params: dict[str, Any] | None = None, stream: bool = False
    ) -> requests.Response:
        """GET with retries and exponential back-off on 5xx and connection errors."""
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                response = self.session.get(url, params=params, timeout=self.timeout, stream=stream)
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
            try:
                page = self.get(url, params).json()
            except ValueError as exc:  # requests' JSONDecodeError
                raise BadInput(f"{url}: not JSON: {exc}") from None
            if not isinstance(page, list):
                raise BadInput(f"{url}: expected a list of builds, got {type(page).__name__}")
            for index, build in enumerate(page):
                if not isinstance(build, dict):
                    raise BadInput(
                        f"{url}: build {skip + index}: expected an object, "
                        f"got {type(build).__name__}"
                    )
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
        if not log_url or not isinstance(log_url, str):
            return None
        url = log_url if log_url.endswith("/") else f"{log_url}/"
        try:
            response = self.get(f"{url}{path}", stream=True)
        except ZuulAPIError:
            return None
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(1024 * 1024):
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_SUBUNIT_BYTES:
                response.close()
                raise BadInput(
                    f"{url}{path}: refused: an artifact over {MAX_SUBUNIT_BYTES:,} bytes"
                )
        return b"".join(chunks)


def _first_line(response: requests.Response) -> str:
    text = response.text.strip().splitlines()
    return text[0][:200] if text else response.reason or ""


class _Fields:
    """A build dict's fields, each checked for the type the store keeps:
    BadInput(`source: build UUID: field: ...`) for any other."""

    def __init__(self, build: dict[str, Any], source: str) -> None:
        self.build = build
        self.source = source
        self.name = str(build.get("uuid", "?"))[:64]

    def fail(self, key: str, value: Any, wanted: str) -> BadInput:
        shown = repr(value)[:80]
        return BadInput(f"{self.source}: build {self.name}: {key}: {shown} is not {wanted}")

    def text(self, key: str, where: dict[str, Any] | None = None) -> str | None:
        value = (self.build if where is None else where).get(key)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)  # a patchset or change given as a number
        raise self.fail(key, value, "a string")

    def number(self, key: str) -> float | None:
        value = self.build.get(key)
        if value is None:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise self.fail(key, value, "a number")

    def flag(self, key: str) -> bool | None:
        value = self.build.get(key)
        if value is None or isinstance(value, bool):
            return value
        raise self.fail(key, value, "true or false")

    def time(self, key: str) -> datetime | None:
        value = self.build.get(key)
        if not value:
            return None
        try:
            moment = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            moment = None
        if moment is None:
            raise self.fail(key, value, "a time as %Y-%m-%dT%H:%M:%S")
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def change(self, where: dict[str, Any]) -> int | None:
        value = where.get("change")
        if value in (None, ""):
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
        raise self.fail("change", value, "a change number")


def _ref_fields(build: dict[str, Any]) -> dict[str, Any]:
    ref = build.get("ref")
    if isinstance(ref, dict):  # Zuul 10+: the buildset's ref nested
        return {key: ref.get(key) for key in ("project", "branch", "change", "patchset", "ref")}
    return {key: build.get(key) for key in ("project", "branch", "change", "patchset", "ref")}


def counts_as_final(build: dict[str, Any]) -> bool:
    return build.get("final", True) is not False and bool(build.get("result"))


def build_from_zuul(build: dict[str, Any], source: str) -> ParsedBuild:
    fields = _Fields(build, source)
    uuid, job = fields.text("uuid"), fields.text("job_name")
    for key, value in (("uuid", uuid), ("job_name", job)):
        if not value:
            raise BadInput(f"{source}: a build without {key!r}")
    ref = _ref_fields(build)
    buildset = build.get("buildset")
    return ParsedBuild(
        uuid=uuid or "",
        job=job or "",
        source="zuul",
        result=fields.text("result"),
        pipeline=fields.text("pipeline")
        or (fields.text("pipeline", buildset) if isinstance(buildset, dict) else None),
        project=fields.text("project", ref),
        change=fields.change(ref),
        patchset=fields.text("patchset", ref),
        ref=fields.text("ref", ref),
        branch=fields.text("branch", ref),
        voting=fields.flag("voting"),
        start_time=fields.time("start_time"),
        end_time=fields.time("end_time"),
        duration=fields.number("duration"),
        log_url=fields.text("log_url"),
        node=_node(build),
        provider=fields.text("provider"),
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
