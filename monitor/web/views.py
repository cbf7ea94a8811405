"""What the findings page shows, read from the store: incidents, their history, coverage.

An incident is every finding of one published file of one target. When the store
keeps incidents (``Store.incidents``), they are read from it; a store without
them has its findings grouped by file here, with the same keys, so the page and
the links in alerts work either way. Only what the store holds is shown: masked
evidence and counts, never a raw value.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from monitor.models import Severity

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterable, Sequence

    from monitor.store import FindingRecord, ResourceState, Store

__all__ = ["HistoryLine", "Incident", "TargetSummary", "Views", "incident_key"]

logger = logging.getLogger(__name__)

#: Findings that say a file could not be checked (and why), rather than what it holds.
_UNCHECKED = frozenset({"FILE_LIMIT"})
_STATUS_ORDER = {"open": 0, "allowed": 1, "resolved": 2}
#: Resolved incidents listed on a target's page at most.
_RESOLVED_SHOWN = 50


def incident_key(target: str, url: str) -> str:
    """Return the key of a file's incident (the store's formula, so links agree)."""
    blob = json.dumps(["incident", target, url], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Incident:
    """Every finding of one file of one target, as on-call sees it.

    Attributes:
        key: the incident's key (what ``link_base`` links carry).
        dataset: the dataset, workbook or Tableau view the file belongs to; with
            the portal kind, this says how the data is exposed.
        first_seen: when leakmon first saw the file (``None``: unknown).
        last_seen: when a poll last listed it.
        findings: open first (most severe first), then allowed, then resolved.
    """

    key: str
    target: str
    url: str
    portal: str
    dataset: str | None
    status: str
    severity: Severity
    opened_at: dt.datetime
    updated_at: dt.datetime
    resolved_at: dt.datetime | None
    findings: tuple[FindingRecord, ...]
    first_seen: dt.datetime | None = None
    last_seen: dt.datetime | None = None
    last_scanned: dt.datetime | None = None
    gone_at: dt.datetime | None = None

    @property
    def open_findings(self) -> tuple[FindingRecord, ...]:
        """Return the open findings."""
        return tuple(f for f in self.findings if f.status == "open")

    @property
    def exposures(self) -> tuple[FindingRecord, ...]:
        """Return the findings about how the data is offered (Tableau download mechanisms)."""
        return tuple(f for f in self.findings if f.entity == "DATA_EXPOSURE")

    @property
    def entities(self) -> tuple[str, ...]:
        """Return the entities of the open findings, most severe first, once each."""
        return tuple(dict.fromkeys(f.entity for f in self.open_findings))


@dataclass(frozen=True)
class HistoryLine:
    """One event in an incident's history (an incident event or a finding's transition)."""

    at: dt.datetime
    subject: str
    event: str
    severity: Severity
    detail: str
    finding: str | None = None


@dataclass(frozen=True)
class TargetSummary:
    """One target at a glance: its open incidents and what its last poll covered.

    Attributes:
        configured: False for a target found only in the store (removed from the config).
        open_counts: open incidents per severity (every severity present).
        files: files the last poll found (its coverage), or else the live resources stored.
        last_listed: when the last poll ended, or else when a poll last listed one of its files.
        coverage: the last poll's coverage as the crawl recorded it (``Coverage``), if any.
        unchecked: (url, why) of files that could not be checked, from open findings.
    """

    name: str
    configured: bool
    open_counts: dict[Severity, int]
    files: int
    last_listed: dt.datetime | None
    # Any: monitor.models.Coverage where the store records it; duck-typed for older stores.
    coverage: Any = None
    unchecked: tuple[tuple[str, str], ...] = ()

    @property
    def open_total(self) -> int:
        """Return how many incidents are open."""
        return sum(self.open_counts.values())


class Views:
    """Reads what each page needs from the store.

    Args:
        store: leakmon's store (read only).
        targets: the configured target names, shown even before their first poll.
    """

    def __init__(self, store: Store, targets: Sequence[str]) -> None:
        self._store = store
        self._targets = list(targets)

    def incidents(self, target: str | None = None, open_only: bool = True) -> list[Incident]:
        """Return incidents: open first, most severe first, then most recently updated."""
        if hasattr(self._store, "incidents"):
            records = self._store.incidents(open_only=open_only, target=target)
            found = [_from_record(r) for r in records]
        else:
            found = _group(self._store.findings(open_only=False, target=target))
            if open_only:
                found = [i for i in found if i.status == "open"]
        return _ordered(found)

    def incident(self, key: str) -> Incident | None:
        """Return one incident by its key, one of its findings' keys, or its file's URL."""
        found: Incident | None = None
        if hasattr(self._store, "incident"):
            record = self._store.incident(key)
            found = _from_record(record) if record is not None else None
        else:
            for incident in _group(self._store.findings(open_only=False)):
                if key in (incident.key, incident.url) or any(
                    f.key == key for f in incident.findings
                ):
                    found = incident
                    break
        if found is None:
            return None
        resource = self._store.resource(found.url)
        return _with_resource(found, resource) if resource is not None else found

    def history(self, incident: Incident) -> list[HistoryLine]:
        """Return the incident's events and its findings' transitions, newest first."""
        lines: list[HistoryLine] = []
        if hasattr(self._store, "incident_events"):
            for event in self._store.incident_events(incident.key):
                lines.append(
                    HistoryLine(
                        at=event.occurred_at,
                        subject="incident",
                        event=event.event,
                        severity=event.severity,
                        detail=event.reason
                        + (f" (sent to {', '.join(event.recipients)})" if event.recipients else ""),
                    )
                )
        for finding in incident.findings:
            for fe in self._store.finding_events(finding.key):
                lines.append(
                    HistoryLine(
                        at=fe.occurred_at,
                        subject=_where(finding),
                        event=fe.event,
                        severity=fe.severity,
                        detail=fe.reason,
                        finding=finding.key,
                    )
                )
        lines.sort(key=lambda line: line.at, reverse=True)
        return lines

    def targets(self, incidents: list[Incident] | None = None) -> list[TargetSummary]:
        """Return every configured target (and any other the store knows), by name.

        Args:
            incidents: the open incidents, when the caller has read them already.
        """
        if incidents is None:
            incidents = self.incidents(open_only=True)
        walks = self._walks()
        names = list(dict.fromkeys([*self._targets, *(i.target for i in incidents), *walks]))
        return [self._summary(name, incidents, walks) for name in sorted(names)]

    def target(self, name: str) -> TargetSummary | None:
        """Return one target's summary, or ``None`` when neither config nor store knows it."""
        incidents = self.incidents(target=name, open_only=True)
        walks = self._walks()
        unknown = name not in self._targets and name not in walks and not incidents
        if unknown and not self._store.resources(name, include_gone=True):
            return None
        return self._summary(name, incidents, walks)

    def recently_resolved(self, target: str) -> list[Incident]:
        """Return a target's resolved incidents, most recently resolved first (bounded)."""
        done = [i for i in self.incidents(target=target, open_only=False) if i.status != "open"]
        done.sort(key=lambda i: i.resolved_at or i.updated_at, reverse=True)
        return done[:_RESOLVED_SHOWN]

    def _walks(self) -> dict[str, Any]:
        """Return each target's last recorded coverage, where the store keeps one."""
        if not hasattr(self._store, "walks"):
            return {}
        return {name: coverage for name, (_, coverage) in self._store.walks().items() if coverage}

    def _summary(
        self, name: str, incidents: Iterable[Incident], walks: dict[str, Any]
    ) -> TargetSummary:
        counts = dict.fromkeys(Severity, 0)
        unchecked: list[tuple[str, str]] = []
        for incident in incidents:
            if incident.target != name:
                continue
            counts[incident.severity] += 1
            unchecked += [
                (incident.url, f.reason) for f in incident.open_findings if f.entity in _UNCHECKED
            ]
        coverage = walks.get(name)
        if coverage is not None:
            # The crawl's own count: no need to list every file of a large portal per page view.
            files, last = coverage.discovered, coverage.at
        else:
            resources = self._store.resources(name)
            files, last = len(resources), max((r.last_seen for r in resources), default=None)
        return TargetSummary(
            name=name,
            configured=name in self._targets,
            open_counts=counts,
            files=files,
            last_listed=last,
            coverage=coverage,
            unchecked=tuple(unchecked),
        )


