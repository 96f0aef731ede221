"""The stability store under faults (issue 17, item 3): `stability ingest`
of a large subunit stream SIGKILLed while it writes, on SQLite and on a real
PostgreSQL, and PostgreSQL restarted under an ingest. The store must hold
whole builds only, the ingest must say what broke in one line (exit 3,
naming the database, no traceback), and a re-run must store the build.

Where a fault strikes is drawn from a seed (in every failure message;
CONTAINER_CI_FAULT_SEED=N replays it): a fraction of the write-ahead log a
whole ingest of the same stream writes, measured first on a scratch store of
the same kind, so the fault lands mid-write however fast the machine is.
These tests need no Docker or libvirt: only a private PostgreSQL on a Unix
socket in a temp dir."""

from __future__ import annotations

import os
import random
import shlex
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import make_url

from container_ci.errors import InfrastructureError
from container_ci.provision.postgres import BIN, PostgresServer
from container_ci.stability.ingest.model import ParsedBuild, ParsedResult
from container_ci.stability.ingest.writer import record_build
from container_ci.stability.store import Store
from container_ci.stability.tables import Build, TestResult
from tests.fakes.stability_data import subunit_stream
from tests.helpers import run_cli, start_cli, table_counts

# Tests using PostgreSQL share one worker (tools/run-tests: --dist loadgroup).
pytestmark = pytest.mark.xdist_group("postgresql")

RESULTS = 60_000  # two of the writer's 50,000-row chunks; about 5 s of writing here
EMPTY = {"jobs": 0, "builds": 0, "tests": 0, "test_results": 0, "failure_signatures": 0}


@pytest.fixture(scope="module")
def stream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tempest-shaped subunit v2 stream (python-subunit's writer), every
    test its own id, one in a hundred failing with a traceback."""
    results = [
        (f"tempest.api.compute.g{i // 1000}.ServersTestJSON.test_case_{i}[id-{i:08x}]", status)
        for i in range(RESULTS)
        for status in ["fail" if i % 100 == 7 else "skip" if i % 50 == 3 else "success"]
    ]
    path = tmp_path_factory.mktemp("stream") / "large.subunit"
    path.write_bytes(subunit_stream(results))
    return path


@pytest.fixture
def seed() -> int:
    return int(os.environ.get("CONTAINER_CI_FAULT_SEED") or random.SystemRandom().randrange(10**6))


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    """A server of this module's own: the restart test stops it."""
    server = PostgresServer(Path(tempfile.mkdtemp(prefix="cci-pg-faults-")))
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    """Makes an empty store of the parameter's kind, schema in place, and gives its URL."""

    def make() -> str:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / f'{uuid.uuid4().hex[:8]}.sqlite'}"
        else:
            server: PostgresServer = request.getfixturevalue("postgres")
            url = server.create_database(f"cci_{uuid.uuid4().hex[:8]}")
        Store(url).close()  # the migration is not what these tests measure
        return url

    return make


def wal_position(url: str) -> int:
    """How far the database's write-ahead log has got, in bytes: the size of
    SQLite's -wal file (it grows while a transaction spills its pages, and
    is gone once the last connection closes), PostgreSQL's insert position."""
    if url.startswith("sqlite"):
        try:
            return os.stat(f"{make_url(url).database}-wal").st_size
        except FileNotFoundError:
            return 0
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            query = "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')"
            return int(connection.execute(text(query)).scalar_one())
    finally:
        engine.dispose()


def ingest(url: str, stream: Path, log: Path) -> subprocess.Popen[str]:
    return start_cli("stability", "--db", url, "ingest", "--job", "big", stream, output=log)


def whole_ingest_writes(url: str, stream: Path, log: Path) -> int:
    """Bytes of write-ahead log a whole ingest of `stream` writes (its peak)."""
    start = peak = wal_position(url)
    process = ingest(url, stream, log)
    while process.poll() is None:
        peak = max(peak, wal_position(url))
        time.sleep(0.02)
    assert process.returncode == 0, log.read_text()
    assert peak - start > 1_000_000, f"the ingest wrote {peak - start} bytes of log only"
    return peak - start


def strike_mid_write(
    url: str, stream: Path, log: Path, written: int, fraction: float
) -> subprocess.Popen[str]:
    """An ingest of `stream`, returned once it has written `fraction` of the
    log a whole ingest writes: the build's transaction is open, uncommitted."""
    start = wal_position(url)
    process = ingest(url, stream, log)
    while wal_position(url) - start < fraction * written:
        assert process.poll() is None, f"the ingest ended before the fault:\n{log.read_text()}"
        time.sleep(0.005)
    assert process.poll() is None, f"the ingest ended before the fault:\n{log.read_text()}"
    return process


