"""The HTML rotation's carry-over: the files a poll's budget cut off, per target.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

Until 0005 the carry-over lived in the daemon's memory, so a restart began a
site's rotation again from its own order. ``carry_over`` keeps one row per
target (a JSON list of the carried files' URLs and provenance), replaced after
every poll of a plain site.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Create ``carry_over``."""
    op.create_table(
        "carry_over",
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("entries", _JSON, nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("target", name=op.f("pk_carry_over")),
    )


def downgrade() -> None:
    """Drop it again."""
    op.drop_table("carry_over")
