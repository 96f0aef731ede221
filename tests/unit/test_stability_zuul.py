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
