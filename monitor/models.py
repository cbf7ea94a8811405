"""Frozen value objects passed between leakmon's layers.

They are neither ORM rows nor Scrapy items: each layer converts at its edge. Every
value object checks itself when built, so a bad value fails where it is made.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    import polars as pl

__all__ = [
    "ALERT_EVENTS",
    "CHECKED_STATES",
    "COVERAGE_STATES",
    "ENTITIES",
    "MECHANISMS",
    "NOT_CHECKED_STATES",
    "PERSONAL_ENTITIES",
    "VERDICTS",
    "Alert",
    "AlertFinding",
    "ColumnSchema",
    "Coverage",
    "DownloadJob",
    "Drift",
    "FetchedFile",
    "FileReport",
    "Finding",
    "ReadLimits",
    "Severity",
    "Table",
    "TableSchema",
    "ViewExposure",
    "utcnow",
]


def utcnow() -> dt.datetime:
    """Return the current time in UTC (leakmon never uses naive datetimes)."""
    return dt.datetime.now(dt.UTC)


#: Column entities that describe an individual (quasi-identifiers alone do not).
PERSONAL_ENTITIES = frozenset(
    {
        "PERSON",
        "DATE_OF_BIRTH",
        "ADDRESS",
        "US_SSN",
        "US_DRIVER_LICENSE",
        "STATE_ID",
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "CREDIT_CARD",
        "NATIONAL_ID",
    }
)
#: Entity names leakmon reports. Presidio's names where Presidio has one.
ENTITIES = PERSONAL_ENTITIES | {"REIDENTIFICATION", "FILE_LIMIT", "SCHEMA_DRIFT", "DATA_EXPOSURE"}


class Severity(enum.IntEnum):
    """How urgently a finding needs a human; ordered so that ``max()`` works."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Return the severity named by ``text`` (case-insensitive)."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.name.lower() for s in cls)
            raise ValueError(f"unknown severity {text!r}; expected one of {names}") from None

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class ReadLimits:
    """Bounds every reader obeys, so a hostile file costs a finding, not the daemon.

    ``depth`` is the archive nesting level of the file being read; readers of
    containers pass ``depth + 1`` to the members they hand back to the registry.
    """

    max_file_bytes: int = 2 * 1024**3
    max_rows: int = 50_000_000
    max_columns: int = 5_000
    max_sheets: int = 200
    chunk_bytes: int = 8 * 1024**2
    chunk_rows: int = 200_000
    max_archive_depth: int = 3
    max_archive_members: int = 10_000
    max_uncompressed_bytes: int = 4 * 1024**3
    max_compression_ratio: float = 200.0
    max_pdf_pages: int = 500
    max_json_bytes: int = 512 * 1024**2
    depth: int = 0

    def __post_init__(self) -> None:
        for name in ("max_file_bytes", "max_rows", "max_columns", "chunk_bytes", "chunk_rows"):
            if getattr(self, name) <= 0:
                raise ValueError(f"ReadLimits.{name} must be positive, got {getattr(self, name)}")
        if self.depth < 0:
            raise ValueError(f"ReadLimits.depth must be >= 0, got {self.depth}")


@dataclass(frozen=True, eq=False)
class Table:
    """One chunk of rows from one logical table of a file.

    A reader yields a table in chunks; chunks of the same table share ``name``
    and ``columns`` and carry increasing ``row_offset``. Every column of
    ``frame`` is a string column (null for empty cells): detection works on
    text as the file shows it, not on types a parser guessed.

    Attributes:
        source: the file as the user named it (path or URL).
        name: sheet, archive member or JSON path; ``None`` for a plain file.
        frame: the rows of this chunk, one Utf8 column per header.
        row_offset: index of this chunk's first row within the table.
        headerless: True when the file had no header row and names are ``c1..cN``.
        kind: the reader kind that produced the table (``csv``, ``spreadsheet``...).
    """

    source: str
    name: str | None
    frame: pl.DataFrame
    row_offset: int = 0
    headerless: bool = False
    kind: str = ""

    def __post_init__(self) -> None:
        if self.row_offset < 0:
            raise ValueError(f"Table.row_offset must be >= 0, got {self.row_offset}")

    @property
    def columns(self) -> list[str]:
        """Return the column names."""
        return list(self.frame.columns)

    @property
    def key(self) -> tuple[str, str | None]:
        """Return what identifies the logical table across chunks."""
        return (self.source, self.name)