def _where(finding: FindingRecord) -> str:
    """Return where in the file a finding is: table and column(s), or the file itself."""
    column = finding.column or ", ".join(finding.columns)
    parts = [p for p in (finding.table, column) if p]
    return " / ".join(parts) if parts else "the file"


def _from_record(record: Any) -> Incident:
    """Return the page's incident from the store's ``IncidentRecord`` (Any: see module doc)."""
    return Incident(
        key=record.key,
        target=record.target,
        url=record.resource_url,
        portal=record.portal,
        dataset=record.dataset,
        status=record.status,
        severity=Severity(record.severity),
        opened_at=record.opened_at,
        updated_at=record.updated_at,
        resolved_at=record.resolved_at,
        findings=_sorted_findings(record.findings),
    )


def _group(findings: Iterable[FindingRecord]) -> list[Incident]:
    """Group findings by (target, file) into incidents (for a store without incidents)."""
    by_file: dict[tuple[str, str], list[FindingRecord]] = {}
    for finding in findings:
        by_file.setdefault((finding.target, finding.resource_url), []).append(finding)
    out = []
    for (target, url), group in by_file.items():
        opened = [f for f in group if f.status == "open"]
        pool = opened or group
        out.append(
            Incident(
                key=incident_key(target, url),
                target=target,
                url=url,
                portal="",
                dataset=None,
                status="open" if opened else "resolved",
                severity=Severity(max(f.severity for f in pool)),
                opened_at=min(f.opened_at for f in pool),
                updated_at=max(f.last_seen_at for f in group),
                resolved_at=None if opened else max(f.resolved_at or f.last_seen_at for f in group),
                findings=_sorted_findings(group),
            )
        )
    return out


def _sorted_findings(findings: Iterable[FindingRecord]) -> tuple[FindingRecord, ...]:
    return tuple(
        sorted(
            findings,
            key=lambda f: (_STATUS_ORDER.get(f.status, 3), -int(f.severity), f.entity, f.key),
        )
    )


def _ordered(incidents: list[Incident]) -> list[Incident]:
    return sorted(
        incidents,
        key=lambda i: (i.status != "open", -int(i.severity), -i.updated_at.timestamp(), i.key),
    )


def _with_resource(incident: Incident, resource: ResourceState) -> Incident:
    return dataclasses.replace(
        incident,
        portal=incident.portal or resource.portal,
        dataset=incident.dataset or resource.dataset,
        first_seen=resource.first_seen,
        last_seen=resource.last_seen,
        last_scanned=resource.last_scanned,
        gone_at=resource.gone_at,
    )
