"""The store's tables as SQLAlchemy ORM classes (the migrations must produce exactly this).

No column ever holds a raw personal value: findings keep masked samples and a
keyed fingerprint, schemas keep column names and kinds, scans keep counts.
Column names avoid SQL keywords (``table_name``, not ``table``).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from monitor.store.columns import JSONDocument, UTCDateTime

__all__ = [
    "NAMING",
    "AuditRow",
    "Base",
    "BaselineHistoryRow",
    "BaselineRow",
    "EventRow",
    "FindingRow",
    "IncidentEventRow",
    "IncidentRow",
    "ObservedSchemaRow",
    "OutboxRow",
    "PollRow",
    "ResourceRow",
    "ScanRow",
]

logger = logging.getLogger(__name__)

#: Deterministic constraint names, so migrations can name what they alter on every backend.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: 64-bit ids (the outbox and scan history grow for years); SQLite needs INTEGER for rowid ids.
_ID = BigInteger().with_variant(Integer(), "sqlite")

#: Partial-index condition for outbox rows still waiting for delivery (not parked).
_PENDING = text("delivered_at IS NULL AND parked_at IS NULL")


class Base(DeclarativeBase):
    """Declarative base carrying the naming convention."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime()}  # noqa: RUF012  (SQLAlchemy's API)


class ResourceRow(Base):
    """One published file, by URL, with its HTTP validators and lifecycle times."""

    __tablename__ = "resources"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    target: Mapped[str] = mapped_column(String(200), index=True)
    portal: Mapped[str] = mapped_column(String(50))
    dataset: Mapped[str | None] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(BigInteger)
    first_seen: Mapped[dt.datetime]
    last_seen: Mapped[dt.datetime]
    last_changed: Mapped[dt.datetime | None]
    last_scanned: Mapped[dt.datetime | None]
    gone_at: Mapped[dt.datetime | None]


class ScanRow(Base):
    """One scan of one version of a file: counts and outcome, never values."""

    __tablename__ = "scans"
    __table_args__ = (Index(None, "resource_id", "scanned_at"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    resource_id: Mapped[int] = mapped_column(_ID, ForeignKey("resources.id"))
    scanned_at: Mapped[dt.datetime]
    sha256: Mapped[str | None] = mapped_column(String(64))
    report_kind: Mapped[str] = mapped_column(String(50))
    row_count: Mapped[int] = mapped_column(BigInteger)
    table_count: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    seconds: Mapped[float] = mapped_column(Float)


class FindingRow(Base):
    """The current state of one finding, deduplicated by resource + column + entity.

    ``sequence`` is the number of the finding's latest event; ``alerted_severity``
    is the highest severity announced since the finding last opened, so a finding
    that wobbles between two severities pages once, and its resolution reaches
    every notifier that heard it open.
    """

    __tablename__ = "findings"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'resolved', 'allowed')", name="status"),
        CheckConstraint("severity BETWEEN 1 AND 4", name="severity"),
        Index(None, "status", "target"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    resource_id: Mapped[int] = mapped_column(_ID, ForeignKey("resources.id"), index=True)
    target: Mapped[str] = mapped_column(String(200))
    table_name: Mapped[str | None] = mapped_column(Text)
    column_name: Mapped[str | None] = mapped_column(Text)
    columns: Mapped[list[str]] = mapped_column(JSONDocument)
    entity: Mapped[str] = mapped_column(String(40))
    severity: Mapped[int] = mapped_column(SmallInteger)
    alerted_severity: Mapped[int | None] = mapped_column(SmallInteger)
    score: Mapped[float] = mapped_column(Float)
    matched: Mapped[int] = mapped_column(BigInteger)
    scanned: Mapped[int] = mapped_column(BigInteger)
    evidence: Mapped[list[str]] = mapped_column(JSONDocument)
    reason: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(10))
    allow_reason: Mapped[str | None] = mapped_column(Text)
    sequence: Mapped[int] = mapped_column(Integer)
    opened_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]
    resolved_at: Mapped[dt.datetime | None]


class EventRow(Base):
    """One transition of one finding; ``alert`` says what on-call was told, if anything."""

    __tablename__ = "finding_events"
    __table_args__ = (
        UniqueConstraint("finding_id", "sequence"),
        CheckConstraint("event IN ('opened', 'resolved', 'allowed')", name="event"),
        CheckConstraint("alert IS NULL OR alert IN ('opened', 'resolved')", name="alert"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    finding_id: Mapped[int] = mapped_column(_ID, ForeignKey("findings.id"))
    sequence: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(10))
    alert: Mapped[str | None] = mapped_column(String(10))
    severity: Mapped[int] = mapped_column(SmallInteger)
    matched: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[dt.datetime]


class IncidentRow(Base):
    """One incident per published file (target + resource): what on-call is told about.

    It is open while any finding of the file is open. ``severity`` is the highest
    severity among the open findings; ``alerted_severity`` the highest announced
    since the incident opened (notifiers are chosen by it, so a severity that falls
    does not close a page a notifier opened); ``notified`` the notifiers that heard
    it open and have not heard it resolve; ``sequence`` the number of its latest event.
    """

    __tablename__ = "incidents"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'resolved')", name="status"),
        Index(None, "status", "target"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    resource_id: Mapped[int] = mapped_column(_ID, ForeignKey("resources.id"), unique=True)
    target: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10))
    severity: Mapped[int] = mapped_column(SmallInteger)
    alerted_severity: Mapped[int | None] = mapped_column(SmallInteger)
    notified: Mapped[list[str]] = mapped_column(JSONDocument)
    sequence: Mapped[int] = mapped_column(Integer)
    opened_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    resolved_at: Mapped[dt.datetime | None]


