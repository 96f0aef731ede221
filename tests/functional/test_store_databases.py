"""The stability store on real databases: SQLite and a real PostgreSQL server,
with 4 concurrent ingest processes and no duplicates."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from container_ci.provision.postgres import PostgresServer
from tests.fakes.stability_data import T0, counts_of_tempest_builds, write_tempest_subunit
from tests.helpers import ingest_concurrently, run_cli, table_counts

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


def test_four_concurrent_ingest_processes_no_duplicates(database_url, tmp_path):
    files = [
        write_tempest_subunit(
            tmp_path / f"{i}.subunit", gz=i % 2 == 1, start=T0 + timedelta(hours=i)
        )
        for i in range(8)
    ]
    ingest_concurrently(database_url, files, (0, 2, 4, 6), tmp_path, timeout=300)
    assert table_counts(database_url) == counts_of_tempest_builds(8)


def test_truncated_input_leaves_counts_unchanged(database_url, tmp_path):
    good = write_tempest_subunit(tmp_path / "good.subunit")
    assert run_cli("stability", "--db", database_url, "ingest", good).returncode == 0
    before = table_counts(database_url)
    data = write_tempest_subunit(tmp_path / "other.subunit", start=T0 + timedelta(days=1))
    cut = tmp_path / "cut.subunit"
    cut.write_bytes(data.read_bytes()[:-7])
    done = run_cli("stability", "--db", database_url, "ingest", cut)
    assert done.returncode == 2 and "cut.subunit: truncated or corrupt" in done.stderr
    assert table_counts(database_url) == before
