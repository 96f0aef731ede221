"""The stability store on real databases: SQLite and a real PostgreSQL server,
with 4 concurrent ingest processes and no duplicates."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from container_ci.provision.postgres import PostgresServer
from container_ci.stability.store import Store
from container_ci.stability.tables import Build, FailureSignature, Job, Test, TestResult

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "unit"))
from stability_data import T0, TEMPEST_TESTS, write_tempest_subunit  # noqa: E402

# One PostgreSQL server for the whole run: every test using it goes to the same
# xdist worker (tools/run-tests runs pytest with --dist loadgroup).
pytestmark = pytest.mark.xdist_group("postgresql")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer(Path(tempfile.mkdtemp(prefix="cci-pg-")))
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    server = request.getfixturevalue("postgres")
    return server.create_database(f"cci_{uuid.uuid4().hex[:8]}")


def counts(url: str) -> dict[str, int]:
    store = Store(url)
    try:
        with store.session() as session:
            return {
                model.__tablename__: session.scalar(select(func.count()).select_from(model))
                for model in (Job, Build, Test, TestResult, FailureSignature)
            }
    finally:
        store.close()


def test_four_concurrent_ingest_processes_no_duplicates(database_url, tmp_path):
    files = [
        write_tempest_subunit(
            tmp_path / f"{i}.subunit", gz=i % 2 == 1, start=T0 + timedelta(hours=i)
        )
        for i in range(8)
    ]
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "container_ci.cli",
                "stability",
                "--db",
                database_url,
                "ingest",
                "--job",
                "nova-lxc",
                *map(str, files[shift:] + files[:shift]),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=REPO,
        )
        for shift in (0, 2, 4, 6)
    ]
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err.decode() + out.decode()
    assert counts(database_url) == {
        "jobs": 1,
        "builds": 8,
        "tests": len(TEMPEST_TESTS),
        "test_results": 8 * len(TEMPEST_TESTS),
        "failure_signatures": 1,
    }


def test_truncated_input_leaves_counts_unchanged(database_url, tmp_path):
    good = write_tempest_subunit(tmp_path / "good.subunit")
    cli = [sys.executable, "-m", "container_ci.cli", "stability", "--db", database_url, "ingest"]
    assert subprocess.run([*cli, str(good)], cwd=REPO, capture_output=True).returncode == 0
    before = counts(database_url)
    data = write_tempest_subunit(tmp_path / "other.subunit", start=T0 + timedelta(days=1))
    cut = tmp_path / "cut.subunit"
    cut.write_bytes(data.read_bytes()[:-7])
    done = subprocess.run([*cli, str(cut)], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 2 and "cut.subunit: truncated or corrupt" in done.stderr
    assert counts(database_url) == before
