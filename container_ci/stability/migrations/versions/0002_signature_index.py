"""Index test results by failure signature (report clusters look them up).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_test_results_signature_id", "test_results", ["signature_id"])


def downgrade() -> None:
    op.drop_index("ix_test_results_signature_id", table_name="test_results")
