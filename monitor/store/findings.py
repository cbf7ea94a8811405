"""Reading findings back: listings for operators, counts for the gauge, event history."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from monitor.models import Severity
from monitor.store.records import FindingEvent, FindingRecord
from monitor.store.schema import EventRow, FindingRow, ResourceRow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["finding_record", "list_events", "list_findings", "open_counts"]

logger = logging.getLogger(__name__)


def list_findings(session: Session, *, open_only: bool, target: str | None) -> list[FindingRecord]:
    """Return findings, most recently opened first."""
    stmt = (
        select(FindingRow, ResourceRow.url)
        .join(ResourceRow, FindingRow.resource_id == ResourceRow.id)
        .order_by(FindingRow.opened_at.desc(), FindingRow.id.desc())
    )
    if open_only:
        stmt = stmt.where(FindingRow.status == "open")
    if target is not None:
        stmt = stmt.where(FindingRow.target == target)
    return [finding_record(row, url) for row, url in session.execute(stmt)]


def open_counts(session: Session) -> dict[tuple[str, Severity], int]:
    """Return how many findings are open per (target, severity)."""
    stmt = (
        select(FindingRow.target, FindingRow.severity, func.count())
        .where(FindingRow.status == "open")
        .group_by(FindingRow.target, FindingRow.severity)
    )
    return {(target, Severity(level)): int(n) for target, level, n in session.execute(stmt)}


def list_events(session: Session, key: str) -> list[FindingEvent]:
    """Return a finding's events in order."""
    stmt = (
        select(EventRow)
        .join(FindingRow, EventRow.finding_id == FindingRow.id)
        .where(FindingRow.key == key)
        .order_by(EventRow.sequence)
    )
    return [
        FindingEvent(
            key=key,
            sequence=row.sequence,
            event=row.event,
            alert=row.alert,
            severity=Severity(row.severity),
            matched=row.matched,
            reason=row.reason,
            occurred_at=row.occurred_at,
        )
        for row in session.scalars(stmt)
    ]


def finding_record(row: FindingRow, url: str) -> FindingRecord:
    """Return a finding's state as callers outside the store see it (masked evidence only)."""
    return FindingRecord(
        key=row.key,
        target=row.target,
        resource_url=url,
        table=row.table_name,
        column=row.column_name,
        columns=tuple(row.columns),
        entity=row.entity,
        severity=Severity(row.severity),
        score=row.score,
        matched=row.matched,
        scanned=row.scanned,
        evidence=tuple(row.evidence),
        reason=row.reason,
        status=row.status,
        opened_at=row.opened_at,
        last_seen_at=row.last_seen_at,
        resolved_at=row.resolved_at,
        allow_reason=row.allow_reason,
    )
