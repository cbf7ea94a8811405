"""The findings lifecycle: open, keep, escalate, resolve, reopen, allow; then the file's incident.

One call handles one resource's complete set of findings from its latest scan,
inside one transaction that holds the resource's row lock, so two scans of the
same file cannot interleave and every alert is queued with the change it announces.

Findings keep their own state and history (``finding_events``); on-call is told
about the *file*: ``monitor.store.incidents`` turns the finding changes of one
transaction into at most one event of the file's incident, queued in the outbox.

Transitions of one finding (``S`` is the new set of findings of the resource):

=================  =====================  ==============================================
stored status      key in ``S``?          what happens
=================  =====================  ==============================================
(none)             yes, not allow-listed  open; event ``opened`` (change: opened)
(none)             yes, allow-listed      ``allowed``; event, audit entry, no change
open               yes                    updated in place; no event unless the severity
                                          rises above the highest one announced since
                                          it opened: then an ``opened`` event with the
                                          higher severity (change: escalated)
open               yes, now allow-listed  ``allowed``; audit (change: allowed)
open               no                     resolved (change: resolved)
resolved/allowed   yes, not allow-listed  reopened (change: opened)
resolved           yes, allow-listed      ``allowed``; event, audit entry, no change
allowed            yes, allow-listed      updated in place, silently (audited once)
allowed            no                     resolved silently (nobody was paged)
=================  =====================  ==============================================

A finding that wobbles between HIGH and CRITICAL across rescans escalates once,
not on every rescan; a falling severity is stored but not announced. Every
transition takes the finding's next sequence number, announced or not.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import TYPE_CHECKING

from sqlalchemy import select

from monitor.models import Finding, Severity
from monitor.store.audit import write_audit
from monitor.store.incidents import Changes, settle_incident
from monitor.store.resources import ensure_resource, find_resource
from monitor.store.schema import EventRow, FindingRow, IncidentRow, ResourceRow

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Sequence

    from sqlalchemy.orm import Session

    from monitor.models import Alert
    from monitor.store.records import Router

__all__ = ["apply_findings", "finding_key", "reapply", "reapply_candidates", "resolve_resource"]

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
    complete: bool = True,
    *,
    resource: ResourceRow | None = None,
) -> list[Alert]:
    """Bring the stored findings of one resource in line with its latest scan.

    Only a ``complete`` scan resolves what it no longer finds. A scan stopped by a
    limit, a killed worker, an encrypted or damaged part or a shutdown read part of
    the file at most: it adds and updates findings and resolves none. ``resource``:
    the file's row, already locked in this transaction (a scan result's writes).
    """
    if resource is None:
        resource = ensure_resource(session, target, url, at)
    current = _by_key(target, url, findings)
    rows = session.scalars(
        select(FindingRow).where(FindingRow.resource_id == resource.id).order_by(FindingRow.id)
    ).all()
    if not current and not rows:
        # A clean file that never had a finding: no incident to settle (an open incident
        # has open findings' rows, and none is ever deleted). Two queries per file saved.
        return []
    stored = {row.key: row for row in rows if row.target == target}
    changes: Changes = {}
    for key, finding in current.items():
        allow = router.allowed(target, url, finding)
        row = stored.get(key)
        if row is None:
            row = _insert(session, key, resource.id, target, finding, at)
        else:
            _refresh(row, finding, at)
        _note(changes, row, _settle(session, row, url, finding, allow, at))
    for key, row in stored.items():
        if complete and key not in current:
            _note(changes, row, _resolve(session, row, _GONE_FROM_SCAN, at))
    return settle_incident(session, resource, target, changes, at, router)


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
    changes: Changes = {}
    for row in rows:
        _note(changes, row, _resolve(session, row, reason, at))
    return settle_incident(session, resource, target, changes, at, router)


def reapply_candidates(session: Session) -> list[str]:
    """Return the URLs whose findings a new configuration may change: open or allowed ones."""
    with_findings = select(FindingRow.resource_id).where(FindingRow.status.in_(("open", "allowed")))
    with_incident = select(IncidentRow.resource_id).where(IncidentRow.status == "open")
    stmt = (
        select(ResourceRow.url)
        .where(ResourceRow.id.in_(with_findings.union(with_incident).scalar_subquery()))
        .order_by(ResourceRow.id)
    )
    return list(session.scalars(stmt))


def reapply(session: Session, url: str, at: dt.datetime, router: Router) -> list[Alert]:
    """Apply the current allow rules and notifier thresholds to a file's stored findings.

    No rescan is needed: an allow rule added to the config resolves the findings it
    covers now (and the incident, when none is left open); a rule that was removed
    or expired reopens what it covered; a notifier whose threshold now covers an
    open incident hears it open, one whose threshold no longer does hears it resolve.
    """
    resource = find_resource(session, url, lock=True)
    if resource is None:
        return []
    rows = session.scalars(
        select(FindingRow)
        .where(
            FindingRow.resource_id == resource.id,
            FindingRow.status.in_(("open", "allowed")),
        )
        .order_by(FindingRow.id)
    )
    changes: Changes = {}
    for row in rows:
        finding = _as_finding(row, url)
        allow = router.allowed(row.target, url, finding)
        if row.status == "allowed" and allow is not None:
            row.allow_reason = allow  # the rule's wording or expiry may have changed
            continue
        _note(changes, row, _settle(session, row, url, finding, allow, at))
    return settle_incident(session, resource, resource.target, changes, at, router)


def _as_finding(row: FindingRow, url: str) -> Finding:
    """Rebuild the finding a row stores, for the allow rules (masked evidence only)."""
    return Finding(
        file=url,
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
        fingerprint=row.fingerprint,
    )


def _note(changes: Changes, row: FindingRow, change: tuple[str, str] | None) -> None:
    if change is not None:
        changes[row.key] = change


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
) -> tuple[str, str] | None:
    """Apply the transition of a finding present in the latest scan; return its change."""
    if allow is not None:
        if row.status == "allowed":
            row.allow_reason = allow
            return None
        was_open = row.status == "open"
        if row.status != "open":
            row.opened_at = at
        row.status, row.allow_reason, row.resolved_at = "allowed", allow, None
        row.alerted_severity = None
        session.add(row)
        session.flush()
        write_audit(session, _SYSTEM, "finding.allowed", _audit_detail(row, url, allow), at)
        _event(session, row, "allowed", "resolved" if was_open else None, allow, at)
        return ("allowed", allow) if was_open else None
    if row.status == "open":
        if row.severity > (row.alerted_severity or 0):
            row.alerted_severity = row.severity
            _event(session, row, "opened", "opened", finding.reason, at)
            return ("escalated", finding.reason)
        return None
    row.status, row.allow_reason, row.resolved_at = "open", None, None
    row.opened_at = at
    row.alerted_severity = row.severity
    session.add(row)
    session.flush()
    _event(session, row, "opened", "opened", finding.reason, at)
    return ("opened", finding.reason)


def _resolve(
    session: Session, row: FindingRow, reason: str, at: dt.datetime
) -> tuple[str, str] | None:
    if row.status == "resolved":
        return None
    announce = row.status == "open"
    alerted = row.alerted_severity
    row.status, row.resolved_at, row.alerted_severity = "resolved", at, None
    _event(session, row, "resolved", "resolved" if announce else None, reason, at, alerted)
    return ("resolved", reason) if announce else None


def _event(
    session: Session,
    row: FindingRow,
    event: str,
    alert_event: str | None,
    reason: str,
    at: dt.datetime,
    severity: int | None = None,
) -> None:
    """Record one transition of a finding (``alert``: what it meant for its incident)."""
    row.sequence += 1
    if row.id is None:
        session.add(row)
        session.flush()
    session.add(
        EventRow(
            finding_id=row.id,
            sequence=row.sequence,
            event=event,
            alert=alert_event,
            severity=int(Severity(severity or row.severity)),
            matched=row.matched,
            reason=reason,
            occurred_at=at,
        )
    )


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
