"""Cluster mode: the poll leases that give each target's next poll to one replica.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the ``polls`` table."""
    op.create_table(
        "polls",
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("target", name=op.f("pk_polls")),
    )
    op.create_index(op.f("ix_polls_next_due_at"), "polls", ["next_due_at"])


def downgrade() -> None:
    """Drop it again."""
    op.drop_index(op.f("ix_polls_next_due_at"), table_name="polls")
    op.drop_table("polls")
