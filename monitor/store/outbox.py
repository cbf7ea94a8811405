"""The durable outbox: alert events queued with the finding change, delivered in order.

A row is written in the same transaction as the finding change it announces,
so an alert exists exactly when its change committed. Delivery never deletes a
row: a failure only pushes ``next_attempt_at`` back. ``due`` hands out only the
oldest undelivered row of each (notifier, finding), so a receiver that was down
for ten minutes then gets every event of a finding once, and in order.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import aliased

from monitor.models import Alert, Severity
from monitor.store.records import OutboxItem
from monitor.store.schema import OutboxRow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["alert_from_dict", "delivered", "depth", "due", "enqueue", "failed", "prune"]

logger = logging.getLogger(__name__)

#: Enough of a notifier's error to diagnose; the rest is noise (and could carry secrets).
_MAX_ERROR = 300


def enqueue(
    session: Session, notifier: str, finding_id: int, alert: Alert, at: dt.datetime
) -> None:
    """Queue one alert for one notifier, due at once."""
    session.add(
        OutboxRow(
            notifier=notifier,
            finding_id=finding_id,
            sequence=alert.sequence,
            payload=alert.to_dict(),
            created_at=at,
            next_attempt_at=at,
            attempts=0,
        )
    )


def due(session: Session, now: dt.datetime, limit: int) -> list[OutboxItem]:
    """Return the rows to try now: the oldest undelivered row per (notifier, finding) only.

    The oldest row is chosen among *all* undelivered rows of its group, due or
    not, so a later event never overtakes an earlier one that is backing off.
    """
    older = aliased(OutboxRow)
    head = (
        select(func.min(older.id))
        .where(
            older.notifier == OutboxRow.notifier,
            older.finding_id == OutboxRow.finding_id,
            older.delivered_at.is_(None),
        )
        .scalar_subquery()
    )
    stmt = (
        select(OutboxRow)
        .where(
            OutboxRow.delivered_at.is_(None),
            OutboxRow.next_attempt_at <= now,
            OutboxRow.id == head,
        )
        .order_by(OutboxRow.id)
        .limit(limit)
    )
    return [
        OutboxItem(
            id=row.id,
            notifier=row.notifier,
            alert=alert_from_dict(row.payload),
            attempts=row.attempts,
            created_at=row.created_at,
            last_error=row.last_error,
        )
        for row in session.scalars(stmt)
    ]


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


def prune(session: Session, delivered_before: dt.datetime) -> int:
    """Delete rows delivered before a time; return how many (undelivered rows are never touched)."""
    result = session.execute(
        delete(OutboxRow).where(
            OutboxRow.delivered_at.is_not(None), OutboxRow.delivered_at < delivered_before
        )
    )
    return _rowcount(result)


def depth(session: Session) -> int:
    """Return how many rows wait for delivery."""
    stmt = select(func.count()).select_from(OutboxRow).where(OutboxRow.delivered_at.is_(None))
    return int(session.scalar(stmt) or 0)


def alert_from_dict(data: dict[str, Any]) -> Alert:
    """Rebuild an ``Alert`` from ``Alert.to_dict()`` output (Any: it is parsed JSON)."""
    table = data.get("table")
    return Alert(
        event=str(data["event"]),
        key=str(data["key"]),
        severity=Severity.parse(str(data["severity"])),
        target=str(data["target"]),
        resource_url=str(data["resource_url"]),
        table=str(table) if table is not None else None,
        columns=tuple(str(c) for c in data.get("columns") or ()),
        entities=tuple(str(e) for e in data.get("entities") or ()),
        evidence=tuple(str(e) for e in data.get("evidence") or ()),
        reason=str(data.get("reason") or ""),
        matched=int(data.get("matched") or 0),
        occurred_at=dt.datetime.fromisoformat(str(data["occurred_at"])).astimezone(dt.UTC),
        sequence=int(data.get("sequence") or 1),
        link=str(data["link"]) if data.get("link") is not None else None,
        portal=str(data["portal"]) if data.get("portal") is not None else None,
        dataset=str(data["dataset"]) if data.get("dataset") is not None else None,
    )


def _rowcount(result: object) -> int:
    # Any DML result carries rowcount; the ORM types execute() as the generic Result.
    return int(getattr(result, "rowcount", 0))