class IncidentEventRow(Base):
    """One announced event of an incident: what was said, to whom, and why."""

    __tablename__ = "incident_events"
    __table_args__ = (
        UniqueConstraint("incident_id", "sequence"),
        CheckConstraint("event IN ('opened', 'updated', 'resolved')", name="event"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    incident_id: Mapped[int] = mapped_column(_ID, ForeignKey("incidents.id"))
    sequence: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(10))
    severity: Mapped[int] = mapped_column(SmallInteger)
    open_findings: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    recipients: Mapped[list[str]] = mapped_column(JSONDocument)
    occurred_at: Mapped[dt.datetime]


class OutboxRow(Base):
    """One incident event waiting for (or done with) delivery to one notifier.

    Rows are never deleted by delivery failures; the id orders the events of an
    incident, and the unique constraint stops an event being queued twice. A row
    the receiver refused for good is ``parked``: kept, counted, no longer in the
    way of the incident's later events. Rows carried over from the per-finding
    outbox of schema 0004 have negative sequences.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("notifier", "incident_id", "sequence"),
        Index(
            "ix_outbox_queue",
            "notifier",
            "incident_id",
            "id",
            sqlite_where=_PENDING,
            postgresql_where=_PENDING,
        ),
        Index(
            "ix_outbox_due",
            "next_attempt_at",
            sqlite_where=_PENDING,
            postgresql_where=_PENDING,
        ),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    notifier: Mapped[str] = mapped_column(String(100))
    incident_id: Mapped[int] = mapped_column(_ID, ForeignKey("incidents.id"))
    sequence: Mapped[int] = mapped_column(Integer)
    # Any: the alert's JSON body as Alert.to_dict() returns it.
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[dt.datetime]
    next_attempt_at: Mapped[dt.datetime]
    attempts: Mapped[int] = mapped_column(Integer)
    last_attempt_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[dt.datetime | None]
    parked_at: Mapped[dt.datetime | None]


class ObservedSchemaRow(Base):
    """The latest schema seen for one table of one file (candidate baseline)."""

    __tablename__ = "observed_schemas"
    __table_args__ = (UniqueConstraint("resource_id", "table_key"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    resource_id: Mapped[int] = mapped_column(_ID, ForeignKey("resources.id"))
    table_key: Mapped[str] = mapped_column(String(64))
    table_name: Mapped[str | None] = mapped_column(Text)
    # Any: TableSchema.to_dict() output.
    schema: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    observed_at: Mapped[dt.datetime]


class BaselineRow(Base):
    """The accepted schema of one table of one file; drift is measured against it."""

    __tablename__ = "baselines"
    __table_args__ = (UniqueConstraint("resource_id", "table_key"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    resource_id: Mapped[int] = mapped_column(_ID, ForeignKey("resources.id"))
    table_key: Mapped[str] = mapped_column(String(64))
    table_name: Mapped[str | None] = mapped_column(Text)
    # Any: TableSchema.to_dict() output.
    schema: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    accepted_at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)


class BaselineHistoryRow(Base):
    """Every baseline ever accepted, who accepted it and why (append-only)."""

    __tablename__ = "baseline_history"
    __table_args__ = (Index(None, "resource_id", "table_key", "accepted_at"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    resource_id: Mapped[int] = mapped_column(_ID, ForeignKey("resources.id"))
    table_key: Mapped[str] = mapped_column(String(64))
    table_name: Mapped[str | None] = mapped_column(Text)
    # Any: TableSchema.to_dict() output.
    schema: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    accepted_at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)


class AuditRow(Base):
    """Append-only log of decisions: allow-listed findings, accepted baselines."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    # Any: free-form JSON detail, never a raw value.
    detail: Mapped[dict[str, Any]] = mapped_column(JSONDocument)


class PollRow(Base):
    """Cluster mode: one row per target, the lease that gives its next poll to one replica.

    A replica claims a due row (``SELECT ... FOR UPDATE SKIP LOCKED``), writes its name
    and a lease end, renews the lease while it polls, and clears both when the poll
    ends, setting the next due time. A replica that dies stops renewing; once its lease
    ends another replica claims the row. The catalogue cursor lives here too, so an
    incremental walk goes on where it stopped whoever polls next, and the last poll's
    coverage. One process uses the row for the cursor and coverage only (no lease), so
    both survive a restart.
    """

    __tablename__ = "polls"

    target: Mapped[str] = mapped_column(String(200), primary_key=True)
    next_due_at: Mapped[dt.datetime] = mapped_column(index=True)
    owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[dt.datetime | None]
    cursor: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    # Any: the last poll's ``Coverage.to_dict()`` (counts and notes, never a value).
    coverage: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
