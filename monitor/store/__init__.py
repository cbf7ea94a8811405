"""leakmon's durable state (SQLite or PostgreSQL): the only package that imports SQLAlchemy.

Modules: ``store`` (the facade), ``records`` (what it returns), ``lifecycle``
(findings → their file's incident), ``incidents`` (one per file: events,
outbox rows, read side), ``outbox``, ``resources``, ``baselines``,
``findings`` (read side), ``audit``, ``schema`` (ORM tables), ``columns``,
``database`` (sessions, errors), ``engine``, ``upsert``, ``polls`` and
``locks`` (cluster mode: poll leases, advisory locks), ``results`` and
``batch`` (a scan result's writes, several files' in one transaction), and ``migrate``
(Alembic; the revisions in ``migrations/`` ship inside the package).
"""

from __future__ import annotations

from monitor.store.batch import ResultBatch
from monitor.store.incidents import incident_key
from monitor.store.lifecycle import finding_key
from monitor.store.records import (
    AuditEntry,
    FindingEvent,
    FindingRecord,
    IncidentEvent,
    IncidentRecord,
    OutboxItem,
    PollClaim,
    ResourceState,
    Router,
)
from monitor.store.results import FetchValidators, ScanResult
from monitor.store.store import Store

__all__ = [
    "AuditEntry",
    "FetchValidators",
    "FindingEvent",
    "FindingRecord",
    "IncidentEvent",
    "IncidentRecord",
    "OutboxItem",
    "PollClaim",
    "ResourceState",
    "ResultBatch",
    "Router",
    "ScanResult",
    "Store",
    "finding_key",
    "incident_key",
]
