"""The audit log: who decided what and why (allow-listed findings, accepted baselines)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select

from monitor.store.records import AuditEntry
from monitor.store.schema import AuditRow

if TYPE_CHECKING:
    import datetime as dt

    from sqlalchemy.orm import Session

__all__ = ["audit_log", "insert_audit", "write_audit"]

logger = logging.getLogger(__name__)


def write_audit(
    session: Session, actor: str, action: str, detail: dict[str, Any], at: dt.datetime
) -> None:
    """Append one entry (``detail`` is JSON: Any values; never a raw personal value)."""
    session.add(AuditRow(at=at, actor=actor, action=action, detail=detail))
    logger.info("audit: %s by %s", action, actor)


def insert_audit(
    session: Session, actor: str, action: str, detail: dict[str, Any], at: dt.datetime
) -> None:
    """``write_audit`` as one INSERT at once, with no ORM object (many entries per transaction).

    Logged at DEBUG, not INFO: this is the path of every new file's first baseline,
    which the daemon accepts on its own, 100,000 lines in a first pass that named
    no file. The entries stay in the audit table (``leakmon audit``).
    """
    session.connection().execute(
        insert(AuditRow).values(at=at, actor=actor, action=action, detail=detail)
    )
    logger.debug("audit: %s by %s", action, actor)


def audit_log(session: Session, limit: int) -> list[AuditEntry]:
    """Return the latest entries, newest first."""
    stmt = select(AuditRow).order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit)
    return [
        AuditEntry(at=row.at, actor=row.actor, action=row.action, detail=dict(row.detail))
        for row in session.scalars(stmt)
    ]
