"""The spreadsheet reader: every sheet (hidden too), title rows, limits, locked and broken files."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import openpyxl
import polars as pl
import pytest
from faker import Faker

from monitor.errors import CorruptFile, EncryptedFile, FileTooLarge
from monitor.models import ReadLimits
from monitor.readers import read_tables
from monitor.readers.spreadsheet import SpreadsheetReader

if TYPE_CHECKING:
    from monitor.models import Table

FILES = Path(__file__).resolve().parents[1] / "data" / "files"
HEADER = ["Full Name", "Email", "Phone", "City"]


def _people(n: int, seed: int = 1) -> list[list[str]]:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    return [
        [fake.name(), fake.email(safe=True), fake.phone_number(), fake.city()] for _ in range(n)
    ]


def _workbook(
    path: Path, sheets: dict[str, list[list[object]]], states: dict[str, str] | None = None
) -> Path:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        sheet.sheet_state = (states or {}).get(title, "visible")
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path


def _read(path: Path, **limits: int) -> list[Table]:
    return list(SpreadsheetReader().read(path, ReadLimits(**limits)))


def test_reads_hidden_sheets(tmp_path: Path) -> None:
    rows: list[list[object]] = [HEADER, *_people(3)]
    path = _workbook(
        tmp_path / "book.xlsx",
        {"Summary": rows, "Raw": rows, "Secret": rows},
        {"Raw": "hidden", "Secret": "veryHidden"},
    )
    tables = _read(path)
    assert [t.name for t in tables] == ["Summary", "Raw", "Secret"]
    for table in tables:
        assert table.columns == HEADER
        assert table.frame.height == 3
        assert table.kind == "spreadsheet"
        assert table.source == str(path)


def test_skips_title_rows_above_the_header(tmp_path: Path) -> None:
    rows: list[list[object]] = [["Employee roster, fiscal year 2023"], [], HEADER, *_people(5)]
    (table,) = _read(_workbook(tmp_path / "titled.xlsx", {"Roster": rows}))
    assert table.columns == HEADER
    assert not table.headerless
    assert table.frame.height == 5


def test_names_columns_of_headerless_sheet(tmp_path: Path) -> None:
    people = _people(6)
    (table,) = _read(_workbook(tmp_path / "bare.xlsx", {"Data": list(people)}))
    assert table.headerless
    assert table.columns == ["c1", "c2", "c3", "c4"]
    assert table.frame["c1"].to_list() == [p[0] for p in people]


def test_skips_empty_and_chart_sheets(tmp_path: Path) -> None:
    path = tmp_path / "charted.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.title = "Empty"
    data = workbook.create_sheet("Data")
    for row in [["County", "Count", "Year"], ["Alameda", 3, 2021], ["Fresno", 5, 2021]]:
        data.append(row)
    chart_sheet = workbook.create_chartsheet("Chart")
    chart = openpyxl.chart.BarChart()
    chart.add_data(openpyxl.chart.Reference(data, min_col=2, min_row=1, max_row=3))
    chart_sheet.add_chart(chart)
    workbook.save(path)
    assert [t.name for t in _read(path)] == ["Data"]


def test_keeps_a_lone_row_as_data(tmp_path: Path) -> None:
    # With nothing below it, a row cannot be told from a header: its cells are kept and scanned.
    (table,) = _read(_workbook(tmp_path / "lone.xlsx", {"Template": [HEADER]}))
    assert table.headerless
    assert table.frame.row(0) == tuple(HEADER)


def test_cells_are_text_as_a_person_reads_them(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        ["Case Number", "Opened", "Amount", "Closed"],
        [12345, dt.date(2021, 3, 4), 10.5, True],
        [67890, dt.datetime(2022, 1, 2, 13, 30), None, False],
    ]
    (table,) = _read(_workbook(tmp_path / "types.xlsx", {"Cases": rows}))
    assert all(dtype == pl.String for dtype in table.frame.dtypes)
    assert table.frame.row(0) == ("12345", "2021-03-04", "10.5", "true")
    assert table.frame.row(1) == ("67890", "2022-01-02 13:30:00", None, "false")


def test_drops_blank_rows_between_data(tmp_path: Path) -> None:
    people = _people(4)
    rows: list[list[object]] = [HEADER, people[0], [], [], people[1], people[2], [], people[3]]
    (table,) = _read(_workbook(tmp_path / "gappy.xlsx", {"People": rows}))
    assert table.frame["Full Name"].to_list() == [p[0] for p in people]


def test_yields_chunks_for_large_sheet(tmp_path: Path) -> None:
    rows: list[list[object]] = [HEADER, *_people(25)]
    chunks = _read(_workbook(tmp_path / "long.xlsx", {"People": rows}), chunk_rows=10)
    assert [(c.row_offset, c.frame.height) for c in chunks] == [(0, 10), (10, 10), (20, 5)]
    assert all(c.columns == HEADER and c.name == "People" for c in chunks)


def test_stops_after_max_sheets_once_those_are_read(tmp_path: Path) -> None:
    rows: list[list[object]] = [HEADER, *_people(2)]
    path = _workbook(tmp_path / "many.xlsx", {f"S{i}": rows for i in range(5)})
    reader = SpreadsheetReader().read(path, ReadLimits(max_sheets=3))
    assert [next(reader).name for _ in range(3)] == ["S0", "S1", "S2"]
    with pytest.raises(FileTooLarge, match=r"many\.xlsx: workbook has 5 sheets"):
        next(reader)


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"max_rows": 10}, r"table 'People' has more than 10 rows"),
        ({"max_columns": 3}, r"table 'People' has 4 columns, over the limit of 3"),
    ],
)
def test_enforces_row_and_column_limits(
    tmp_path: Path, limits: dict[str, int], message: str
) -> None:
    path = _workbook(tmp_path / "big.xlsx", {"People": [HEADER, *_people(30)]})
    with pytest.raises(FileTooLarge, match=message):
        _read(path, **limits)


def test_rejects_encrypted_workbook() -> None:
    path = FILES / "encrypted.xlsx"
    with pytest.raises(EncryptedFile, match=r"^encrypted\.xlsx: password-protected workbook$"):
        _read(path)
    with pytest.raises(EncryptedFile, match=r"encrypted\.xlsx"):
        list(read_tables(path, ReadLimits()))


def _truncated(path: Path) -> None:
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])


def _broken_sheet_xml(path: Path) -> None:
    with zipfile.ZipFile(path) as src:
        parts = {info.filename: src.read(info) for info in src.infolist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = parts[sheet][: len(parts[sheet]) // 2]
    with zipfile.ZipFile(path, "w") as dst:
        for name, data in parts.items():
            dst.writestr(name, data)


def _not_a_workbook(path: Path) -> None:
    path.write_bytes(b"\x00\x01 this is not a spreadsheet at all")


@pytest.mark.parametrize("damage", [_truncated, _broken_sheet_xml, _not_a_workbook])
def test_rejects_corrupt_workbook(tmp_path: Path, damage: object) -> None:
    path = _workbook(tmp_path / "broken.xlsx", {"People": [HEADER, *_people(50)]})
    assert callable(damage)
    damage(path)
    with pytest.raises(CorruptFile, match=r"^broken\.xlsx: "):
        _read(path)


def _ods(path: Path, rows: list[list[str]]) -> Path:
    ns = (
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
    )
    body = "".join(
        "<table:table-row>"
        + "".join(
            f'<table:table-cell office:value-type="string"><text:p>{v}</text:p></table:table-cell>'
            for v in row
        )
        + "</table:table-row>"
        for row in rows
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns} office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="People">{body}'
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(
            "mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED
        )
        zf.writestr("META-INF/manifest.xml", manifest)
        zf.writestr("content.xml", content)
    return path


def test_reads_opendocument_spreadsheet(tmp_path: Path) -> None:
    people = _people(3)
    path = _ods(tmp_path / "people.ods", [HEADER, *people])
    (table,) = list(read_tables(path, ReadLimits()))
    assert table.kind == "spreadsheet"
    assert table.name == "People"
    assert table.columns == HEADER
    assert table.frame["Email"].to_list() == [p[1] for p in people]


def test_finds_header_below_title_row_in_real_roster(corpus: Path) -> None:
    tables = _read(corpus / "baltimore_pd_employee_roster_2023_mpia.xlsx")
    assert [t.name for t in tables] == ["Sheet1"]
    (table,) = tables
    assert not table.headerless
    assert table.columns[0] == "Worker"
    assert {"Worker", "Date of Birth", "Location", "Location_2"} <= set(table.columns)
    assert any(c.startswith("Primary Home Address") for c in table.columns)
    assert table.frame.height > 2000


def test_reads_real_county_roster(corpus: Path) -> None:
    (table,) = _read(corpus / "baltimore_county_pd_roster_2021_redacted.xlsx")
    assert table.columns[:4] == ["Employee ID", "Last Name", "First Name", "Middle Initial"]
    assert "Title" in table.columns
    assert table.frame.height > 1800
    assert table.frame["First Name"].null_count() < table.frame.height