@dataclass(frozen=True)
class Finding:
    """Evidence that a table holds personal data; never holds a raw matched value.

    Attributes:
        file: the file as the user named it.
        table: sheet, archive member or JSON path, when any.
        column: the column (header or dotted path); ``None`` for table-level findings.
        columns: for table-level findings (re-identification), the columns involved.
        entity: what was found (``PERSON``, ``US_SSN``...).
        severity: how urgent it is.
        score: confidence in 0..1.
        matched: how many cells matched.
        scanned: how many non-empty cells were examined.
        evidence: a few masked samples (``J*** S****``).
        reason: one human sentence saying why.
        fingerprint: keyed hash of the matched values, for deduplication.
    """

    file: str
    table: str | None
    column: str | None
    entity: str
    severity: Severity
    score: float
    matched: int
    scanned: int
    evidence: tuple[str, ...] = ()
    reason: str = ""
    columns: tuple[str, ...] = ()
    fingerprint: str = ""

    def __post_init__(self) -> None:
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"Finding.score must be within 0..1, got {self.score}")
        if self.matched < 0 or self.scanned < 0:
            raise ValueError(
                f"Finding matched and scanned must be >= 0, got {self.matched}/{self.scanned}"
            )
        if self.entity not in ENTITIES:
            raise ValueError(f"Finding.entity {self.entity!r} is not a known entity")
        if len(self.evidence) > 5:
            raise ValueError(f"Finding.evidence holds at most 5 samples, got {len(self.evidence)}")

    def __repr__(self) -> str:
        where = self.column if self.column is not None else ",".join(self.columns)
        return (
            f"Finding({self.severity} {self.entity} file={self.file!r} table={self.table!r} "
            f"column={where!r} matched={self.matched}/{self.scanned} evidence={self.evidence!r})"
        )

    def to_dict(self) -> dict[str, object]:
        """Return the JSON shape of the ``scan --format json`` contract."""
        out: dict[str, object] = {
            "file": self.file,
            "table": self.table,
            "column": self.column,
            "entity": self.entity,
            "severity": str(self.severity),
            "score": round(self.score, 3),
            "matched": self.matched,
            "scanned": self.scanned,
            "evidence": list(self.evidence),
            "reason": self.reason,
            "fingerprint": self.fingerprint,
        }
        if self.columns:
            out["columns"] = list(self.columns)
        return out


