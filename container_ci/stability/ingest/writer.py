"""Storing one build: atomic (one transaction) and idempotent (a build uuid
already in the store changes nothing), safe with concurrent writers (unique
keys plus INSERT ... ON CONFLICT DO NOTHING for shared rows)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from container_ci.stability.ingest.model import FAIL, UXSUCCESS, ParsedBuild
from container_ci.stability.signatures import cause, digest
from container_ci.stability.store import Store
from container_ci.stability.tables import Base, Build, FailureSignature, Job, Test, TestResult

IN_CHUNK = 10_000  # values per IN (...) lookup (SQLite allows 32766 variables)
ROW_CHUNK = 50_000  # rows per executemany: bounded memory, few round trips


def _insert_ignore(
    session: Session, table_name: str, rows: list[dict[str, object]], keys: list[str]
) -> None:
    """Insert rows whose unique key is new; leave existing ones alone."""
    if not rows:
        return
    table = Base.metadata.tables[table_name]
    dialect = session.get_bind().dialect.name
    module = {"sqlite": sqlite, "postgresql": postgresql}.get(dialect)
    for start in range(0, len(rows), ROW_CHUNK):
        chunk = rows[start : start + ROW_CHUNK]
        if module is not None:
            statement = module.insert(table).on_conflict_do_nothing(index_elements=keys)
            session.execute(statement, chunk)
        else:  # other databases: one by one, tolerating duplicates
            for row in chunk:
                try:
                    with session.begin_nested():
                        session.execute(insert(table), [row])
                except IntegrityError:
                    pass


RESULT_COLUMNS = (
    "build_id",
    "test_id",
    "status",
    "duration",
    "failure_text",
    "infrastructure",
    "signature_id",
)


def _executemany(
    session: Session, table: str, columns: tuple[str, ...], rows: Sequence[tuple[object, ...]]
) -> None:
    """The DB-API's executemany on plain tuples: a million results is the normal
    case, and SQLAlchemy's per-row parameter processing would double the cost."""
    connection = session.connection()
    style = connection.dialect.paramstyle
    marks = ", ".join("?" if style == "qmark" else "%s" for _ in columns)
    statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
    for start in range(0, len(rows), ROW_CHUNK):
        connection.exec_driver_sql(statement, rows[start : start + ROW_CHUNK])


def _ids(
    session: Session,
    column: InstrumentedAttribute[int],
    key_column: InstrumentedAttribute[str],
    values: list[str],
) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(values), IN_CHUNK):
        chunk = values[start : start + IN_CHUNK]
        for key, ident in session.execute(select(key_column, column).where(key_column.in_(chunk))):
            found[key] = ident
    return found


def record_build(store: Store, build: ParsedBuild) -> bool:
    """Store `build` unless its uuid is already there. True if it was new."""
    try:
        with store.transaction() as session:
            if session.scalar(select(Build.id).where(Build.uuid == build.uuid)) is not None:
                return False
            _insert_ignore(session, Job.__tablename__, [{"name": build.job}], ["name"])
            job_id = session.scalar(select(Job.id).where(Job.name == build.job))

            # A test reported twice in one build (a retried test) keeps its last result.
            results = list({result.test_id: result for result in build.results}.values())
            test_names = sorted(result.test_id for result in results)
            _insert_ignore(
                session, Test.__tablename__, [{"test_id": name} for name in test_names], ["test_id"]
            )
            test_ids = _ids(session, Test.id, Test.test_id, test_names)

            signatures: dict[str, str] = {}  # digest -> normalized
            result_digest: list[str | None] = []
            for result in results:
                if result.status in (FAIL, UXSUCCESS) and result.failure_text:
                    text = cause(result.failure_text)
                    key = digest(text)
                    signatures[key] = text
                    result_digest.append(key)
                else:
                    result_digest.append(None)
            _insert_ignore(
                session,
                FailureSignature.__tablename__,
                [{"digest": key, "normalized": text} for key, text in signatures.items()],
                ["digest"],
            )
            signature_ids = _ids(
                session, FailureSignature.id, FailureSignature.digest, list(signatures)
            )

            row = Build(
                uuid=build.uuid,
                job_id=job_id,
                pipeline=build.pipeline,
                project=build.project,
                change=build.change,
                patchset=build.patchset,
                ref=build.ref,
                branch=build.branch,
                result=build.result or build.derive_result(),
                voting=build.voting,
                start_time=build.start_time,
                end_time=build.end_time,
                duration=build.duration,
                log_url=build.log_url,
                node=build.node,
                provider=build.provider,
                source=build.source,
                ingested_at=datetime.now(UTC),
            )
            session.add(row)
            session.flush()
            rows = [
                (
                    row.id,
                    test_ids[result.test_id],
                    result.status,
                    result.duration,
                    result.failure_text,
                    result.infrastructure,
                    signature_ids.get(key) if key else None,
                )
                for result, key in zip(results, result_digest, strict=True)
            ]
            _executemany(session, TestResult.__tablename__, RESULT_COLUMNS, rows)
    except IntegrityError:
        # A concurrent writer stored the same build uuid first: nothing to do.
        with store.session() as session:
            if session.scalar(select(Build.id).where(Build.uuid == build.uuid)) is not None:
                return False
        raise
    return True
