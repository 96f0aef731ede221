"""Ingest from a Zuul builds API (a local server in Zuul's recorded shape):
paging, filters, retries on 5xx, a clear error on 4xx, artifacts, idempotence."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from container_ci.errors import InfrastructureError
from container_ci.stability.ingest.writer import record_build
from container_ci.stability.ingest.zuul_api import ZuulAPIError, ZuulClient, read_zuul_builds
from container_ci.stability.tables import Build, TestResult
from tests.fakes.zuul_api import ZuulAPIServer
from tests.helpers import run_cli


def no_sleep(_seconds: float) -> None:
    pass


@pytest.fixture
def server():
    with ZuulAPIServer() as running:
        yield running


def client(server: ZuulAPIServer, **kwargs) -> ZuulClient:
    return ZuulClient(server.url, server.tenant, sleep=no_sleep, page_size=20, **kwargs)


def test_pages_through_every_build_with_filters(server):
    builds = list(client(server).builds({"job_name": "container-ci-lxc"}))
    expected = [b for b in server.builds if b["job_name"] == "container-ci-lxc"]
    assert [b["uuid"] for b in builds] == [b["uuid"] for b in expected]
    pages = [r for r in server.requests if "/builds" in r]
    assert len(pages) == len(expected) // 20 + 1
    assert all("job_name=container-ci-lxc" in r and "limit=20" in r for r in pages)


def test_final_builds_land_with_zuul_fields_and_tests(server, store):
    problems: list[str] = []
    parsed = list(
        read_zuul_builds(client(server), {}, None, "testrepository.subunit.gz", problems.append)
    )
    assert problems == []
    assert len(parsed) == 120, "the RETRY attempt and the running build are skipped"
    for build in parsed:
        record_build(store, build)
    with store.session() as session:
        build = session.scalars(select(Build).where(Build.uuid.like("0007%"))).one()
        assert (build.result, build.pipeline, build.project, build.change) == (
            "FAILURE",
            "experimental",
            "openstack/nova",
            800003,
        )
        assert build.start_time.hour == 5 and build.duration == 47 * 60
        assert build.log_url.endswith("/logs/" + build.uuid + "/")
        failed = session.scalar(
            select(func.count())
            .select_from(TestResult)
            .where(TestResult.build_id == build.id, TestResult.status == "fail")
        )
        assert failed == 1
    again = [
        record_build(store, b)
        for b in read_zuul_builds(client(server), {}, None, None, problems.append)
    ]
    assert not any(again), "a second ingest stores nothing"


def test_retries_5xx_with_backoff_then_succeeds(server):
    waits: list[float] = []
    server.fail_next = 3
    zuul = ZuulClient(server.url, server.tenant, sleep=waits.append, page_size=200)
    assert len(list(zuul.builds({}))) == len(server.builds)
    assert waits == [1.0, 2.0, 4.0]


def test_gives_up_after_retries_as_infrastructure(server):
    server.fail_next = 100
    with pytest.raises(InfrastructureError, match="gave up after 3 attempts: HTTP 503"):
        list(client(server, retries=2).builds({}))


def test_unknown_tenant_is_a_clear_4xx_error(server):
    zuul = ZuulClient(server.url, "no-such-tenant", sleep=no_sleep)
    with pytest.raises(ZuulAPIError, match="HTTP 404"):
        list(zuul.builds({}))


def test_truncated_artifact_skips_that_build_and_exits_2(server, tmp_path):
    victim = next(b for b in server.builds if b["result"] == "SUCCESS")
    server.truncate_artifact(victim["uuid"])
    db = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    command = (
        "stability", "--db", db, "ingest-zuul", "--url", server.url, "--tenant", server.tenant,
        "--subunit",
    )  # fmt: skip
    done = run_cli(*command)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"/logs/{victim['uuid']}/testrepository.subunit.gz: truncated" in done.stderr
    assert "119 build(s) stored, 0 already in the store, 1 not stored" in done.stdout
    again = run_cli(*command)
    assert "0 build(s) stored, 119 already in the store, 1 not stored" in again.stdout


# A build as Zuul 14.3's builds API returns it (recorded from the local Zuul,
# `container-ci zuul up`, a container-ci-scenarios build): no node_name, no
# provider; the nodeset's name; the ref nested.
ZUUL_14_BUILD = {
    "_id": 7,
    "uuid": "5e0b3c1f2a9d4d0c8f6a1b2c3d4e5f60",
    "job_name": "container-ci-scenarios",
    "result": "SUCCESS",
    "held": False,
    "execute_time": "2026-12-01T17:01:02",
    "start_time": "2026-12-01T17:01:03",
    "end_time": "2026-12-01T17:05:41",
    "duration": 278.0,
    "voting": True,
    "log_url": "LOG_URL",
    "nodeset": "ubuntu-noble",
    "error_detail": None,
    "final": True,
    "artifacts": [],
    "provides": [],
    "ref": {
        "project": "openstack/container-ci",
        "branch": "master",
        "change": None,
        "patchset": None,
        "ref": "refs/heads/master",
        "oldrev": "1" * 40,
        "newrev": "2" * 40,
        "ref_url": None,
    },
    "pipeline": "check",
    "event_id": "e1",
    "event_timestamp": "2026-12-01T17:01:00",
    "buildset": {"uuid": "b" * 32},
}


class Zuul14:
    """zuul-web's builds API answering one build, and its logs where
    container-ci-scenarios' post-run publishes them (container-ci/)."""

    def __init__(self, subunit: bytes) -> None:
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        owner = self
        self.requests: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                owner.requests.append(self.path)
                if self.path.startswith("/api/tenant/local/builds"):
                    body, kind = json.dumps([owner.build]).encode(), "application/json"
                elif self.path == f"/logs/{ZUUL_14_BUILD['uuid']}/container-ci/results.subunit":
                    body, kind = subunit, "application/octet-stream"
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.build = {**ZUUL_14_BUILD, "log_url": f"{self.url}/logs/{ZUUL_14_BUILD['uuid']}/"}
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_zuul_14_build_keeps_its_nodeset_and_no_invented_node_or_provider():
    from container_ci.stability.ingest.zuul_api import build_from_zuul

    build = build_from_zuul(ZUUL_14_BUILD, "test")
    assert build.node == "ubuntu-noble"  # the nodeset: the API names no node
    assert build.provider is None
    assert (build.project, build.branch, build.ref, build.change, build.patchset) == (
        "openstack/container-ci", "master", "refs/heads/master", None, None,
    )  # fmt: skip
    assert build.pipeline == "check" and build.duration == 278.0
    old = {**ZUUL_14_BUILD, "node_name": "ubuntu-noble-rax-dfw-0001"}
    assert build_from_zuul(old, "test").node == "ubuntu-noble-rax-dfw-0001"
    no_nodeset = {k: v for k, v in ZUUL_14_BUILD.items() if k != "nodeset"}
    assert build_from_zuul(no_nodeset, "test").node is None


