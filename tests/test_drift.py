"""Schema drift: what changed, and how urgent the change is."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from monitor.drift import compare_schemas, drift_finding
from monitor.models import ColumnSchema, Severity, TableSchema
from monitor.scan import scan_path
from tests import synthetic

if TYPE_CHECKING:
    from pathlib import Path

AGG = TableSchema(
    None,
    (
        ColumnSchema("county", "text"),
        ColumnSchema("year", "number"),
        ColumnSchema("count", "number"),
    ),
    row_level=False,
    rows=100,
)


def _with(*extra: ColumnSchema, row_level: bool = False) -> TableSchema:
    return TableSchema(None, AGG.columns + extra, row_level=row_level, rows=100)


def test_unchanged_schema_is_no_drift() -> None:
    drift = compare_schemas(AGG, AGG)
    assert not drift.changed
    assert drift_finding("f.csv", drift, AGG) is None


def test_new_column_of_names_is_high_drift() -> None:
    current = _with(ColumnSchema("applicant", "text", "PERSON"), row_level=True)
    finding = drift_finding("f.csv", compare_schemas(AGG, current), current)
    assert finding is not None
    assert finding.entity == "SCHEMA_DRIFT"
    assert finding.severity >= Severity.HIGH
    assert "applicant (PERSON)" in finding.reason


def test_names_with_birth_dates_added_is_critical() -> None:
    current = _with(
        ColumnSchema("name", "text", "PERSON"),
        ColumnSchema("dob", "date", "DATE_OF_BIRTH"),
        row_level=True,
    )
    finding = drift_finding("f.csv", compare_schemas(AGG, current), current)
    assert finding is not None
    assert finding.severity is Severity.CRITICAL


@pytest.mark.parametrize(
    ("current", "severity"),
    [
        (_with(ColumnSchema("notes", "text")), Severity.MEDIUM),
        (TableSchema(None, AGG.columns[:2], row_level=False), Severity.LOW),
    ],
)
def test_non_personal_changes_stay_below_high(current: TableSchema, severity: Severity) -> None:
    finding = drift_finding("f.csv", compare_schemas(AGG, current), current)
    assert finding is not None
    assert finding.severity is severity


def test_same_position_and_type_is_a_rename() -> None:
    current = TableSchema(None, (ColumnSchema("County", "text"), *AGG.columns[1:]), False)
    drift = compare_schemas(AGG, current)
    assert drift.renamed == (("county", "County"),)
    assert drift.added == drift.removed == ()


def test_aggregate_turned_row_level_is_high() -> None:
    current = TableSchema(None, AGG.columns, row_level=True)
    finding = drift_finding("f.csv", compare_schemas(AGG, current), current)
    assert finding is not None
    assert finding.severity is Severity.HIGH


def test_scanner_reports_row_level_schemas(tmp_path: Path) -> None:
    clean = scan_path(synthetic.clean_aggregate_csv(tmp_path)).schemas[0]
    leak = scan_path(synthetic.headerless_people_csv(tmp_path, rows=100)).schemas[0]
    assert not clean.row_level
    assert leak.row_level
    assert {c.entity for c in leak.columns} >= {"PERSON", "DATE_OF_BIRTH"}
    assert TableSchema.from_dict(leak.to_dict()) == leak
