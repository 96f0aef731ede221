"""A local HTTP server answering like Zuul's web API, for ingest tests.

The Zuul REST API cannot run here, so this serves its recorded shape: the
build dicts are what zuul/web's `buildToDict` returns (uuid, job_name,
result, held, start_time/end_time as %Y-%m-%dT%H:%M:%S, duration, voting,
log_url, node_name, error_detail, final, artifacts, provides, then the
buildset's project, branch, pipeline, change, patchset, ref, newrev, ref_url,
event_id, buildset.uuid), newest first, paged with skip/limit, filtered by the
query parameters `builds()` accepts; an unknown tenant is cherrypy's 404
page. Faults can be injected: 503s before a page is served."""

from __future__ import annotations

import gzip
import json
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from tests.fakes.stability_data import TEMPEST_TESTS, subunit_stream

FILTERABLE = (
    "project",
    "pipeline",
    "change",
    "branch",
    "patchset",
    "ref",
    "uuid",
    "job_name",
    "voting",
    "node_name",
    "result",
)


def zuul_build(index: int, base_url: str, job: str, result: str | None, final: bool = True) -> dict:
    start = datetime(2026, 11, 1, 8, 0) + timedelta(hours=3 * index)
    end = start + timedelta(minutes=47) if result else None
    uuid = f"{index:04d}{'a' * 28}"
    return {
        "uuid": uuid,
        "job_name": job,
        "result": result,
        "held": False,
        "start_time": start.strftime("%Y-%m-%dT%H:%M:%S"),
        "end_time": end.strftime("%Y-%m-%dT%H:%M:%S") if end else None,
        "duration": (end - start).total_seconds() if end else None,
        "voting": False,
        "log_url": f"{base_url}/logs/{uuid}/" if result else None,
        "node_name": None,
        "error_detail": None,
        "final": final,
        "artifacts": [
            {
                "name": "Zuul Manifest",
                "url": f"{base_url}/logs/{uuid}/zuul-manifest.json",
                "metadata": {"type": "zuul_manifest"},
            }
        ]
        if result
        else [],
        "provides": [],
        "project": "openstack/nova",
        "branch": "master",
        "pipeline": "experimental",
        "change": 800000 + index // 2,
        "patchset": "1",
        "ref": f"refs/changes/{index:02d}/{800000 + index // 2}/1",
        "newrev": None,
        "ref_url": f"https://review.opendev.org/{800000 + index // 2}",
        "event_id": f"event-{index}",
        "buildset": {"uuid": f"bs{index:04d}"},
    }


class ZuulAPIServer:
    def __init__(self, builds: int = 120, tenant: str = "openstack") -> None:
        self.tenant = tenant
        self.fail_next = 0  # 503s to answer before serving normally
        self.requests: list[str] = []
        self.artifacts: dict[str, bytes] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.builds: list[dict] = []
        for index in range(builds):
            job = "container-ci-lxc" if index % 3 else "container-ci-docker"
            result = "FAILURE" if index % 10 == 7 else "SUCCESS"
            if index % 17 == 5:
                result = "NODE_FAILURE"
            self.builds.append(zuul_build(index, self.url, job, result))
        self.builds.append(zuul_build(builds, self.url, "container-ci-lxc", "RETRY", final=False))
        self.builds.append(zuul_build(builds + 1, self.url, "container-ci-lxc", None))
        for build in self.builds:
            if build["result"] in ("SUCCESS", "FAILURE") and build["final"]:
                outcomes = [
                    (
                        test,
                        "fail"
                        if build["result"] == "FAILURE" and status == "fail"
                        else ("skip" if status == "skip" else "success"),
                    )
                    for test, status in TEMPEST_TESTS
                ]
                data = subunit_stream(
                    outcomes, datetime.fromisoformat(build["start_time"] + "+00:00")
                )
                self.artifacts[build["uuid"]] = gzip.compress(data)
        self.builds.sort(key=lambda b: b["uuid"], reverse=True)  # newest first, like getBuilds

    def truncate_artifact(self, uuid: str) -> None:
        raw = gzip.decompress(self.artifacts[uuid])
        self.artifacts[uuid] = gzip.compress(raw[: len(raw) // 2])

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args) -> None:
                pass

            def _send(self, code: int, body: bytes, kind: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                url = urlparse(self.path)
                server.requests.append(self.path)
                if server.fail_next > 0:
                    server.fail_next -= 1
                    self._send(
                        503, b"<html><body>503 Service Unavailable</body></html>", "text/html"
                    )
                    return
                parts = url.path.strip("/").split("/")
                if parts[:2] == ["api", "tenant"] and len(parts) == 4 and parts[3] == "builds":
                    if parts[2] != server.tenant:
                        body = (
                            f"<!DOCTYPE html><html><head><title>404 Not Found</title></head>"
                            f"<body><h2>404 Not Found</h2><p>Tenant {parts[2]} does not "
                            f"exist.</p></body></html>"
                        ).encode()
                        self._send(404, body, "text/html;charset=utf-8")
                        return
                    query = {k: v[0] for k, v in parse_qs(url.query).items()}
                    chosen = [
                        b
                        for b in server.builds
                        if all(str(b.get(k)) == query[k] for k in FILTERABLE if k in query)
                    ]
                    skip, limit = int(query.get("skip", 0)), int(query.get("limit", 50))
                    page = chosen[skip : skip + limit]
                    self._send(200, json.dumps(page).encode(), "application/json; charset=utf-8")
                    return
                if (
                    parts[0] == "logs"
                    and len(parts) == 3
                    and parts[2] == "testrepository.subunit.gz"
                ):
                    data = server.artifacts.get(parts[1])
                    if data is not None:
                        self._send(200, data, "application/gzip")
                        return
                self._send(404, b"Not Found", "text/plain")

        return Handler

    def __enter__(self) -> ZuulAPIServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_exc) -> None:
        self._server.shutdown()
        self._server.server_close()
