"""The stability store's tables.

Builds carry Zuul's own fields (uuid, job, pipeline, project, change,
patchset, ref, branch, result, voting, times, log url, node) so Zuul history
and local runs live side by side. Unique keys make every ingest idempotent and
safe with concurrent writers: a build is keyed by its uuid, a test by its id,
a result by (build, test), a failure signature by its hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)

    builds: Mapped[list[Build]] = relationship(back_populates="job")


class Build(Base):
    __tablename__ = "builds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(128), unique=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), index=True)
    pipeline: Mapped[str | None] = mapped_column(String(255))
    project: Mapped[str | None] = mapped_column(String(255))
    change: Mapped[int | None] = mapped_column(Integer)
    patchset: Mapped[str | None] = mapped_column(String(64))
    ref: Mapped[str | None] = mapped_column(String(255))
    branch: Mapped[str | None] = mapped_column(String(255))
    result: Mapped[str | None] = mapped_column(String(64), index=True)
    voting: Mapped[bool | None] = mapped_column(Boolean)
    start_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    end_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration: Mapped[float | None] = mapped_column(Float)
    log_url: Mapped[str | None] = mapped_column(Text)
    node: Mapped[str | None] = mapped_column(String(255))
    provider: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(32))  # container-ci, subunit, stestr, junit, zuul
    ingested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    job: Mapped[Job] = relationship(back_populates="builds")
    results: Mapped[list[TestResult]] = relationship(back_populates="build")


class Test(Base):
    __tablename__ = "tests"
    __test__ = False  # a table, not a pytest test class

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    test_id: Mapped[str] = mapped_column(String(1024), unique=True)


class FailureSignature(Base):
    __tablename__ = "failure_signatures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    normalized: Mapped[str] = mapped_column(Text)


class TestResult(Base):
    __tablename__ = "test_results"
    __test__ = False
    __table_args__ = (
        UniqueConstraint("build_id", "test_id", name="uq_test_results_build_test"),
        Index("ix_test_results_test_status", "test_id", "status"),
        Index("ix_test_results_signature_id", "signature_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    build_id: Mapped[int] = mapped_column(ForeignKey("builds.id", ondelete="CASCADE"))
    test_id: Mapped[int] = mapped_column(ForeignKey("tests.id"))
    status: Mapped[str] = mapped_column(String(32))  # success, fail, skip, xfail, uxsuccess
    duration: Mapped[float | None] = mapped_column(Float)
    failure_text: Mapped[str | None] = mapped_column(Text)  # a skip's: its reason
    infrastructure: Mapped[bool] = mapped_column(Boolean, default=False)
    signature_id: Mapped[int | None] = mapped_column(ForeignKey("failure_signatures.id"))

    build: Mapped[Build] = relationship(back_populates="results")
    test: Mapped[Test] = relationship()
    signature: Mapped[FailureSignature | None] = relationship()
