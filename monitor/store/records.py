"""What the store hands back to the rest of leakmon: frozen records and the router seam.

These are plain dataclasses, not ORM rows, so nothing outside ``monitor.store``
ever holds a live database object or imports SQLAlchemy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import datetime as dt

    from monitor.models import Alert, Finding, Severity

__all__ = [
    "AuditEntry",
    "FindingEvent",
    "FindingRecord",
    "IncidentEvent",
    "IncidentRecord",
    "OutboxItem",
    "PollClaim",
    "ResourceState",
    "Router",
]

logger = logging.getLogger(__name__)


class Router(Protocol):
    """Decides, inside the store's transaction, who hears about a finding change.

    The daemon passes ``monitor.alerts.AlertRouter``; tests pass a small fake.
    """

    def allowed(self, target: str, url: str, finding: Finding) -> str | None:
        """Return why an allow rule covers this finding, or ``None`` when none does."""
        ...

    def recipients(self, severity: Severity) -> list[str]:
        """Return the names of the notifiers that want an incident of this severity."""
        ...

    def link(self, key: str) -> str | None:
        """Return a link back to an incident, if a base URL is configured."""
        ...


@dataclass(frozen=True)
class ResourceState:
    """What the store knows about one published file.

    Attributes:
        etag: the ``ETag`` validator of the last fetch.
        last_modified: the ``Last-Modified`` validator of the last fetch.
        sha256: hex digest of the last fetched body.
        size: length of the last fetched body.
        last_changed: when the body's hash last changed.
        gone_at: when the file disappeared; ``None`` while it is live.
    """

    target: str
    url: str
    portal: str
    dataset: str | None
    etag: str | None
    last_modified: str | None
    sha256: str | None
    size: int | None
    first_seen: dt.datetime
    last_seen: dt.datetime
    last_changed: dt.datetime | None
    last_scanned: dt.datetime | None
    gone_at: dt.datetime | None


@dataclass(frozen=True)
class FindingRecord:
    """The current state of one finding (masked evidence only).

    Attributes:
        status: ``open``, ``resolved`` or ``allowed``.
        opened_at: when the finding (last) opened, or was first allow-listed.
        resolved_at: when it was resolved; ``None`` while open or allowed.
        allow_reason: the allow rule's reason when ``status`` is ``allowed``.
    """

    key: str
    target: str
    resource_url: str
    table: str | None
    column: str | None
    columns: tuple[str, ...]
    entity: str
    severity: Severity
    score: float
    matched: int
    scanned: int
    evidence: tuple[str, ...]
    reason: str
    status: str
    opened_at: dt.datetime
    last_seen_at: dt.datetime
    resolved_at: dt.datetime | None
    allow_reason: str | None = None


@dataclass(frozen=True)
class FindingEvent:
    """One transition of a finding.

    Attributes:
        event: what happened: ``opened``, ``resolved`` or ``allowed``.
        alert: what on-call was told (``opened``/``resolved``), or ``None`` for a silent change.
        reason: the finding's reason, the resolution's reason, or the allow rule's reason.
    """

    key: str
    sequence: int
    event: str
    alert: str | None
    severity: Severity
    matched: int
    reason: str
    occurred_at: dt.datetime


@dataclass(frozen=True)
class IncidentRecord:
    """One incident: every finding of one published file of one target, as one page.

    Attributes:
        key: the incident's stable key (one per target + file; PagerDuty ``dedup_key``).
        status: ``open`` while any finding of the file is open, else ``resolved``.
        severity: the highest severity among the open findings (the last one
            known once resolved).
        opened_at: when the incident (last) opened.
        updated_at: when its last event happened.
        resolved_at: when it resolved; ``None`` while open.
        sequence: the number of its latest event (0: never announced).
        notified: the notifiers that heard it open and have not heard it resolve.
        findings: every finding of the file: open ones first (most severe first),
            then allowed, then resolved.
    """

    key: str
    target: str
    resource_url: str
    portal: str
    dataset: str | None
    status: str
    severity: Severity
    opened_at: dt.datetime
    updated_at: dt.datetime
    resolved_at: dt.datetime | None
    sequence: int
    notified: tuple[str, ...]
    findings: tuple[FindingRecord, ...]

    @property
    def open_findings(self) -> tuple[FindingRecord, ...]:
        """Return the findings that are open."""
        return tuple(f for f in self.findings if f.status == "open")


@dataclass(frozen=True)
class IncidentEvent:
    """One announced event of an incident.

    Attributes:
        event: ``opened``, ``updated`` or ``resolved``.
        open_findings: how many findings were open after it.
        recipients: the notifiers it was queued for.
        reason: what it said.
    """

    key: str
    sequence: int
    event: str
    severity: Severity
    open_findings: int
    reason: str
    recipients: tuple[str, ...]
    occurred_at: dt.datetime


@dataclass(frozen=True)
class OutboxItem:
    """One alert waiting for delivery to one notifier.

    Attributes:
        attempts: failed delivery attempts so far (for the dispatcher's backoff).
        last_error: the previous attempt's error, shortened; ``None`` before any failure.
        parked_at: when delivery was given up (the receiver refused it for good).
    """

    id: int
    notifier: str
    alert: Alert
    attempts: int
    created_at: dt.datetime
    last_error: str | None = None
    parked_at: dt.datetime | None = None


@dataclass(frozen=True)
class AuditEntry:
    """One audited decision."""

    at: dt.datetime
    actor: str
    action: str
    # Any: free-form JSON detail.
    detail: dict[str, Any]


@dataclass(frozen=True)
class PollClaim:
    """A target's poll that this replica now holds (cluster mode).

    Attributes:
        target: the target's name.
        cursor: where the last poll's catalogue walk stopped (``None``: at the start).
        taken_over: the previous owner's lease ran out: it died or lost the database.
    """

    target: str
    cursor: str | None
    taken_over: bool
