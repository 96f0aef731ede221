"""The first store: jobs, builds, tests, test results, failure signatures.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
    )
    op.create_table(
        "builds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("uuid", sa.String(128), nullable=False, unique=True),
        sa.Column("job_id", sa.Integer(), sa.ForeignKey("jobs.id"), nullable=False),
        sa.Column("pipeline", sa.String(255)),
        sa.Column("project", sa.String(255)),
        sa.Column("change", sa.Integer()),
        sa.Column("patchset", sa.String(64)),
        sa.Column("ref", sa.String(255)),
        sa.Column("branch", sa.String(255)),
        sa.Column("result", sa.String(64)),
        sa.Column("voting", sa.Boolean()),
        sa.Column("start_time", sa.DateTime(timezone=True)),
        sa.Column("end_time", sa.DateTime(timezone=True)),
        sa.Column("duration", sa.Float()),
        sa.Column("log_url", sa.Text()),
        sa.Column("node", sa.String(255)),
        sa.Column("provider", sa.String(255)),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_builds_job_id", "builds", ["job_id"])
    op.create_index("ix_builds_result", "builds", ["result"])
    op.create_index("ix_builds_start_time", "builds", ["start_time"])
    op.create_table(
        "tests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("test_id", sa.String(1024), nullable=False, unique=True),
    )
    op.create_table(
        "failure_signatures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        sa.Column("normalized", sa.Text(), nullable=False),
    )
    op.create_table(
        "test_results",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "build_id",
            sa.Integer(),
            sa.ForeignKey("builds.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("test_id", sa.Integer(), sa.ForeignKey("tests.id"), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("duration", sa.Float()),
        sa.Column("failure_text", sa.Text()),
        sa.Column("infrastructure", sa.Boolean(), nullable=False),
        sa.Column("signature_id", sa.Integer(), sa.ForeignKey("failure_signatures.id")),
        sa.UniqueConstraint("build_id", "test_id", name="uq_test_results_build_test"),
    )
    op.create_index("ix_test_results_test_status", "test_results", ["test_id", "status"])


def downgrade() -> None:
    op.drop_table("test_results")
    op.drop_table("failure_signatures")
    op.drop_table("tests")
    op.drop_table("builds")
    op.drop_table("jobs")
