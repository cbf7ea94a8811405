"""Incidents: one per published file of a target, the unit on-call is paged about.

``settle_incident`` runs at the end of every lifecycle transaction of a file: it
compares the file's open findings with its incident and records at most one
incident event, queued in the outbox for each notifier that should hear it, in
the same transaction as the finding changes it announces.

==========================  =====================================================
before → after              event (per notifier)
==========================  =====================================================
no open finding → some      ``opened`` to every notifier whose ``min_severity``
                            the incident's severity reaches
open → open, findings       ``updated`` to the notifiers that heard it open;
added, escalated, resolved  ``opened`` to a notifier whose threshold the severity
or allow-listed             now reaches for the first time
open → open, thresholds     ``opened`` to notifiers that now want it, ``resolved``
changed (config reload)     to those that no longer do; nothing to the others
open → none open            ``resolved`` to every notifier that heard it open
==========================  =====================================================

A severity that falls while the incident stays open is stored, not announced,
and closes no page: notifiers are chosen by the highest severity announced
since the incident opened.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import posixpath
import urllib.parse
from typing import TYPE_CHECKING

from sqlalchemy import select

from monitor.models import Alert, AlertFinding, Severity
from monitor.store.findings import finding_record
from monitor.store.outbox import enqueue
from monitor.store.records import IncidentEvent, IncidentRecord
from monitor.store.schema import FindingRow, IncidentEventRow, IncidentRow, ResourceRow

if TYPE_CHECKING:
    import datetime as dt

    from sqlalchemy.orm import Session

    from monitor.store.records import Router

__all__ = [
    "Changes",
    "get_incident",
    "incident_key",
    "list_incident_events",
    "list_incidents",
    "settle_incident",
]

logger = logging.getLogger(__name__)

#: finding key -> (change, reason): what one transaction did to the file's findings.
Changes = dict[str, tuple[str, str]]

_STATUS_ORDER = {"open": 0, "allowed": 1, "resolved": 2}
_THRESHOLD = "no longer reaches this notifier's min_severity (configuration changed)"
#: How many finding reasons an event's one-line reason quotes before counting the rest.
_QUOTED = 2


def incident_key(target: str, url: str) -> str:
    """Return an incident's stable key: one per target + file (a SHA-256 hex digest)."""
    blob = json.dumps(["incident", target, url], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def settle_incident(
    session: Session,
    resource: ResourceRow,
    target: str,
    changes: Changes,
    at: dt.datetime,
    router: Router,
) -> list[Alert]:
    """Bring a file's incident in line with its findings; return the event announced, if any."""
    incident = session.scalars(
        select(IncidentRow).where(IncidentRow.resource_id == resource.id)
    ).one_or_none()
    rows = list(
        session.scalars(
            select(FindingRow).where(FindingRow.resource_id == resource.id).order_by(FindingRow.id)
        )
    )
    open_rows = [r for r in rows if r.status == "open"]
    if incident is None:
        if not open_rows:
            return []  # a clean file, or one whose findings are all allowed: no incident
        incident = _new_incident(session, resource, target, at)
    incident.target = target
    was_open = incident.status == "open"
    # Every notifier configured now takes critical events; one that was removed or switched
    # off is forgotten silently, as nothing could deliver to it (its rows would wait forever).
    known = set(router.recipients(Severity.CRITICAL))
    notified = [n for n in incident.notified if n in known] if was_open else []
    if not open_rows:
        if not was_open:
            return []
        peak = Severity(incident.alerted_severity or incident.severity)
        incident.status, incident.resolved_at = "resolved", at
        incident.alerted_severity, incident.notified = None, []
        closing = {name: "resolved" for name in notified}
        return _announce(
            session, incident, resource, rows, changes, "resolved", peak, closing, at, router
        )
    current = Severity(max(r.severity for r in open_rows))
    incident.severity = int(current)
    grew = current > (incident.alerted_severity or 0)
    peak = Severity(max(current, incident.alerted_severity or 0)) if was_open else current
    wanted = list(dict.fromkeys(router.recipients(peak)))
    content = not was_open or bool(changes) or grew
    sends: dict[str, str] = {}
    for name in wanted:
        if name not in notified:
            sends[name] = "opened"
        elif content:
            sends[name] = "updated"
    for name in notified:
        if name not in wanted:
            sends[name] = "resolved"
    if not content and not sends:
        return []
    if not was_open:
        incident.status, incident.opened_at, incident.resolved_at = "open", at, None
    incident.alerted_severity, incident.notified = int(peak), wanted
    event = "opened" if not was_open else "updated"
    return _announce(session, incident, resource, rows, changes, event, current, sends, at, router)


def _new_incident(
    session: Session, resource: ResourceRow, target: str, at: dt.datetime
) -> IncidentRow:
    incident = IncidentRow(
        key=incident_key(target, resource.url),
        resource_id=resource.id,
        target=target,
        status="resolved",
        severity=int(Severity.LOW),
        alerted_severity=None,
        notified=[],
        sequence=0,
        opened_at=at,
        updated_at=at,
    )
    session.add(incident)
    session.flush()
    return incident


def _announce(
    session: Session,
    incident: IncidentRow,
    resource: ResourceRow,
    rows: list[FindingRow],
    changes: Changes,
    event: str,
    severity: Severity,
    sends: dict[str, str],
    at: dt.datetime,
    router: Router,
) -> list[Alert]:
    """Record one incident event and queue it for each notifier (its own event kind)."""
    incident.sequence += 1
    incident.updated_at = at
    findings = _alert_findings(rows, changes)
    reason = _reason(event, findings, changes, resource.url)
    session.add(
        IncidentEventRow(
            incident_id=incident.id,
            sequence=incident.sequence,
            event=event,
            severity=int(severity),
            open_findings=sum(1 for f in findings if f.status == "open"),
            reason=reason,
            recipients=sorted(sends),
            occurred_at=at,
        )
    )
    alert = Alert(
        event=event,
        key=incident.key,
        severity=severity,
        target=incident.target,
        resource_url=resource.url,
        findings=findings,
        reason=reason,
        occurred_at=at,
        sequence=incident.sequence,
        link=router.link(incident.key),
        portal=resource.portal,
        dataset=resource.dataset,
        opened_at=incident.opened_at,
    )
    for name, kind in sends.items():
        if kind == event:
            told = alert
        elif kind == "resolved":  # this notifier's threshold no longer covers the incident
            told = dataclasses.replace(alert, event="resolved", reason=_THRESHOLD)
        else:  # "opened": the first this notifier hears of an incident already open
            told = dataclasses.replace(alert, event="opened")
        enqueue(session, name, incident.id, told, at)
    logger.info(
        "incident %s %s (%s, %d open finding(s)), queued for: %s",
        incident.key[:12],
        event,
        severity,
        sum(1 for f in findings if f.status == "open"),
        ",".join(sorted(sends)) or "nobody",
        extra={"target": incident.target, "resource": resource.url, "incident": incident.key},
    )
    return [alert]


def _alert_findings(rows: list[FindingRow], changes: Changes) -> tuple[AlertFinding, ...]:
    """Return the open findings (most severe first), then those this event closed."""
    shown = [r for r in rows if r.status == "open" or r.key in changes]
    shown.sort(key=lambda r: (_STATUS_ORDER[r.status], -r.severity, r.id))
    return tuple(
        AlertFinding(
            key=r.key,
            entity=r.entity,
            severity=Severity(r.severity),
            status=r.status,
            table=r.table_name,
            columns=(r.column_name,) if r.column_name is not None else tuple(r.columns),
            evidence=tuple(r.evidence),
            matched=r.matched,
            reason=r.allow_reason if r.status == "allowed" and r.allow_reason else r.reason,
            change=changes[r.key][0] if r.key in changes else None,
        )
        for r in shown
    )


def _reason(event: str, findings: tuple[AlertFinding, ...], changes: Changes, url: str) -> str:
    """Say in one line what this event is about (counts; reasons are the findings' own)."""
    name = posixpath.basename(urllib.parse.urlsplit(url).path.rstrip("/")) or "the file"
    open_ = [f for f in findings if f.status == "open"]
    if event == "opened":
        if len(open_) == 1:
            return open_[0].reason or f"{open_[0].entity} in {name}"
        entities = ", ".join(sorted({f.entity for f in open_}))
        return f"{len(open_):,} findings in {name}: {entities}"
    if event == "resolved":
        reasons = list(dict.fromkeys(reason for _, reason in changes.values()))
        return _quote(reasons) or f"no open finding left in {name}"
    parts = []
    for change, label in (
        ("opened", "added"),
        ("escalated", "more severe"),
        ("resolved", "resolved"),
        ("allowed", "allow-listed"),
    ):
        count = sum(1 for c, _ in changes.values() if c == change)
        if count:
            parts.append(f"{count:,} {label}")
    if not parts:
        return f"notifier thresholds changed; {len(open_):,} finding(s) open in {name}"
    return f"{'; '.join(parts)}; {len(open_):,} finding(s) open in {name}"


def _quote(reasons: list[str]) -> str:
    shown = "; ".join(r for r in reasons[:_QUOTED] if r)
    more = len(reasons) - _QUOTED
    return shown + (f" (and {more:,} more)" if more > 0 and shown else "")


# -- reading incidents back -----------------------------------------------------------------


def list_incidents(
    session: Session, *, open_only: bool, target: str | None
) -> list[IncidentRecord]:
    """Return incidents: open ones first, most severe first, then most recently updated."""
    stmt = select(IncidentRow, ResourceRow).join(
        ResourceRow, IncidentRow.resource_id == ResourceRow.id
    )
    if open_only:
        stmt = stmt.where(IncidentRow.status == "open")
    if target is not None:
        stmt = stmt.where(IncidentRow.target == target)
    pairs = list(session.execute(stmt).tuples())
    by_resource = _findings_of(session, [resource.id for _, resource in pairs])
    records = [
        _incident_record(incident, resource, by_resource.get(resource.id, []))
        for incident, resource in pairs
    ]
    records.sort(
        key=lambda r: (r.status != "open", -int(r.severity), -r.updated_at.timestamp(), r.key)
    )
    return records


def get_incident(session: Session, key: str) -> IncidentRecord | None:
    """Return one incident by its key, its file's URL, or one of its findings' keys."""
    stmt = select(IncidentRow, ResourceRow).join(
        ResourceRow, IncidentRow.resource_id == ResourceRow.id
    )
    found = session.execute(stmt.where(IncidentRow.key == key)).tuples().one_or_none()
    if found is None:
        found = session.execute(stmt.where(ResourceRow.url == key)).tuples().one_or_none()
    if found is None:
        of_finding = select(FindingRow.resource_id).where(FindingRow.key == key)
        found = (
            session.execute(stmt.where(IncidentRow.resource_id.in_(of_finding.scalar_subquery())))
            .tuples()
            .one_or_none()
        )
    if found is None:
        return None
    incident, resource = found
    rows = _findings_of(session, [resource.id]).get(resource.id, [])
    return _incident_record(incident, resource, rows)


def list_incident_events(session: Session, key: str) -> list[IncidentEvent]:
    """Return an incident's announced events in order."""
    stmt = (
        select(IncidentEventRow)
        .join(IncidentRow, IncidentEventRow.incident_id == IncidentRow.id)
        .where(IncidentRow.key == key)
        .order_by(IncidentEventRow.sequence)
    )
    return [
        IncidentEvent(
            key=key,
            sequence=row.sequence,
            event=row.event,
            severity=Severity(row.severity),
            open_findings=row.open_findings,
            reason=row.reason,
            recipients=tuple(row.recipients),
            occurred_at=row.occurred_at,
        )
        for row in session.scalars(stmt)
    ]


def _findings_of(session: Session, resource_ids: list[int]) -> dict[int, list[FindingRow]]:
    out: dict[int, list[FindingRow]] = {}
    # Chunks keep the IN list well under every backend's parameter limit.
    for start in range(0, len(resource_ids), 500):
        chunk = resource_ids[start : start + 500]
        stmt = select(FindingRow).where(FindingRow.resource_id.in_(chunk)).order_by(FindingRow.id)
        for row in session.scalars(stmt):
            out.setdefault(row.resource_id, []).append(row)
    return out


def _incident_record(
    incident: IncidentRow, resource: ResourceRow, rows: list[FindingRow]
) -> IncidentRecord:
    ordered = sorted(rows, key=lambda r: (_STATUS_ORDER[r.status], -r.severity, r.id))
    return IncidentRecord(
        key=incident.key,
        target=incident.target,
        resource_url=resource.url,
        portal=resource.portal,
        dataset=resource.dataset,
        status=incident.status,
        severity=Severity(incident.severity),
        opened_at=incident.opened_at,
        updated_at=incident.updated_at,
        resolved_at=incident.resolved_at,
        sequence=incident.sequence,
        notified=tuple(incident.notified),
        findings=tuple(finding_record(r, resource.url) for r in ordered),
    )
