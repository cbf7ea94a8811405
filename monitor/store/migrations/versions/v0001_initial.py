"""Initial schema: resources, scans, findings and their events, outbox, baselines, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Types and constraint names are spelled out here rather than taken from
``schema.py``: a migration must keep describing the schema of its day after the
ORM moves on. ``op.f`` marks a name as final, so no naming convention rewrites it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

if TYPE_CHECKING:
    import datetime as dt

    from sqlalchemy.schema import SchemaItem

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _ts(name: str, *, nullable: bool = False) -> sa.Column[dt.datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _ref(table: str, name: str, parent: str) -> sa.Column[int]:
    fk = sa.ForeignKey(f"{parent}.id", name=op.f(f"fk_{table}_{name}_{parent}"))
    return sa.Column(name, _ID, fk, nullable=False)


def _table(name: str, *items: SchemaItem) -> None:
    op.create_table(
        name,
        sa.Column("id", _ID, primary_key=True),
        *items,
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
    )


def upgrade() -> None:
    """Create every table (the queue and gauge indexes come in 0002)."""
    _table(
        "resources",
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("portal", sa.String(50), nullable=False),
        sa.Column("dataset", sa.Text()),
        sa.Column("etag", sa.Text()),
        sa.Column("last_modified", sa.Text()),
        sa.Column("sha256", sa.String(64)),
        sa.Column("size", sa.BigInteger()),
        _ts("first_seen"),
        _ts("last_seen"),
        _ts("last_changed", nullable=True),
        _ts("last_scanned", nullable=True),
        _ts("gone_at", nullable=True),
        sa.UniqueConstraint("url", name=op.f("uq_resources_url")),
    )
    op.create_index(op.f("ix_resources_target"), "resources", ["target"])

    _table(
        "scans",
        _ref("scans", "resource_id", "resources"),
        _ts("scanned_at"),
        sa.Column("sha256", sa.String(64)),
        sa.Column("report_kind", sa.String(50), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.Column("table_count", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("seconds", sa.Float(), nullable=False),
    )
    op.create_index(op.f("ix_scans_resource_id_scanned_at"), "scans", ["resource_id", "scanned_at"])

    _table(
        "findings",
        sa.Column("key", sa.String(64), nullable=False),
        _ref("findings", "resource_id", "resources"),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("table_name", sa.Text()),
        sa.Column("column_name", sa.Text()),
        sa.Column("columns", _JSON, nullable=False),
        sa.Column("entity", sa.String(40), nullable=False),
        sa.Column("severity", sa.SmallInteger(), nullable=False),
        sa.Column("alerted_severity", sa.SmallInteger()),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("matched", sa.BigInteger(), nullable=False),
        sa.Column("scanned", sa.BigInteger(), nullable=False),
        sa.Column("evidence", _JSON, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(128), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("allow_reason", sa.Text()),
        sa.Column("sequence", sa.Integer(), nullable=False),
        _ts("opened_at"),
        _ts("last_seen_at"),
        _ts("resolved_at", nullable=True),
        sa.UniqueConstraint("key", name=op.f("uq_findings_key")),
        sa.CheckConstraint(
            "status IN ('open', 'resolved', 'allowed')", name=op.f("ck_findings_status")
        ),
        sa.CheckConstraint("severity BETWEEN 1 AND 4", name=op.f("ck_findings_severity")),
    )
    op.create_index(op.f("ix_findings_resource_id"), "findings", ["resource_id"])

    _table(
        "finding_events",
        _ref("finding_events", "finding_id", "findings"),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(10), nullable=False),
        sa.Column("alert", sa.String(10)),
        sa.Column("severity", sa.SmallInteger(), nullable=False),
        sa.Column("matched", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _ts("occurred_at"),
        sa.UniqueConstraint(
            "finding_id", "sequence", name=op.f("uq_finding_events_finding_id_sequence")
        ),
        sa.CheckConstraint(
            "event IN ('opened', 'resolved', 'allowed')", name=op.f("ck_finding_events_event")
        ),
        sa.CheckConstraint(
            "alert IS NULL OR alert IN ('opened', 'resolved')",
            name=op.f("ck_finding_events_alert"),
        ),
    )

    _table(
        "outbox",
        sa.Column("notifier", sa.String(100), nullable=False),
        _ref("outbox", "finding_id", "findings"),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("payload", _JSON, nullable=False),
        _ts("created_at"),
        _ts("next_attempt_at"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _ts("last_attempt_at", nullable=True),
        sa.Column("last_error", sa.String(500)),
        _ts("delivered_at", nullable=True),
        sa.UniqueConstraint(
            "notifier",
            "finding_id",
            "sequence",
            name=op.f("uq_outbox_notifier_finding_id_sequence"),
        ),
    )

    for name in ("observed_schemas", "baselines"):
        stamp = "observed_at" if name == "observed_schemas" else "accepted_at"
        decided = (
            ()
            if name == "observed_schemas"
            else (
                sa.Column("actor", sa.String(200), nullable=False),
                sa.Column("reason", sa.Text(), nullable=False),
            )
        )
        _table(
            name,
            _ref(name, "resource_id", "resources"),
            sa.Column("table_key", sa.String(64), nullable=False),
            sa.Column("table_name", sa.Text()),
            sa.Column("schema", _JSON, nullable=False),
            _ts(stamp),
            *decided,
            sa.UniqueConstraint(
                "resource_id", "table_key", name=op.f(f"uq_{name}_resource_id_table_key")
            ),
        )

    _table(
        "baseline_history",
        _ref("baseline_history", "resource_id", "resources"),
        sa.Column("table_key", sa.String(64), nullable=False),
        sa.Column("table_name", sa.Text()),
        sa.Column("schema", _JSON, nullable=False),
        _ts("accepted_at"),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
    )
    op.create_index(
        op.f("ix_baseline_history_resource_id_table_key_accepted_at"),
        "baseline_history",
        ["resource_id", "table_key", "accepted_at"],
    )

    _table(
        "audit",
        _ts("at"),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("detail", _JSON, nullable=False),
    )
    op.create_index(op.f("ix_audit_at"), "audit", ["at"])


def downgrade() -> None:
    """Drop every table, children first."""
    for name in (
        "audit",
        "baseline_history",
        "baselines",
        "observed_schemas",
        "outbox",
        "finding_events",
        "findings",
        "scans",
        "resources",
    ):
        op.drop_table(name)
