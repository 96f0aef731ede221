"""Opening the store: SQLite in the data dir by default, any SQLAlchemy URL
(PostgreSQL for years of history) with `--db` or `$CONTAINER_CI_DB`.
Opening brings the schema to the newest Alembic revision, serialised so that
several processes opening a fresh store at once do not race."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from container_ci import paths, private
from container_ci.errors import BadInput, InfrastructureError, first_line

ENV_DB = "CONTAINER_CI_DB"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The newest migration's revision; a test keeps it equal to Alembic's head.
# A store already there skips Alembic entirely (importing it costs 0.25 s,
# which every `container-ci run` would pay to record its result).
SCHEMA_REVISION = "0002"


def default_url() -> str:
    return os.environ.get(ENV_DB) or f"sqlite:///{paths.data_dir() / 'stability.sqlite'}"


class Store:
    """One store, opened (and migrated) on construction; a context manager
    that releases its connections on exit: `with Store(url) as store: ...`."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_url()
        try:
            parsed = make_url(self.url)
        except ArgumentError as exc:
            raise BadInput(f"--db {self.url}: not a database URL: {exc}") from exc
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite":
            _private_sqlite_file(parsed.database)
            self.engine = create_engine(self.url, connect_args={"timeout": 60})
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin_immediate)
        else:
            self.engine = create_engine(self.url, pool_pre_ping=True)
            logging.getLogger("psycopg").addFilter(_not_the_aftermath)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._migrate()

    def current_revision(self) -> str | None:
        with self.engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()

    def _migrate(self) -> None:
        try:
            if self.current_revision() == SCHEMA_REVISION:
                return
        except OperationalError as exc:
            raise InfrastructureError(f"stability store {self.safe_url}: {exc.orig}") from exc
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self._migration_lock(), self.engine.begin() as connection:
                if self.dialect == "postgresql":
                    connection.execute(text("SELECT pg_advisory_xact_lock(71304223)"))
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except OperationalError as exc:
            raise InfrastructureError(f"stability store {self.safe_url}: {exc.orig}") from exc

    @contextlib.contextmanager
    def _migration_lock(self) -> Iterator[None]:
        name = make_url(self.url).database
        if self.dialect != "sqlite" or not name:
            yield
            return
        database = Path(name)
        database.parent.mkdir(parents=True, exist_ok=True)
        lock = os.open(f"{database}.migrate-lock", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(lock, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    @property
    def safe_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction: committed if the block finishes, rolled back
        otherwise. The database going away under it (PostgreSQL restarted,
        a full disk, a lock never released) is infrastructure: one line
        naming the store, exit 3, never a traceback."""
        try:
            with self.sessions.begin() as session:
                yield session
        except (OperationalError, InterfaceError) as exc:
            raise InfrastructureError(
                f"stability store {self.safe_url}: {first_line(exc.orig or exc)}"
            ) from exc

    def session(self) -> Session:
        return self.sessions()

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _private_sqlite_file(name: str | None) -> None:
    """The store's file, created 0600 before SQLite opens it (SQLite would
    make it 0644, and gives its -wal and -shm files the database's mode).
    One an older container-ci made 0644 is made 0600 here, once."""
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    database = Path(name)
    if not database.parent.is_dir():
        return  # SQLite says so, as it always did
    try:
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        for suffix in ("", "-wal", "-shm", ".migrate-lock"):
            private.tighten(Path(f"{database}{suffix}"), recursive=False)


def _not_the_aftermath(record: logging.LogRecord) -> bool:
    """psycopg's warning that ending a pipeline on a lost connection failed
    too: a second line after the one-line error naming the store, which
    already says the connection was lost."""
    return not str(record.msg).startswith("error ignored terminating")


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    # Our own BEGIN (below) instead of the driver's deferred one.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.close()


def _sqlite_begin_immediate(connection: Connection) -> None:
    """Take the write lock at BEGIN: two deferred writers would deadlock on upgrade."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")