def results_per_build(url: str) -> list[int]:
    with Store(url) as store, store.session() as session:
        rows = session.execute(
            select(func.count(TestResult.id))
            .select_from(Build)
            .outerjoin(TestResult, TestResult.build_id == Build.id)
            .group_by(Build.id)
        )
        return [count for (count,) in rows]


def assert_rerun_stores_the_build(url: str, stream: Path, context: str) -> None:
    done = run_cli("stability", "--db", url, "ingest", "--job", "big", stream, timeout=300)
    assert done.returncode == 0, f"{context}\n{done.stdout}{done.stderr}"
    assert f"(big, {RESULTS} results): stored" in done.stdout, f"{context}\n{done.stdout}"
    assert results_per_build(url) == [RESULTS], context


def test_sigkill_mid_ingest_leaves_whole_builds_only(new_store, stream, tmp_path, seed):
    written = whole_ingest_writes(new_store(), stream, tmp_path / "calibrate.log")
    url = new_store()
    fraction = random.Random(seed).uniform(0.05, 0.7)
    context = f"seed {seed}: SIGKILL at {fraction:.0%} of {written:,} bytes of log ({url})"
    process = strike_mid_write(url, stream, tmp_path / "killed.log", written, fraction)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL, context
    assert table_counts(url) == EMPTY, context
    assert_rerun_stores_the_build(url, stream, context)


def postmaster_pid(server: PostgresServer) -> int:
    return int((server.data / "postmaster.pid").read_text().splitlines()[0])


def restart(server: PostgresServer) -> None:
    """The server started again as it was last started (its postmaster.opts:
    what `pg_ctl restart` reads), as the same user; the fixture stops it."""
    argv = shlex.split((server.data / "postmaster.opts").read_text())
    server.process = subprocess.Popen(
        ["runuser", "-u", "postgres", "--", *argv],
        stdout=subprocess.DEVNULL,
        stderr=open(server.directory / "server-restarted.log", "a"),  # noqa: SIM115
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready = subprocess.run(
            ["runuser", "-u", "postgres", "--", str(BIN / "pg_isready"),
             "-h", str(server.socket_dir), "-p", str(server.port)],
            capture_output=True, check=False,
        )  # fmt: skip
        if ready.returncode == 0:
            return
        time.sleep(0.1)
    pytest.fail("PostgreSQL did not come back after its restart")


def stop(server: PostgresServer) -> None:
    """A fast shutdown (SIGINT to the postmaster: clients are cut off, as
    when PostgreSQL is restarted under them; SIGTERM would wait for them)."""
    os.kill(postmaster_pid(server), signal.SIGINT)
    assert server.process is not None
    server.process.wait(timeout=60)  # runuser ends with the postmaster


def test_postgresql_restart_mid_ingest(postgres, stream, tmp_path, seed):
    def new_database() -> str:
        url = postgres.create_database(f"cci_{uuid.uuid4().hex[:8]}")
        Store(url).close()
        return url

    written = whole_ingest_writes(new_database(), stream, tmp_path / "calibrate.log")
    url = new_database()
    fraction = random.Random(seed).uniform(0.05, 0.7)
    context = f"seed {seed}: restart at {fraction:.0%} of {written:,} bytes of log ({url})"
    log = tmp_path / "restarted.log"
    process = strike_mid_write(url, stream, log, written, fraction)
    try:
        stop(postgres)
        returncode = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
        restart(postgres)
    output = log.read_text()
    context += f"\n{output}"
    assert returncode == 3, context
    assert "Traceback" not in output, context
    lines = output.splitlines()
    assert len(lines) == 1, context
    line = lines[0]
    database = make_url(url).database
    assert line.startswith("container-ci: stability store postgresql"), context
    assert database is not None and database in line, context
    assert table_counts(url) == EMPTY, context
    assert_rerun_stores_the_build(url, stream, context)


def test_full_sqlite_store_is_infrastructure(tmp_path):
    """A store that cannot grow (a full disk; here SQLite's page limit, a
    real `database or disk is full`) stops the ingest with one line naming
    the store, and keeps nothing of the build."""
    url = f"sqlite:///{tmp_path / 'full.sqlite'}"
    with Store(url) as store:
        with store.engine.connect() as connection:
            pages = connection.exec_driver_sql("PRAGMA page_count").scalar_one()
        store.engine.dispose()  # the limit below is set on each new connection
        event.listen(
            store.engine,
            "connect",
            lambda connection, _record: connection.execute(f"PRAGMA max_page_count={pages + 8}"),
        )
        build = ParsedBuild(
            uuid="full",
            job="big",
            source="subunit",
            results=[ParsedResult(f"test_{i}", "success", 1.0) for i in range(20_000)],
        )
        with pytest.raises(
            InfrastructureError,
            match=r"stability store sqlite:///.*full\.sqlite: "
            r"database or disk is full",
        ):
            record_build(store, build)
    assert table_counts(url) == EMPTY
