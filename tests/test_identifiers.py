"""Names from a file's structure are checked for personal data before anything keeps them."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

import pytest

from monitor.config import ScanConfig
from monitor.detect.names import NameLists
from monitor.drift import compare_schemas, drift_finding
from monitor.identifiers import IdentifierGuard
from monitor.readers import read_tables
from monitor.scan import scan_path
from tests.evidence import raw_values_in
from tests.structures import Structures, write_structures

if TYPE_CHECKING:
    from pathlib import Path

    from monitor.models import FileReport

CONFIG = ScanConfig(free_text_analysis=False)


@pytest.fixture(scope="module")
def guard() -> IdentifierGuard:
    return IdentifierGuard(NameLists.default())


@pytest.fixture(scope="module")
def structures(tmp_path_factory: pytest.TempPathFactory) -> Structures:
    return write_structures(tmp_path_factory.mktemp("structures"))


@pytest.mark.parametrize(
    ("name", "personal"),
    [
        ("John Smith", True),
        ("GARCIA, MARIA", True),
        ("smith_john_1980-02-01.csv", True),
        ("garcia_maria.csv", True),
        ("jdoe@example.com", True),
        ("555-123-4567", True),
        ("123-45-6789", True),
        ("SSN 123456789", True),
        ("A1234567", True),
        ("1234 Oak Street", True),
        ("people.John Smith.age", True),
        ("cases 2020-03-01", True),
        # near misses: ordinary headers, places, years, counts
        ("first_name", False),
        ("last_name", False),
        ("date_of_birth", False),
        ("email", False),
        ("Grant Park", False),
        ("Washington", False),
        ("population_2019", False),
        ("Top 10 Streets", False),
        ("data.csv", False),
        ("report.xlsx::Sheet1", False),
        ("zip", False),
    ],
)
def test_tells_personal_names_from_headers(guard: IdentifierGuard, name: str, personal: bool):
    assert guard.personal(name) is personal


def test_header_row_that_is_a_record_is_named_by_position(guard: IdentifierGuard):
    renames = guard.column_names(None, ["Jane", "Doe", "Springfield", "F"])
    assert renames == {
        "Jane": "column 1",
        "Doe": "column 2",
        "Springfield": "column 3",
        "F": "column 4",
    }
    assert guard.column_names(None, ["first", "last", "city"]) == {}
    assert guard.column_names(None, ["Name", "City", "State"]) == {}


def test_member_and_table_names_get_stable_position_names():
    guard = IdentifierGuard(NameLists.default())
    assert guard.table_name("records/smith_john_1980-02-01.csv") == "member 1"
    assert guard.table_name("records/data.csv") == "records/data.csv"
    assert guard.table_name("records/garcia_maria.csv::Sheet1") == "member 2::Sheet1"
    assert guard.table_name("records/smith_john_1980-02-01.csv") == "member 1"  # stable
    assert guard.table_name("Jane Doe") == "table 1"


def test_error_texts_lose_quoted_personal_names(guard: IdentifierGuard):
    text = guard.text(
        "CorruptFile: x.zip: member 'smith_john_1980-02-01.csv': bad; key \"jdoe@example.com\""
        " near 123-45-6789; smith_john.csv: 5 bytes over the limit of 1048576 bytes"
    )
    for raw in ("smith", "john", "jdoe@example.com", "123-45-6789", "1980-02-01"):
        assert raw not in text
    assert "1048576 bytes" in text  # sizes and counts stay


def _read_raw(path: Path) -> str:
    """What the readers alone make of a file's structure (names, errors), unguarded."""
    out = []
    try:
        for table in read_tables(path, CONFIG.limits.read_limits(), source=str(path)):
            out.append(f"{table.name} {table.columns}")
    except Exception as exc:  # the error text is what is inspected
        out.append(str(exc))
    return "\n".join(out)


def _report_text(report: FileReport) -> str:
    return "\n".join(
        [
            json.dumps([f.to_dict() for f in report.findings]),
            json.dumps([s.to_dict() for s in report.schemas]),
            json.dumps(report.to_dict()),
            repr(report.table_names),
            str(report.error),
        ]
    )


@pytest.mark.parametrize(
    "name", ["first_row.csv", "keyed.json", "members.zip", "sheets.xlsx", "deep.json"]
)
def test_structure_canaries_never_leave_the_scan(
    structures: Structures, name: str, caplog: pytest.LogCaptureFixture
):
    path = structures.files[name]
    # The control: the readers really do turn the canaries into names or errors.
    assert raw_values_in(structures.canaries, _read_raw(path))
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        report = scan_path(path, CONFIG, source=f"https://portal.example/{name}")
    assert raw_values_in(structures.canaries, _report_text(report)) == []
    assert raw_values_in(structures.canaries, caplog.text) == []
    assert report.tables or report.error


def test_drift_lists_no_personal_column_names(structures: Structures):
    v1 = scan_path(structures.files["drift.csv"], CONFIG)
    assert structures.drift_v2 is not None
    assert raw_values_in(structures.canaries, _read_raw(structures.drift_v2))
    v2 = scan_path(structures.drift_v2, CONFIG)
    [before], [after] = v1.schemas, v2.schemas
    finding = drift_finding(
        "https://portal.example/drift.csv", compare_schemas(before, after), after
    )
    assert finding is not None
    assert "column 1" in finding.reason
    assert raw_values_in(structures.canaries, finding.reason + repr(finding.columns)) == []


def test_personal_names_are_a_finding_themselves(structures: Structures):
    # A file keyed by people publishes them, though no cell holds personal data.
    report = scan_path(structures.files["keyed.json"], CONFIG, source="https://p.example/k.json")
    by_entity = {f.entity: f for f in report.findings if f.table is None and f.column is None}
    assert {"PERSON", "EMAIL_ADDRESS", "US_SSN"} <= set(by_entity)
    ssn = by_entity["US_SSN"]
    assert ssn.matched == 12
    assert all("*" in e for e in ssn.evidence)
    assert raw_values_in(structures.canaries, repr(report.findings)) == []
    clean = scan_path(structures.files["drift.csv"], CONFIG)
    assert clean.findings == ()
