"""The durable outbox: incident events queued with the finding changes, delivered in order.

A row is written in the same transaction as the finding changes it announces,
so an alert exists exactly when its change committed. Delivery never deletes a
row: a failure only pushes ``next_attempt_at`` back. ``due`` hands out only the
oldest waiting row of each (notifier, incident), so a receiver that was down
for ten minutes then gets every event of an incident once, and in order. A row
the receiver refused for good is *parked*: kept with its error, counted, and no
longer waited for, so the incident's later events go out.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import aliased

from monitor.models import Alert, AlertFinding, Severity
from monitor.store.records import OutboxItem
from monitor.store.schema import OutboxRow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = [
    "alert_from_dict",
    "delivered",
    "depth",
    "due",
    "enqueue",
    "failed",
    "park",
    "parked",
    "prune",
]

logger = logging.getLogger(__name__)

#: Enough of a notifier's error to diagnose; the rest is noise (and could carry secrets).
_MAX_ERROR = 300


def enqueue(
    session: Session, notifier: str, incident_id: int, alert: Alert, at: dt.datetime
) -> None:
    """Queue one incident event for one notifier, due at once."""
    session.add(
        OutboxRow(
            notifier=notifier,
            incident_id=incident_id,
            sequence=alert.sequence,
            payload=alert.to_dict(),
            created_at=at,
            next_attempt_at=at,
            attempts=0,
        )
    )


def due(session: Session, now: dt.datetime, limit: int) -> list[OutboxItem]:
    """Return the rows to try now: the oldest waiting row per (notifier, incident) only.

    The oldest row is chosen among *all* waiting rows of its group, due or not,
    so a later event never overtakes an earlier one that is backing off. Parked
    rows wait for nothing and hold nothing up.
    """
    older = aliased(OutboxRow)
    head = (
        select(func.min(older.id))
        .where(
            older.notifier == OutboxRow.notifier,
            older.incident_id == OutboxRow.incident_id,
            older.delivered_at.is_(None),
            older.parked_at.is_(None),
        )
        .scalar_subquery()
    )
    stmt = (
        select(OutboxRow)
        .where(
            OutboxRow.delivered_at.is_(None),
            OutboxRow.parked_at.is_(None),
            OutboxRow.next_attempt_at <= now,
            OutboxRow.id == head,
        )
        .order_by(OutboxRow.id)
        .limit(limit)
    )
    return [_item(row) for row in session.scalars(stmt)]


def _item(row: OutboxRow) -> OutboxItem:
    return OutboxItem(
        id=row.id,
        notifier=row.notifier,
        alert=alert_from_dict(row.payload),
        attempts=row.attempts,
        created_at=row.created_at,
        last_error=row.last_error,
        parked_at=row.parked_at,
    )


def delivered(session: Session, item_id: int, at: dt.datetime) -> None:
    """Mark a row delivered, which releases the next event of its finding."""
    result = session.execute(
        update(OutboxRow)
        .where(OutboxRow.id == item_id, OutboxRow.delivered_at.is_(None))
        .values(delivered_at=at, last_attempt_at=at)
    )
    if _rowcount(result) == 0:
        logger.warning("outbox item %d was already delivered or does not exist", item_id)


def failed(
    session: Session, item_id: int, at: dt.datetime, error: str, next_attempt_at: dt.datetime
) -> None:
    """Count a failed attempt and schedule the next one; the row is kept."""
    short = error if len(error) <= _MAX_ERROR else error[: _MAX_ERROR - 1] + "…"
    # attempts + 1 in SQL, not in Python: two updates of one row never lose a count.
    result = session.execute(
        update(OutboxRow)
        .where(OutboxRow.id == item_id, OutboxRow.delivered_at.is_(None))
        .values(
            attempts=OutboxRow.attempts + 1,
            last_attempt_at=at,
            last_error=short,
            next_attempt_at=next_attempt_at,
        )
    )
    if _rowcount(result) == 0:
        logger.warning("outbox item %d was already delivered or does not exist", item_id)


def park(session: Session, item_id: int, at: dt.datetime, error: str) -> None:
    """Give up delivering a row (refused for good): keep it with its error, stop waiting."""
    short = error if len(error) <= _MAX_ERROR else error[: _MAX_ERROR - 1] + "…"
    result = session.execute(
        update(OutboxRow)
        .where(
            OutboxRow.id == item_id,
            OutboxRow.delivered_at.is_(None),
            OutboxRow.parked_at.is_(None),
        )
        .values(
            attempts=OutboxRow.attempts + 1,
            last_attempt_at=at,
            last_error=short,
            parked_at=at,
        )
    )
    if _rowcount(result) == 0:
        logger.warning("outbox item %d was already delivered, parked or does not exist", item_id)


def parked(session: Session, notifier: str | None, limit: int) -> list[OutboxItem]:
    """Return parked rows, most recently parked first."""
    stmt = select(OutboxRow).where(OutboxRow.parked_at.is_not(None))
    if notifier is not None:
        stmt = stmt.where(OutboxRow.notifier == notifier)
    stmt = stmt.order_by(OutboxRow.parked_at.desc(), OutboxRow.id.desc()).limit(limit)
    return [_item(row) for row in session.scalars(stmt)]


def prune(session: Session, delivered_before: dt.datetime) -> int:
    """Delete rows delivered before a time; return how many (undelivered rows are never touched)."""
    result = session.execute(
        delete(OutboxRow).where(
            OutboxRow.delivered_at.is_not(None), OutboxRow.delivered_at < delivered_before
        )
    )
    return _rowcount(result)


def depth(session: Session) -> int:
    """Return how many rows wait for delivery (parked rows do not wait)."""
    stmt = (
        select(func.count())
        .select_from(OutboxRow)
        .where(OutboxRow.delivered_at.is_(None), OutboxRow.parked_at.is_(None))
    )
    return int(session.scalar(stmt) or 0)


def alert_from_dict(data: dict[str, Any]) -> Alert:
    """Rebuild an ``Alert`` from ``Alert.to_dict()`` output (Any: it is parsed JSON).

    A row queued before incidents (schema 0004 and before: one alert per finding, no
    ``findings`` list) comes back as an alert with that one finding, under the
    finding's own key, so a receiver can still close what it was told then.
    """
    if "findings" in data:
        findings = tuple(_finding_from_dict(f) for f in data["findings"] or ())
    else:
        table = data.get("table")
        findings = (
            AlertFinding(
                key=str(data["key"]),
                entity=",".join(str(e) for e in data.get("entities") or ()) or "UNKNOWN",
                severity=Severity.parse(str(data["severity"])),
                status="open" if data["event"] == "opened" else "resolved",
                table=str(table) if table is not None else None,
                columns=tuple(str(c) for c in data.get("columns") or ()),
                evidence=tuple(str(e) for e in data.get("evidence") or ()),
                matched=int(data.get("matched") or 0),
                reason=str(data.get("reason") or ""),
                change="opened" if data["event"] == "opened" else "resolved",
            ),
        )
    opened_at = data.get("opened_at")
    return Alert(
        event=str(data["event"]),
        key=str(data["key"]),
        severity=Severity.parse(str(data["severity"])),
        target=str(data["target"]),
        resource_url=str(data["resource_url"]),
        findings=findings,
        reason=str(data.get("reason") or ""),
        occurred_at=_when(data["occurred_at"]),
        sequence=int(data.get("sequence") or 1),
        link=str(data["link"]) if data.get("link") is not None else None,
        portal=str(data["portal"]) if data.get("portal") is not None else None,
        dataset=str(data["dataset"]) if data.get("dataset") is not None else None,
        opened_at=_when(opened_at) if opened_at else None,
    )


def _finding_from_dict(data: dict[str, Any]) -> AlertFinding:
    table = data.get("table")
    change = data.get("change")
    return AlertFinding(
        key=str(data["key"]),
        entity=str(data["entity"]),
        severity=Severity.parse(str(data["severity"])),
        status=str(data["status"]),
        table=str(table) if table is not None else None,
        columns=tuple(str(c) for c in data.get("columns") or ()),
        evidence=tuple(str(e) for e in data.get("evidence") or ()),
        matched=int(data.get("matched") or 0),
        reason=str(data.get("reason") or ""),
        change=str(change) if change is not None else None,
    )


def _when(value: object) -> dt.datetime:
    return dt.datetime.fromisoformat(str(value)).astimezone(dt.UTC)


def _rowcount(result: object) -> int:
    # Any DML result carries rowcount; the ORM types execute() as the generic Result.
    return int(getattr(result, "rowcount", 0))