@dataclass(frozen=True)
class FileReport:
    """What scanning one file produced: its findings, or why it could not be read."""

    file: str
    kind: str
    size: int
    tables: int
    rows: int
    findings: tuple[Finding, ...] = ()
    error: str | None = None
    seconds: float = 0.0
    table_names: tuple[str, ...] = field(default_factory=tuple)
    schemas: tuple[TableSchema, ...] = ()

    @property
    def worst(self) -> Severity | None:
        """Return the most severe finding's severity, or ``None``."""
        return max((f.severity for f in self.findings), default=None)

    def to_dict(self) -> dict[str, object]:
        """Return the JSON shape of one entry of ``files`` in ``scan --format json``."""
        return {
            "file": self.file,
            "kind": self.kind,
            "size": self.size,
            "tables": self.tables,
            "rows": self.rows,
            "findings": len(self.findings),
            "worst": str(self.worst) if self.worst else None,
            "error": self.error,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class ColumnSchema:
    """One column as a schema baseline remembers it: no values, only their kind.

    Attributes:
        name: the header or dotted path.
        type: ``number``, ``date``, ``text`` or ``empty``.
        entity: the personal-data class the detector gave the column, if any.
    """

    name: str
    type: str
    entity: str | None = None


@dataclass(frozen=True)
class TableSchema:
    """The shape of one table of a file, for schema baselines and drift.

    Attributes:
        table: sheet, member or JSON path; ``None`` for a plain file.
        columns: the columns in file order.
        row_level: True when rows describe individuals (a personal-data column or
            unique quasi-identifier rows), False for aggregates and code lists.
        rows: how many rows the table had.
    """

    table: str | None
    columns: tuple[ColumnSchema, ...]
    row_level: bool
    rows: int = 0

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready form (stored as a baseline)."""
        return {
            "table": self.table,
            "row_level": self.row_level,
            "rows": self.rows,
            "columns": [{"name": c.name, "type": c.type, "entity": c.entity} for c in self.columns],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableSchema:
        """Build a schema from ``to_dict`` output (Any: it is parsed JSON)."""
        columns = tuple(
            ColumnSchema(str(c["name"]), str(c["type"]), c.get("entity"))
            for c in data.get("columns") or []
        )
        table = data.get("table")
        return cls(
            table=str(table) if table is not None else None,
            columns=columns,
            row_level=bool(data.get("row_level")),
            rows=int(data.get("rows") or 0),
        )


@dataclass(frozen=True)
class Drift:
    """How a table's schema changed against its accepted baseline."""

    table: str | None
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    renamed: tuple[tuple[str, str], ...] = ()
    became_row_level: bool = False

    @property
    def changed(self) -> bool:
        """Say whether anything changed."""
        return bool(self.added or self.removed or self.renamed or self.became_row_level)


@dataclass(frozen=True)
class FetchedFile:
    """A file the crawler downloaded, ready to scan.

    Attributes:
        target: the configured target's name.
        url: where it was downloaded from (never a metric label).
        path: the local temporary file; the consumer deletes it.
        sha256: hex digest of the body.
        size: body length in bytes.
        media_type: the server's Content-Type, without parameters.
        etag: the ``ETag`` validator, for the next conditional GET.
        last_modified: the ``Last-Modified`` validator.
        fetched_at: when the body arrived (UTC).
        portal: the portal kind that found it (``html``, ``ckan``...).
        dataset: the dataset id or title it belongs to, when known.
        first_seen: when the URL was first seen (UTC), for time-to-alert.
    """

    target: str
    url: str
    path: Path
    sha256: str
    size: int
    media_type: str | None
    etag: str | None
    last_modified: str | None
    fetched_at: dt.datetime
    portal: str = "html"
    dataset: str | None = None
    first_seen: dt.datetime | None = None

    def __post_init__(self) -> None:
        if self.fetched_at.tzinfo is None:
            raise ValueError("FetchedFile.fetched_at must be timezone-aware (UTC)")


#: How a Tableau view lets a visitor take its data, in the order a person meets them.
MECHANISMS = ("summary_data", "full_data", "crosstab", "workbook")


@dataclass(frozen=True)
class ViewExposure:
    """What one Tableau view lets an anonymous visitor download, as its viz session showed.

    Attributes:
        target: the configured target's name.
        url: the view's URL (``<server>[/t/<site>]/views/<workbook>/<sheet>``).
        view: ``<workbook>/<sheet>``, for people reading alerts.
        offers: the mechanisms (``MECHANISMS``) the view offers this visitor.
        permissions: the session's permission flags, ``(name, value)`` sorted by name.
        forbidden: the offered mechanisms the target's configuration forbids.
    """

    target: str
    url: str
    view: str
    offers: tuple[str, ...]
    permissions: tuple[tuple[str, bool], ...] = ()
    forbidden: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = set(self.offers) - set(MECHANISMS)
        if unknown:
            raise ValueError(f"ViewExposure: unknown mechanism(s) {sorted(unknown)}")
        if not set(self.forbidden) <= set(self.offers):
            raise ValueError("ViewExposure.forbidden must name offered mechanisms only")


@dataclass(frozen=True)
class DownloadJob:
    """A file a poll found, queued for whichever replica downloads it (cluster mode).

    Attributes:
        target: the configured target's name.
        url: the file's absolute URL as linked.
        found_at: when the poll found the link (UTC), for time-to-alert.
        portal: the portal kind that found it.
        dataset: the dataset id or title it belongs to, when known.
        referer: the page that linked it.
    """

    target: str
    url: str
    found_at: dt.datetime
    portal: str = "html"
    dataset: str | None = None
    referer: str | None = None

    def __post_init__(self) -> None:
        if self.found_at.tzinfo is None:
            raise ValueError("DownloadJob.found_at must be timezone-aware (UTC)")
        if not self.url.startswith(("http://", "https://")):
            raise ValueError("DownloadJob.url must be an http(s) URL")

    def to_dict(self) -> dict[str, str]:
        """Return the job as flat strings (a Redis stream entry's fields)."""
        out = {
            "target": self.target,
            "url": self.url,
            "found_at": self.found_at.isoformat(),
            "portal": self.portal,
        }
        if self.dataset is not None:
            out["dataset"] = self.dataset
        if self.referer is not None:
            out["referer"] = self.referer
        return out

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> DownloadJob:
        """Rebuild a job from ``to_dict`` output.

        Raises:
            ValueError: a field is missing or malformed.
        """
        try:
            return cls(
                target=data["target"],
                url=data["url"],
                found_at=dt.datetime.fromisoformat(data["found_at"]),
                portal=data.get("portal") or "html",
                dataset=data.get("dataset"),
                referer=data.get("referer"),
            )
        except KeyError as exc:
            raise ValueError(f"download job without {exc.args[0]!r}") from None


#: What an incident event says: the file's first open finding, a change while it stays
#: open (findings added, left, or more severe), or its last open finding gone.
ALERT_EVENTS = ("opened", "updated", "resolved")
#: What happened to one finding in an incident event (``None``: unchanged, carried along).
FINDING_CHANGES = ("opened", "escalated", "resolved", "allowed")


@dataclass(frozen=True)
class AlertFinding:
    """One finding of an incident as an alert carries it: masked evidence and counts only.

    Attributes:
        key: the finding's stable key (the findings page links to it).
        status: ``open``, ``resolved`` or ``allowed`` after this event.
        change: what this event did to the finding (``opened``, ``escalated``,
            ``resolved``, ``allowed``), or ``None`` when it is only carried along.
    """

    key: str
    entity: str
    severity: Severity
    status: str
    table: str | None
    columns: tuple[str, ...]
    evidence: tuple[str, ...]
    matched: int
    reason: str
    change: str | None = None

    def __post_init__(self) -> None:
        if self.change is not None and self.change not in FINDING_CHANGES:
            raise ValueError(f"AlertFinding.change must be one of {FINDING_CHANGES}")

    def to_dict(self) -> dict[str, object]:
        """Return the finding as the webhook JSON body lists it."""
        return {
            "key": self.key,
            "entity": self.entity,
            "severity": str(self.severity),
            "status": self.status,
            "change": self.change,
            "table": self.table,
            "columns": list(self.columns),
            "evidence": list(self.evidence),
            "matched": self.matched,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Alert:
    """One event of one incident (one published file): what webhooks, Slack and PagerDuty get.

    An incident groups every finding of one file of one target (drift included):
    it opens with all of them, is updated when findings are added, leave, or grow
    more severe, and resolves when the last one resolves.

    Attributes:
        event: ``opened``, ``updated`` or ``resolved``.
        key: the incident's stable key, one per target + file (PagerDuty ``dedup_key``).
        severity: the highest severity among the incident's open findings (for a
            resolution: the highest one announced).
        target: the configured target name.
        resource_url: the file's URL.
        findings: the open findings, then those this event resolved or allowed.
        reason: one human sentence saying what this event is about.
        occurred_at: when the transition happened (UTC).
        sequence: per-incident event number, so receivers can order events.
        link: a link back to the incident, when a base URL is configured.
        portal: the portal kind that found the file (``html``, ``ckan``, ``tableau``...).
        dataset: the dataset, workbook or layer the file belongs to, when known.
        opened_at: when the incident (last) opened.
    """

    event: str
    key: str
    severity: Severity
    target: str
    resource_url: str
    findings: tuple[AlertFinding, ...]
    reason: str
    occurred_at: dt.datetime
    sequence: int = 1
    link: str | None = None
    portal: str | None = None
    dataset: str | None = None
    opened_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        if self.event not in ALERT_EVENTS:
            raise ValueError(f"Alert.event must be one of {ALERT_EVENTS}, got {self.event!r}")
        if self.occurred_at.tzinfo is None:
            raise ValueError("Alert.occurred_at must be timezone-aware (UTC)")

    @property
    def open_findings(self) -> tuple[AlertFinding, ...]:
        """Return the findings still open after this event."""
        return tuple(f for f in self.findings if f.status == "open")

    def _shown(self) -> tuple[AlertFinding, ...]:
        # A resolution has no open finding left: describe what it resolved.
        return self.open_findings or self.findings

    @property
    def entities(self) -> tuple[str, ...]:
        """Return the entities of the open findings (of all, once none is open), sorted."""
        return tuple(sorted({f.entity for f in self._shown()}))

    @property
    def columns(self) -> tuple[str, ...]:
        """Return the columns involved, in finding order, each once."""
        return tuple(dict.fromkeys(c for f in self._shown() for c in f.columns))

    @property
    def tables(self) -> tuple[str, ...]:
        """Return the tables (sheets, members) involved, each once."""
        return tuple(dict.fromkeys(f.table for f in self._shown() if f.table))

    @property
    def evidence(self) -> tuple[str, ...]:
        """Return the masked samples of the shown findings, each once."""
        return tuple(dict.fromkeys(e for f in self._shown() for e in f.evidence))

    @property
    def matched(self) -> int:
        """Return how many cells matched, over the shown findings."""
        return sum(f.matched for f in self._shown())

    def changed(self, change: str) -> tuple[AlertFinding, ...]:
        """Return the findings this event changed in one way (``opened``, ``resolved``...)."""
        return tuple(f for f in self.findings if f.change == change)

    def to_dict(self) -> dict[str, object]:
        """Return the generic webhook JSON body (unbounded; notifiers cut it to fit)."""
        return {
            "event": self.event,
            "key": self.key,
            "severity": str(self.severity),
            "target": self.target,
            "resource_url": self.resource_url,
            "portal": self.portal,
            "dataset": self.dataset,
            "reason": self.reason,
            "entities": list(self.entities),
            "tables": list(self.tables),
            "columns": list(self.columns),
            "evidence": list(self.evidence),
            "matched": self.matched,
            "open_findings": len(self.open_findings),
            "findings": [f.to_dict() for f in self.findings],
            "occurred_at": self.occurred_at.isoformat(),
            "opened_at": self.opened_at.isoformat() if self.opened_at else None,
            "sequence": self.sequence,
            "link": self.link,
        }


#: Coverage states of a resource a poll found: looked at (``checked``: read, or
#: found gone), the same as last time (``unchanged``), handed to another replica
#: (``queued``, cluster mode), or not checked, with the reason.
CHECKED_STATES = ("checked", "unchanged", "queued")
#: The built-in readers' kinds (``monitor.readers.REGISTRY`` holds them and any plugin's),
#: by name only: the daemon primes its scan metrics with them without importing the
#: parsers (polars, pdfminer: about 60 MB) that only its scan workers use.
READER_KINDS = (
    "csv",
    "html",
    "hyper",
    "json",
    "ndjson",
    "pdf",
    "spreadsheet",
    "tableau-data",
    "tde",
    "twb",
    "twbx",
    "zip",
)
NOT_CHECKED_STATES = ("robots", "budget", "error", "unsupported", "permission")
COVERAGE_STATES = CHECKED_STATES + NOT_CHECKED_STATES
#: Verdicts of a poll: everything listed was checked; the poll walked only its share of
#: a catalogue read across polls; or something was not checked (or not even listed).
VERDICTS = ("complete", "partial", "incomplete")


@dataclass(frozen=True)
class Coverage:
    """What one poll of one target looked at, and what it could not, with why.

    Attributes:
        target: the configured target's name.
        at: when the poll ended (UTC).
        counts: resources per state (``COVERAGE_STATES``); every state is present.
        verdict: ``complete``, ``partial`` or ``incomplete`` (``VERDICTS``).
        why: why the poll is not complete, in one line (``None`` when it is).
        notes: a few "state url: why" lines naming what was not checked (bounded).
        incomplete_since: when the target's coverage last fell short of everything and
            has stayed so (``None`` while the last poll checked everything it could list).
    """

    target: str
    at: dt.datetime
    counts: dict[str, int]
    verdict: str
    why: str | None = None
    notes: tuple[str, ...] = ()
    incomplete_since: dt.datetime | None = None

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or (
            self.incomplete_since is not None and self.incomplete_since.tzinfo is None
        ):
            raise ValueError("Coverage times must be timezone-aware (UTC)")
        if set(self.counts) != set(COVERAGE_STATES) or min(self.counts.values()) < 0:
            raise ValueError(f"Coverage.counts needs a count >= 0 for each of {COVERAGE_STATES}")
        if self.verdict not in VERDICTS:
            raise ValueError(f"Coverage.verdict must be one of {VERDICTS}, got {self.verdict!r}")
        if (self.verdict == "complete") != (self.why is None):
            raise ValueError("Coverage.why is given exactly when the poll is not complete")

    @property
    def discovered(self) -> int:
        """Return how many resources the poll found (checked or not)."""
        return sum(self.counts.values())

    @property
    def not_checked(self) -> int:
        """Return how many resources the poll found but did not check."""
        return sum(self.counts[s] for s in NOT_CHECKED_STATES)

    def line(self) -> str:
        """Return the coverage in one line: ``98 found: 80 checked, 6 unchanged, 12 robots``."""
        parts = [f"{self.counts[s]} {s}" for s in COVERAGE_STATES if self.counts[s]]
        return f"{self.discovered} found" + (": " + ", ".join(parts) if parts else "")

    def to_dict(self) -> dict[str, Any]:
        """Return the coverage as JSON (Any: mixed JSON values)."""
        return {
            "target": self.target,
            "at": self.at.isoformat(),
            "counts": dict(self.counts),
            "verdict": self.verdict,
            "why": self.why,
            "notes": list(self.notes),
            "incomplete_since": (
                self.incomplete_since.isoformat() if self.incomplete_since else None
            ),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Coverage:
        """Rebuild a coverage from ``to_dict`` output (Any: JSON).

        Raises:
            ValueError: a field is missing or malformed.
        """
        try:
            since = data.get("incomplete_since")
            return cls(
                target=str(data["target"]),
                at=dt.datetime.fromisoformat(data["at"]),
                counts={s: int(data["counts"].get(s, 0)) for s in COVERAGE_STATES},
                verdict=str(data["verdict"]),
                why=data.get("why"),
                notes=tuple(str(n) for n in data.get("notes") or ()),
                incomplete_since=dt.datetime.fromisoformat(since) if since else None,
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"coverage record without a valid {exc}") from None
