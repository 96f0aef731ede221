"""Storing one build: atomic (one transaction) and idempotent (a build uuid
already in the store changes nothing), safe with concurrent writers (unique
keys plus INSERT ... ON CONFLICT DO NOTHING for shared rows)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from container_ci.stability.ingest.model import FAIL, UXSUCCESS, ParsedBuild
from container_ci.stability.models import Build, FailureSignature, Job, Test, TestResult
from container_ci.stability.signatures import digest, normalize
from container_ci.stability.store import Store

CHUNK = 500  # bound on parameters per statement (SQLite allows 32766)


def _insert_ignore(session: Session, table, rows: list[dict], keys: list[str]) -> None:
    """Insert rows whose unique key is new; leave existing ones alone."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    module = {"sqlite": sqlite, "postgresql": postgresql}.get(dialect)
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
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


def _ids(session: Session, column, key_column, values: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(values), CHUNK):
        chunk = values[start : start + CHUNK]
        for key, ident in session.execute(select(key_column, column).where(key_column.in_(chunk))):
            found[key] = ident
    return found


def record_build(store: Store, build: ParsedBuild) -> bool:
    """Store `build` unless its uuid is already there. True if it was new."""
    try:
        with store.transaction() as session:
            if session.scalar(select(Build.id).where(Build.uuid == build.uuid)) is not None:
                return False
            _insert_ignore(session, Job.__table__, [{"name": build.job}], ["name"])
            job_id = session.scalar(select(Job.id).where(Job.name == build.job))

            # A test reported twice in one build (a retried test) keeps its last result.
            results = list({result.test_id: result for result in build.results}.values())
            test_names = sorted(result.test_id for result in results)
            _insert_ignore(
                session, Test.__table__, [{"test_id": name} for name in test_names], ["test_id"]
            )
            test_ids = _ids(session, Test.id, Test.test_id, test_names)

            signatures: dict[str, str] = {}  # digest -> normalized
            result_digest: list[str | None] = []
            for result in results:
                if result.status in (FAIL, UXSUCCESS) and result.failure_text:
                    text = normalize(result.failure_text)
                    key = digest(text)
                    signatures[key] = text
                    result_digest.append(key)
                else:
                    result_digest.append(None)
            _insert_ignore(
                session,
                FailureSignature.__table__,
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
                {
                    "build_id": row.id,
                    "test_id": test_ids[result.test_id],
                    "status": result.status,
                    "duration": result.duration,
                    "failure_text": result.failure_text,
                    "infrastructure": result.infrastructure,
                    "signature_id": signature_ids.get(key) if key else None,
                }
                for result, key in zip(results, result_digest, strict=True)
            ]
            for start in range(0, len(rows), CHUNK * 10):
                session.execute(insert(TestResult), rows[start : start + CHUNK * 10])
    except IntegrityError:
        # A concurrent writer stored the same build uuid first: nothing to do.
        with store.session() as session:
            if session.scalar(select(Build.id).where(Build.uuid == build.uuid)) is not None:
                return False
        raise
    return True
