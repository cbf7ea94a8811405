"""Each target's last poll coverage, kept with its walk cursor, in one process too.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Add ``polls.coverage``."""
    with op.batch_alter_table("polls") as batch:
        batch.add_column(sa.Column("coverage", _JSON, nullable=True))


def downgrade() -> None:
    """Drop it again."""
    with op.batch_alter_table("polls") as batch:
        batch.drop_column("coverage")
