"""Ingest into a real SQLite store: every source lands once; a second ingest
changes no count; malformed or truncated input stores nothing."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from container_ci.errors import BadInput
from container_ci.stability.ingest.sources import ingest_path
from container_ci.stability.store import Store
from container_ci.stability.tables import Build, Test, TestResult
from tests.fakes.stability_data import (
    T0,
    TEMPEST_TESTS,
    counts_of_tempest_builds,
    subunit_stream,
    write_tempest_subunit,
)
from tests.helpers import ingest_concurrently, run_cli, table_counts

BIN = Path(sys.executable).parent


def counts(store: Store) -> dict[str, int]:
    return table_counts(store.url)


def ingest(store: Store, path: Path, job: str | None = None) -> list[bool]:
    return [ingested.new for ingested in ingest_path(store, path, job)]


def test_tempest_subunit_lands_with_statuses_and_signature(store, tmp_path):
    path = write_tempest_subunit(tmp_path / "testrepository.subunit")
    assert ingest(store, path, "nova-lxc") == [True]
    with store.session() as session:
        statuses = dict(
            session.execute(select(Test.test_id, TestResult.status).join(TestResult.test)).all()
        )
        build = session.scalars(select(Build)).one()
    assert statuses == dict(TEMPEST_TESTS)
    assert build.result == "FAILURE" and build.source == "subunit"
    assert build.duration == pytest.approx(6.0)
    assert counts(store)["failure_signatures"] == 1


def test_gzipped_subunit_is_the_same_build_kind(store, tmp_path):
    path = write_tempest_subunit(tmp_path / "testrepository.subunit.gz", gz=True)
    assert ingest(store, path, "nova-lxc") == [True]
    assert counts(store)["test_results"] == len(TEMPEST_TESTS)


def test_every_source_twice_changes_nothing(store, tmp_path):
    subunit_file = write_tempest_subunit(tmp_path / "a.subunit")
    junit_file = tmp_path / "pytest.xml"
    (tmp_path / "test_sample.py").write_text(
        "import pytest\n"
        "def test_ok(): pass\n"
        "def test_bad(): assert 1 == 2\n"
        "@pytest.mark.skip(reason='no')\n"
        "def test_skipped(): pass\n"
    )
    subprocess.run(
        [
            BIN / "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={junit_file}",
            str(tmp_path / "test_sample.py"),
        ],
        capture_output=True,
        check=False,
        cwd=tmp_path,
    )
    converted = tmp_path / "tempest-junit.xml"
    converted.write_bytes(
        subprocess.run(
            [BIN / "subunit2junitxml"],
            input=subunit_file.read_bytes(),
            capture_output=True,
            check=False,
        ).stdout
    )
    repo = tmp_path / "stestr-repo"
    repo.mkdir()
    subprocess.run([BIN / "stestr", "init"], cwd=repo, check=True, capture_output=True)
    for offset in (0, 1):
        stream = subunit_stream(
            TEMPEST_TESTS[offset:],
        )
        subprocess.run(
            [BIN / "stestr", "load"], cwd=repo, input=stream, capture_output=True, check=False
        )
    sources = [subunit_file, junit_file, converted, repo]
    for source in sources:
        assert all(ingest(store, source)), f"{source} did not land"
    before = counts(store)
    assert before["builds"] == 1 + 1 + 1 + 2
    for source in sources:
        assert not any(ingest(store, source)), f"{source} was stored twice"
    assert counts(store) == before
    with store.session() as session:
        pytest_results = dict(
            session.execute(
                select(Test.test_id, TestResult.status)
                .join(TestResult.test)
                .join(TestResult.build)
                .where(Build.source == "junit", Test.test_id.like("test_sample.%"))
            ).all()
        )
    assert pytest_results == {
        "test_sample.test_ok": "success",
        "test_sample.test_bad": "fail",
        "test_sample.test_skipped": "skip",
    }


def test_runner_output_dir_lands_with_infrastructure_kept_apart(store, tmp_path):
    from container_ci.results.model import PairResult, PairStatus, RunResult
    from container_ci.results.writers import write_reports

    pairs = [
        PairResult("lifecycle", "docker", PairStatus.PASSED, T0, T0 + timedelta(seconds=1)),
        PairResult("lifecycle", "libvirt-lxc", PairStatus.ERROR, T0, T0, message="daemon gone"),
    ]
    run = RunResult("r1", T0, T0 + timedelta(seconds=2), pairs)
    write_reports(run, tmp_path / "out")
    assert ingest(store, tmp_path / "out") == [True]
    assert ingest(store, tmp_path / "out") == [False]
    with store.session() as session:
        build = session.scalars(select(Build)).one()
        infra = session.scalars(
            select(TestResult.infrastructure)
            .join(TestResult.test)
            .where(Test.test_id == "container_ci.scenarios.lifecycle.libvirt-lxc")
        ).one()
    assert (build.uuid, build.result, build.source) == (
        "container-ci:r1",
        "NODE_FAILURE",
        "container-ci",
    )
    assert infra is True


@pytest.mark.parametrize("cut", [0.5, 0.9, -3])
def test_truncated_subunit_stores_nothing(store, tmp_path, cut):
    good = write_tempest_subunit(tmp_path / "good.subunit")
    ingest(store, good, "nova-lxc")
    before = counts(store)
    data = subunit_stream(TEMPEST_TESTS, trace="boom")
    end = int(len(data) * cut) if cut > 0 else len(data) + cut
    truncated = tmp_path / "cut.subunit"
    truncated.write_bytes(data[:end])
    with pytest.raises(BadInput, match="cut.subunit: "):
        ingest(store, truncated, "nova-lxc")
    assert counts(store) == before


def test_cli_ingest_reports_and_exits_2_on_bad_input(tmp_path):
    db = f"sqlite:///{tmp_path / 's.sqlite'}"
    good = write_tempest_subunit(tmp_path / "good.subunit")
    bad = tmp_path / "bad.xml"
    bad.write_text("<testsuite><testcase name='x'>")
    done = run_cli("stability", "--db", db, "ingest", good, bad, good)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "stored" in done.stdout and "already in the store, unchanged" in done.stdout
    assert "bad.xml:1: not well-formed JUnit XML" in done.stderr
    assert "Traceback" not in done.stderr


def test_schema_revision_constant_is_alembics_head(tmp_path):
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from container_ci.stability.store import MIGRATIONS, SCHEMA_REVISION

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_REVISION
    with Store(f"sqlite:///{tmp_path / 'r.sqlite'}") as store:
        assert store.current_revision() == SCHEMA_REVISION


def test_store_schema_matches_the_migrations(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from container_ci.stability.tables import Base

    with Store(f"sqlite:///{tmp_path / 'm.sqlite'}") as store, store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_concurrent_ingest_processes_store_each_build_once(tmp_path):
    """4 processes, each ingesting the same 6 files in a different order."""
    files = [
        write_tempest_subunit(tmp_path / f"{index}.subunit", start=T0 + timedelta(hours=index))
        for index in range(6)
    ]
    db = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    ingest_concurrently(db, files, (0, 1, 3, 5), tmp_path, timeout=120)
    assert table_counts(db) == counts_of_tempest_builds(6)
