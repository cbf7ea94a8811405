"""Schema drift: how a file's tables changed against their accepted baselines.

A portal file whose columns change is the classic precursor of a leak: an
aggregate export gains a name column, a dashboard's download switches from
counts to rows. Drift is reported as a finding whose severity follows what was
added: a new column of names or identifiers is at least ``high``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.models import PERSONAL_ENTITIES as _PERSONAL
from monitor.models import Drift, Finding, Severity

if TYPE_CHECKING:
    from monitor.models import TableSchema

__all__ = ["compare_schemas", "drift_finding"]


def compare_schemas(baseline: TableSchema, current: TableSchema) -> Drift:
    """Return what changed from the baseline to the current schema.

    A column that disappeared and one that appeared at the same position with
    the same value type count as a rename, not as a removal plus an addition.
    """
    old = [c.name for c in baseline.columns]
    new = [c.name for c in current.columns]
    added = [c for c in new if c not in old]
    removed = [c for c in old if c not in new]
    renamed: list[tuple[str, str]] = []
    old_types = {c.name: (i, c.type) for i, c in enumerate(baseline.columns)}
    new_types = {c.name: (i, c.type) for i, c in enumerate(current.columns)}
    for gone in list(removed):
        position, kind = old_types[gone]
        for fresh in added:
            if new_types[fresh] == (position, kind):
                renamed.append((gone, fresh))
                removed.remove(gone)
                added.remove(fresh)
                break
    return Drift(
        table=current.table,
        added=tuple(added),
        removed=tuple(removed),
        renamed=tuple(renamed),
        became_row_level=current.row_level and not baseline.row_level,
    )


def drift_finding(file: str, drift: Drift, current: TableSchema) -> Finding | None:
    """Return a ``SCHEMA_DRIFT`` finding for a change, or ``None`` when nothing changed.

    Severity: personal data in an added or renamed column, or a table turned
    row-level, is ``high`` (``critical`` when the new columns include names and
    another personal identifier); other additions and renames are ``medium``;
    removals alone are ``low``.
    """
    if not drift.changed:
        return None
    entities = {c.name: c.entity for c in current.columns}
    new_columns = [*drift.added, *(new for _, new in drift.renamed)]
    personal = sorted({e for c in new_columns if (e := entities.get(c)) in _PERSONAL})
    if personal and "PERSON" in personal and len(personal) > 1:
        severity = Severity.CRITICAL
    elif personal or drift.became_row_level:
        severity = Severity.HIGH
    elif new_columns:
        severity = Severity.MEDIUM
    else:
        severity = Severity.LOW
    parts = []
    if drift.added:
        parts.append("added " + ", ".join(_label(c, entities) for c in drift.added))
    if drift.renamed:
        parts.append(
            "renamed " + ", ".join(f"{a} → {_label(b, entities)}" for a, b in drift.renamed)
        )
    if drift.removed:
        parts.append("removed " + ", ".join(drift.removed))
    if drift.became_row_level:
        parts.append("the table turned from aggregate to row-level data")
    return Finding(
        file=file,
        table=drift.table,
        column=None,
        entity="SCHEMA_DRIFT",
        severity=severity,
        score=1.0,
        matched=len(drift.added) + len(drift.removed) + len(drift.renamed),
        scanned=len(current.columns),
        reason="Columns changed against the accepted baseline: " + "; ".join(parts) + ".",
        columns=tuple(new_columns) or drift.removed,
    )


def _label(column: str, entities: dict[str, str | None]) -> str:
    entity = entities.get(column)
    return f"{column} ({entity})" if entity in _PERSONAL else column
