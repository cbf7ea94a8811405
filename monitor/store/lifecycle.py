"""The findings lifecycle: open, keep, escalate, resolve, reopen, allow; alerts and outbox rows.

One call handles one resource's complete set of findings from its latest scan,
inside one transaction that holds the resource's row lock, so two scans of the
same file cannot interleave and every alert is queued with the change it announces.

Transitions (``S`` is the new set of findings of the resource):

=================  =====================  ==============================================
stored status      key in ``S``?          what happens
=================  =====================  ==============================================
(none)             yes, not allow-listed  open; event + alert ``opened`` (sequence 1)
(none)             yes, allow-listed      ``allowed``; event, audit entry, no alert
open               yes                    updated in place; no event unless the severity
                                          rises above the highest one announced since
                                          it opened: then a new ``opened`` event and alert
                                          with the higher severity and the next sequence
open               yes, now allow-listed  ``allowed``; audit; alert ``resolved`` so pagers close
open               no                     resolved; event + alert ``resolved``
resolved/allowed   yes, not allow-listed  reopened; event + alert ``opened`` (next sequence)
resolved           yes, allow-listed      ``allowed``; event, audit entry, no alert
allowed            yes, allow-listed      updated in place, silently (audited once)
allowed            no                     resolved silently (nobody was paged)
=================  =====================  ==============================================

Why "opened" again on escalation, and only above the highest announced severity:
receivers key incidents on the finding key, so a second ``opened`` updates the
open incident's severity (PagerDuty re-triggers, Slack posts once more), while a
finding that wobbles between HIGH and CRITICAL across rescans pages once, not on
every rescan. A falling severity is stored but not announced. A resolution
carries the highest severity announced, so it reaches every notifier that heard
the finding open. Every transition takes the next sequence number, announced or
not, so a receiver may see gaps; it relies on their order only.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import TYPE_CHECKING

from sqlalchemy import select

from monitor.models import Alert, Severity
from monitor.store.audit import write_audit
from monitor.store.outbox import enqueue
from monitor.store.resources import ensure_resource, find_resource
from monitor.store.schema import EventRow, FindingRow, ResourceRow

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Sequence

    from sqlalchemy.orm import Session

    from monitor.models import Finding
    from monitor.store.records import Router

__all__ = ["apply_findings", "finding_key", "resolve_resource"]

logger = logging.getLogger(__name__)

_GONE_FROM_SCAN = "no longer found in the latest scan"
_SYSTEM = "leakmon"


def finding_key(target: str, url: str, finding: Finding) -> str:
    """Return a finding's stable key: one per resource + table + column(s) + entity.

    JSON framing keeps the parts apart, so ``("a,b", None)`` and ``("a", "b")``
    cannot collide the way a plain join would.
    """
    where = finding.column if finding.column is not None else ",".join(finding.columns)
    parts = [target, url, finding.table, where, finding.entity]
    blob = json.dumps(parts, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def apply_findings(
    session: Session,
    target: str,
    url: str,
    findings: Sequence[Finding],
    at: dt.datetime,
    router: Router,
) -> list[Alert]:
    """Bring the stored findings of one resource in line with its latest scan."""
    resource = ensure_resource(session, target, url, at)
    current = _by_key(target, url, findings)
    stored = {
        row.key: row
        for row in session.scalars(
            select(FindingRow)
            .where(FindingRow.resource_id == resource.id, FindingRow.target == target)
            .order_by(FindingRow.id)
        )
    }
    alerts: list[Alert] = []
    for key, finding in current.items():
        allow = router.allowed(target, url, finding)
        row = stored.get(key)
        if row is None:
            row = _insert(session, key, resource.id, target, finding, at)
        else:
            _refresh(row, finding, at)
        alerts += _settle(session, row, url, finding, allow, at, router)
    for key, row in stored.items():
        if key not in current:
            alerts += _resolve(session, row, url, _GONE_FROM_SCAN, at, router)
    return alerts


def resolve_resource(
    session: Session, target: str, url: str, at: dt.datetime, router: Router, reason: str
) -> list[Alert]:
    """Resolve every open or allowed finding of a file (it was removed or unlinked)."""
    resource = find_resource(session, url, lock=True)
    if resource is None:
        return []
    rows = session.scalars(
        select(FindingRow)
        .where(
            FindingRow.resource_id == resource.id,
            FindingRow.target == target,
            FindingRow.status.in_(("open", "allowed")),
        )
        .order_by(FindingRow.id)
    )
    alerts: list[Alert] = []
    for row in rows:
        alerts += _resolve(session, row, url, reason, at, router)
    return alerts


def _by_key(target: str, url: str, findings: Sequence[Finding]) -> dict[str, Finding]:
    # Two findings with one key (e.g. two chunks' verdicts) collapse to the worst one.
    out: dict[str, Finding] = {}
    for finding in findings:
        key = finding_key(target, url, finding)
        kept = out.get(key)
        if kept is None or (finding.severity, finding.matched) > (kept.severity, kept.matched):
            out[key] = finding
    return out


def _insert(
    session: Session, key: str, resource_id: int, target: str, finding: Finding, at: dt.datetime
) -> FindingRow:
    row = FindingRow(
        key=key,
        resource_id=resource_id,
        target=target,
        table_name=finding.table,
        column_name=finding.column,
        columns=list(finding.columns),
        entity=finding.entity,
        # A new finding enters as if resolved before its first sighting, so _settle
        # opens or allows it exactly as it would a finding that reappears.
        status="resolved",
        sequence=0,
        opened_at=at,
    )
    _refresh(row, finding, at)
    return row


def _refresh(row: FindingRow, finding: Finding, at: dt.datetime) -> None:
    row.severity = int(finding.severity)
    row.score = finding.score
    row.matched = finding.matched
    row.scanned = finding.scanned
    row.evidence = list(finding.evidence)
    row.reason = finding.reason
    row.fingerprint = finding.fingerprint
    row.last_seen_at = at


def _settle(
    session: Session,
    row: FindingRow,
    url: str,
    finding: Finding,
    allow: str | None,
    at: dt.datetime,
    router: Router,
) -> list[Alert]:
    """Apply the transition of a finding present in the latest scan."""
    if allow is not None:
        if row.status == "allowed":
            row.allow_reason = allow
            return []
        was_open = row.status == "open"
        alerted = row.alerted_severity
        if row.status != "open":
            row.opened_at = at
        row.status, row.allow_reason, row.resolved_at = "allowed", allow, None
        row.alerted_severity = None
        session.add(row)
        session.flush()
        write_audit(session, _SYSTEM, "finding.allowed", _audit_detail(row, url, allow), at)
        if was_open and alerted is not None:
            return _event(session, row, url, "allowed", "resolved", allow, at, router, alerted)
        return _event(session, row, url, "allowed", None, allow, at, router)
    if row.status == "open":
        if row.severity > (row.alerted_severity or 0):
            row.alerted_severity = row.severity
            return _event(session, row, url, "opened", "opened", finding.reason, at, router)
        return []
    row.status, row.allow_reason, row.resolved_at = "open", None, None
    row.opened_at = at
    row.alerted_severity = row.severity
    session.add(row)
    session.flush()
    return _event(session, row, url, "opened", "opened", finding.reason, at, router)


def _resolve(
    session: Session, row: FindingRow, url: str, reason: str, at: dt.datetime, router: Router
) -> list[Alert]:
    if row.status == "resolved":
        return []
    announce = row.status == "open"
    alerted = row.alerted_severity
    row.status, row.resolved_at, row.alerted_severity = "resolved", at, None
    if announce:
        return _event(session, row, url, "resolved", "resolved", reason, at, router, alerted)
    return _event(session, row, url, "resolved", None, reason, at, router)


def _event(
    session: Session,
    row: FindingRow,
    url: str,
    event: str,
    alert_event: str | None,
    reason: str,
    at: dt.datetime,
    router: Router,
    severity: int | None = None,
) -> list[Alert]:
    """Record one transition; when it is announced, build the alert and queue it."""
    row.sequence += 1
    level = Severity(severity or row.severity)
    session.add(
        EventRow(
            finding_id=row.id,
            sequence=row.sequence,
            event=event,
            alert=alert_event,
            severity=int(level),
            matched=row.matched,
            reason=reason,
            occurred_at=at,
        )
    )
    if alert_event is None:
        return []
    resource = session.get(ResourceRow, row.resource_id)
    alert = Alert(
        event=alert_event,
        key=row.key,
        severity=level,
        target=row.target,
        resource_url=url,
        table=row.table_name,
        columns=(row.column_name,) if row.column_name is not None else tuple(row.columns),
        entities=(row.entity,),
        evidence=tuple(row.evidence),
        reason=reason,
        matched=row.matched,
        occurred_at=at,
        sequence=row.sequence,
        link=router.link(row.key),
        portal=resource.portal if resource is not None else None,
        dataset=resource.dataset if resource is not None else None,
    )
    for notifier in dict.fromkeys(router.recipients(alert)):
        enqueue(session, notifier, row.id, alert, at)
    logger.info(
        "finding %s %s (%s %s) target=%s", row.key[:12], alert_event, level, row.entity, row.target
    )
    return [alert]


def _audit_detail(row: FindingRow, url: str, reason: str) -> dict[str, object]:
    return {
        "key": row.key,
        "target": row.target,
        "resource_url": url,
        "table": row.table_name,
        "column": row.column_name,
        "columns": list(row.columns),
        "entity": row.entity,
        "severity": str(Severity(row.severity)),
        "reason": reason,
    }
