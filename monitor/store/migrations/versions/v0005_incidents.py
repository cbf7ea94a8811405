"""Incidents: one per published file; the outbox queues incident events, and parks refusals.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04

Until 0004 every finding was its own alert (PagerDuty ``dedup_key`` = finding key).
This revision adds ``incidents`` (one per resource that has findings) and
``incident_events``, and rebuilds ``outbox`` around incidents (``incident_id``
instead of ``finding_id``, plus ``parked_at``). Rows already queued are kept, in
order, under their file's incident, with negative sequences so they cannot
collide with the incident's own. For every finding that was open and announced,
each notifier that heard it open gets a last per-finding ``resolved`` event
(under the finding key it knows), so no per-finding page stays open forever; the
daemon's start-up pass (``Store.reapply``) then opens one incident per file.

Rebuilding the table (copy, drop, create, copy back) rather than altering it in
place works the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

if TYPE_CHECKING:
    from sqlalchemy.schema import SchemaItem

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_PENDING = sa.text("delivered_at IS NULL AND parked_at IS NULL")
_OLD_PENDING = sa.text("delivered_at IS NULL")
_SEVERITIES = {1: "low", 2: "medium", 3: "high", 4: "critical"}
_SUPERSEDED = "superseded: leakmon now sends one incident per file (upgrade to schema 0005)"


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


def _key(target: str, url: str) -> str:
    # The same as monitor.store.incidents.incident_key, spelled out for this revision.
    blob = json.dumps(["incident", target, url], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _outbox(pending: sa.TextClause, ref: str) -> None:
    _table(
        "outbox",
        sa.Column("notifier", sa.String(100), nullable=False),
        _ref("outbox", ref, "incidents" if ref == "incident_id" else "findings"),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("payload", _JSON, nullable=False),
        _ts("created_at"),
        _ts("next_attempt_at"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _ts("last_attempt_at", nullable=True),
        sa.Column("last_error", sa.String(500)),
        _ts("delivered_at", nullable=True),
        *((_ts("parked_at", nullable=True),) if ref == "incident_id" else ()),
        sa.UniqueConstraint(
            "notifier", ref, "sequence", name=op.f(f"uq_outbox_notifier_{ref}_sequence")
        ),
    )
    op.create_index(
        op.f("ix_outbox_queue"),
        "outbox",
        ["notifier", ref, "id"],
        sqlite_where=pending,
        postgresql_where=pending,
    )
    op.create_index(
        op.f("ix_outbox_due"),
        "outbox",
        ["next_attempt_at"],
        sqlite_where=pending,
        postgresql_where=pending,
    )


def _drop_outbox() -> None:
    op.drop_index(op.f("ix_outbox_due"), table_name="outbox")
    op.drop_index(op.f("ix_outbox_queue"), table_name="outbox")
    op.drop_table("outbox")


def _bump_id_sequence(bind: sa.Connection) -> None:
    if bind.dialect.name == "postgresql":
        bind.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence('outbox', 'id'), "
                "COALESCE((SELECT MAX(id) FROM outbox), 0) + 1, false)"
            )
        )


def upgrade() -> None:
    """Add incidents and their events; rebuild the outbox around incidents."""
    _table(
        "incidents",
        sa.Column("key", sa.String(64), nullable=False),
        _ref("incidents", "resource_id", "resources"),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("severity", sa.SmallInteger(), nullable=False),
        sa.Column("alerted_severity", sa.SmallInteger()),
        sa.Column("notified", _JSON, nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        _ts("opened_at"),
        _ts("updated_at"),
        _ts("resolved_at", nullable=True),
        sa.UniqueConstraint("key", name=op.f("uq_incidents_key")),
        sa.UniqueConstraint("resource_id", name=op.f("uq_incidents_resource_id")),
        sa.CheckConstraint("status IN ('open', 'resolved')", name=op.f("ck_incidents_status")),
    )
    op.create_index(op.f("ix_incidents_status_target"), "incidents", ["status", "target"])
    _table(
        "incident_events",
        _ref("incident_events", "incident_id", "incidents"),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(10), nullable=False),
        sa.Column("severity", sa.SmallInteger(), nullable=False),
        sa.Column("open_findings", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recipients", _JSON, nullable=False),
        _ts("occurred_at"),
        sa.UniqueConstraint(
            "incident_id", "sequence", name=op.f("uq_incident_events_incident_id_sequence")
        ),
        sa.CheckConstraint(
            "event IN ('opened', 'updated', 'resolved')", name=op.f("ck_incident_events_event")
        ),
    )

    bind = op.get_bind()
    now = dt.datetime.now(dt.UTC)
    incidents = sa.table(
        "incidents",
        *(
            sa.column(name)
            for name in (
                "key",
                "resource_id",
                "target",
                "status",
                "severity",
                "alerted_severity",
                "sequence",
                "opened_at",
                "updated_at",
                "resolved_at",
            )
        ),
        sa.column("notified", _JSON),
    )
    files = bind.execute(
        sa.text(
            "SELECT r.id, r.url, r.target, MAX(f.severity) AS severity, "
            "MIN(f.opened_at) AS opened_at FROM resources r "
            "JOIN findings f ON f.resource_id = r.id GROUP BY r.id, r.url, r.target"
        )
    ).all()
    for resource_id, url, target, severity, opened_at in files:
        # Closed for now: the start-up pass opens it with every open finding.
        bind.execute(
            incidents.insert().values(
                key=_key(target, url),
                resource_id=resource_id,
                target=target,
                status="resolved",
                severity=severity,
                alerted_severity=None,
                notified=[],
                sequence=0,
                opened_at=opened_at or now,
                updated_at=now,
                resolved_at=None,
            )
        )

    op.execute("CREATE TABLE outbox_per_finding AS SELECT * FROM outbox")
    _drop_outbox()
    _outbox(_PENDING, "incident_id")
    # Rows queued per finding stay queued (and delivered history stays), in id order,
    # under their file's incident; negative sequences keep them apart from its own.
    op.execute(
        "INSERT INTO outbox (id, notifier, incident_id, sequence, payload, created_at, "
        "next_attempt_at, attempts, last_attempt_at, last_error, delivered_at, parked_at) "
        "SELECT o.id, o.notifier, i.id, -o.id, o.payload, o.created_at, o.next_attempt_at, "
        "o.attempts, o.last_attempt_at, o.last_error, o.delivered_at, NULL "
        "FROM outbox_per_finding o JOIN findings f ON f.id = o.finding_id "
        "JOIN incidents i ON i.resource_id = f.resource_id"
    )
    _bump_id_sequence(bind)  # ids were copied: new rows must start after them
    _close_per_finding_pages(bind, now)
    op.execute("DROP TABLE outbox_per_finding")


def _close_per_finding_pages(bind: sa.Connection, now: dt.datetime) -> None:
    """Queue a last per-finding ``resolved`` for each announced open finding, per notifier."""
    outbox = sa.table(
        "outbox",
        *(
            sa.column(name)
            for name in (
                "notifier",
                "incident_id",
                "sequence",
                "created_at",
                "next_attempt_at",
                "attempts",
            )
        ),
        sa.column("payload", _JSON),
    )
    floor = bind.execute(
        sa.text("SELECT COALESCE(MAX(id), 0) FROM outbox_per_finding")
    ).scalar_one()
    heard = bind.execute(
        sa.text(
            "SELECT f.id, f.key, f.target, r.url, r.portal, r.dataset, f.table_name, "
            "f.column_name, f.columns, f.entity, f.alerted_severity, f.matched, f.evidence, "
            "f.sequence, i.id AS incident_id, o.notifier "
            "FROM findings f JOIN resources r ON r.id = f.resource_id "
            "JOIN incidents i ON i.resource_id = r.id "
            "JOIN outbox_per_finding o ON o.finding_id = f.id AND o.created_at >= f.opened_at "
            "WHERE f.status = 'open' AND f.alerted_severity IS NOT NULL "
            "GROUP BY f.id, f.key, f.target, r.url, r.portal, r.dataset, f.table_name, "
            "f.column_name, f.columns, f.entity, f.alerted_severity, f.matched, f.evidence, "
            "f.sequence, i.id, o.notifier ORDER BY f.id, o.notifier"
        )
    ).mappings()
    for n, row in enumerate(heard, start=1):
        columns = _json(row["columns"])
        payload: dict[str, Any] = {
            "event": "resolved",
            "key": row["key"],
            "severity": _SEVERITIES[int(row["alerted_severity"])],
            "target": row["target"],
            "resource_url": row["url"],
            "table": row["table_name"],
            "columns": [row["column_name"]] if row["column_name"] is not None else columns,
            "entities": [row["entity"]],
            "evidence": _json(row["evidence"]),
            "reason": _SUPERSEDED,
            "matched": row["matched"],
            "occurred_at": now.isoformat(),
            "sequence": int(row["sequence"]) + 1,
            "link": None,
            "portal": row["portal"],
            "dataset": row["dataset"],
        }
        bind.execute(
            outbox.insert().values(
                notifier=row["notifier"],
                incident_id=row["incident_id"],
                sequence=-(floor + n),
                payload=payload,
                created_at=now,
                next_attempt_at=now,
                attempts=0,
            )
        )


def _json(value: object) -> list[str]:
    # JSON columns come back parsed on PostgreSQL (JSONB) and as text on SQLite here.
    loaded: Any = json.loads(value) if isinstance(value, str) else value  # Any: parsed JSON
    return [str(v) for v in loaded or []]


def downgrade() -> None:
    """Drop incidents; rebuild the per-finding outbox empty (incident events cannot map back)."""
    _drop_outbox()
    _outbox(_OLD_PENDING, "finding_id")
    op.drop_table("incident_events")
    op.drop_index(op.f("ix_incidents_status_target"), table_name="incidents")
    op.drop_table("incidents")
