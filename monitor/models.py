"""Frozen value objects passed between leakmon's layers.

They are neither ORM rows nor Scrapy items: each layer converts at its edge. Every
value object checks itself when built, so a bad value fails where it is made.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "ENTITIES",
    "FileReport",
    "Finding",
    "ReadLimits",
    "Severity",
    "Table",
]

#: Entity names leakmon reports. Presidio's names where Presidio has one.
ENTITIES = frozenset(
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
        "REIDENTIFICATION",
        "FILE_LIMIT",
    }
)


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
