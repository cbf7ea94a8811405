"""Synthetic leak files (Faker) are caught with the right entity, column and severity."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from monitor.models import Severity
from monitor.scan import scan_path
from tests import synthetic
from tests.evidence import raw_values_in

if TYPE_CHECKING:
    from pathlib import Path

    from monitor.models import FileReport, Finding


def _by_column(report: FileReport) -> dict[str, Finding]:
    out: dict[str, Finding] = {}
    for f in report.findings:
        if f.column and (f.column not in out or f.severity > out[f.column].severity):
            out[f.column] = f
    return out


def test_ccw_applicant_list_is_critical_on_every_pii_column(tmp_path: Path) -> None:
    report = scan_path(synthetic.ccw_applicants_csv(tmp_path, rows=5000))
    cols = _by_column(report)
    for column, entity in [
        ("first_name", "PERSON"),
        ("last_name", "PERSON"),
        ("date_of_birth", "DATE_OF_BIRTH"),
        ("street", "ADDRESS"),
    ]:
        assert cols[column].entity == entity
        assert cols[column].severity is Severity.CRITICAL
    assert cols["phone"].entity == "PHONE_NUMBER"
    assert cols["email"].entity == "EMAIL_ADDRESS"
    for clean in ("issue_date", "license_type", "county"):
        assert clean not in cols


def test_workbook_detail_sheet_is_caught_and_summary_sheet_is_clean(tmp_path: Path) -> None:
    report = scan_path(synthetic.purchasers_workbook(tmp_path))
    sheets = {f.table for f in report.findings}
    assert sheets == {"Detail"}
    entities = {f.entity for f in report.findings if f.severity is Severity.CRITICAL}
    assert {"PERSON", "DATE_OF_BIRTH", "US_DRIVER_LICENSE"} <= entities


def test_nested_json_paths_are_reported(tmp_path: Path) -> None:
    report = scan_path(synthetic.nested_json(tmp_path))
    columns = {f.column for f in report.findings if f.severity >= Severity.HIGH}
    assert any(c and c.endswith("fullName") for c in columns)
    assert any(c and "homeAddress" in c for c in columns)


def test_geojson_properties_are_reported(tmp_path: Path) -> None:
    report = scan_path(synthetic.geojson_points(tmp_path))
    assert any(
        f.column and f.column.startswith("features.properties.") and f.severity >= Severity.HIGH
        for f in report.findings
    )


def test_zip_member_with_row_level_people_is_named(tmp_path: Path) -> None:
    report = scan_path(synthetic.zip_hiding_rowlevel_csv(tmp_path))
    loud = [f for f in report.findings if f.severity >= Severity.HIGH]
    assert loud
    assert all(f.table and "/" in f.table for f in loud)


def test_headerless_columns_are_classified_by_values(tmp_path: Path) -> None:
    report = scan_path(synthetic.headerless_people_csv(tmp_path))
    cols = _by_column(report)
    assert cols["c1"].entity == "PERSON"
    assert cols["c3"].entity == "DATE_OF_BIRTH"
    assert cols["c3"].severity is Severity.CRITICAL


def test_birth_date_zip_sex_rows_are_a_reidentification_leak(tmp_path: Path) -> None:
    report = scan_path(synthetic.dob_zip_sex_csv(tmp_path))
    reid = [f for f in report.findings if f.entity == "REIDENTIFICATION"]
    assert reid
    assert reid[0].severity is Severity.HIGH
    assert set(reid[0].columns) == {"birth_date", "zip", "sex"}


def test_finds_a_few_ssns_hidden_in_sixty_thousand_notes(tmp_path: Path) -> None:
    path, rows = synthetic.ssn_needles_csv(tmp_path, rows=60_000, needles=5)
    report = scan_path(path)
    ssn = [f for f in report.findings if f.entity == "US_SSN"]
    assert len(ssn) == 1
    assert ssn[0].column == "notes"
    assert ssn[0].matched == len(rows) == 5
    assert ssn[0].severity >= Severity.HIGH
    assert all(e.startswith("***-**-") for e in ssn[0].evidence)


def test_names_and_phones_inside_notes_are_found(tmp_path: Path) -> None:
    report = scan_path(synthetic.notes_with_names_and_phones_csv(tmp_path))
    entities = {f.entity: f for f in report.findings if f.column == "notes"}
    assert "PHONE_NUMBER" in entities
    assert "PERSON" in entities
    assert entities["PERSON"].severity >= Severity.HIGH


def test_unlabelled_birth_date_column_is_found(tmp_path: Path) -> None:
    report = scan_path(synthetic.birth_dates_unlabelled_csv(tmp_path))
    cols = _by_column(report)
    assert cols["c3"].entity == "DATE_OF_BIRTH"
    assert cols["c3"].severity >= Severity.HIGH
    assert set(cols) == {"c3"}


def test_redacted_birth_dates_are_not_a_birth_date_column(tmp_path: Path) -> None:
    report = scan_path(synthetic.redacted_dob_csv(tmp_path))
    dob = [f for f in report.findings if f.column == "Date of Birth"]
    assert all(f.severity is Severity.LOW for f in dob)


def test_aggregate_table_raises_nothing(tmp_path: Path) -> None:
    report = scan_path(synthetic.clean_aggregate_csv(tmp_path))
    assert report.findings == ()


def test_variants_of_the_aggregate_table_differ_and_raise_nothing(tmp_path: Path) -> None:
    # The scale benchmarks publish thousands of them as a clean portal.
    base, variants = synthetic.clean_variants(tmp_path / "base", 500)
    bodies = list(variants)
    last = tmp_path / "last.csv"
    last.write_bytes(bodies[-1])

    assert len(set(bodies)) == 500
    assert base not in bodies
    assert scan_path(last).findings == ()


@pytest.mark.parametrize("maker", [synthetic.ccw_applicants_csv, synthetic.headerless_people_csv])
def test_no_raw_value_reaches_the_report(tmp_path: Path, maker: object) -> None:
    path = maker(tmp_path, rows=300)  # type: ignore[operator]
    raw_cells = {
        c for line in path.read_text().splitlines()[1:] for c in line.split(",") if len(c) > 4
    }
    report = scan_path(path)
    text = json.dumps([f.to_dict() for f in report.findings]) + repr(report.findings)
    assert raw_values_in(raw_cells, text) == []
