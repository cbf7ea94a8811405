"""leakmon's durable state (SQLite or PostgreSQL): the only package that imports SQLAlchemy.

Modules: ``store`` (the facade), ``records`` (what it returns), ``lifecycle``
(findings → alerts → outbox), ``outbox``, ``resources``, ``baselines``,
``findings`` (read side), ``audit``, ``schema`` (ORM tables), ``columns``,
``database`` (sessions, errors), ``engine``, ``upsert``, ``polls`` and
``locks`` (cluster mode: poll leases, advisory locks), and ``migrate``
(Alembic; the revisions in ``migrations/`` ship inside the package).
"""

from __future__ import annotations

from monitor.store.lifecycle import finding_key
from monitor.store.records import (
    AuditEntry,
    FindingEvent,
    FindingRecord,
    OutboxItem,
    PollClaim,
    ResourceState,
    Router,
)
from monitor.store.store import Store

__all__ = [
    "AuditEntry",
    "FindingEvent",
    "FindingRecord",
    "OutboxItem",
    "PollClaim",
    "ResourceState",
    "Router",
    "Store",
    "finding_key",
]
