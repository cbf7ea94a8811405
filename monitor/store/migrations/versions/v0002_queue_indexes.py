"""Indexes for the dispatcher's queue and the open-findings gauge.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

The outbox indexes are partial (undelivered rows only), so they stay small
however long the delivery history grows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_PENDING = sa.text("delivered_at IS NULL")


def upgrade() -> None:
    """Add the queue, due-time and status indexes."""
    op.create_index(
        op.f("ix_outbox_queue"),
        "outbox",
        ["notifier", "finding_id", "id"],
        sqlite_where=_PENDING,
        postgresql_where=_PENDING,
    )
    op.create_index(
        op.f("ix_outbox_due"),
        "outbox",
        ["next_attempt_at"],
        sqlite_where=_PENDING,
        postgresql_where=_PENDING,
    )
    op.create_index(op.f("ix_findings_status_target"), "findings", ["status", "target"])


def downgrade() -> None:
    """Drop them again."""
    op.drop_index(op.f("ix_findings_status_target"), table_name="findings")
    op.drop_index(op.f("ix_outbox_due"), table_name="outbox")
    op.drop_index(op.f("ix_outbox_queue"), table_name="outbox")