def test_subunit_alone_finds_the_scenario_jobs_results_under_container_ci(tmp_path):
    from tests.fakes.stability_data import subunit_stream

    ids = [
        ("container_ci.scenarios.lifecycle.docker", "success"),
        ("container_ci.scenarios.suspend-resume.libvirt-lxc", "skip"),
    ]
    zuul = Zuul14(subunit_stream(ids))
    try:
        db = f"sqlite:///{tmp_path / 'store.sqlite'}"
        done = run_cli(
            "stability", "--db", db, "ingest-zuul", "--url", zuul.url, "--tenant", "local",
            "--subunit",
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert "1 build(s) stored" in done.stdout
        logs = [r for r in zuul.requests if r.startswith("/logs/")]
        uuid = ZUUL_14_BUILD["uuid"]
        # The upstream place first (absent), then container-ci's: found, read.
        assert logs == [
            f"/logs/{uuid}/testrepository.subunit.gz",
            f"/logs/{uuid}/container-ci/results.subunit",
        ]
        from container_ci.stability.store import Store

        with Store(db) as store, store.session() as session:
            stored = session.scalars(select(Build)).one()
            assert (stored.node, stored.provider) == ("ubuntu-noble", None)
            statuses = session.scalars(select(TestResult.status)).all()
            assert sorted(statuses) == ["skip", "success"]
    finally:
        zuul.close()
