"""Hostile workbook packages: XML entities, external entities, sparse-sheet and ratio bombs."""

from __future__ import annotations

import io
import zipfile
from typing import TYPE_CHECKING

import openpyxl
import pytest
import python_calamine as calamine

from monitor.config import ScanConfig
from monitor.errors import CorruptFile, FileTooLarge
from monitor.models import ReadLimits
from monitor.readers import read_tables
from monitor.readers.spreadsheet import SpreadsheetReader
from monitor.readers.workbook_guard import check_workbook_package
from monitor.scan import scan_file
from tests.readers import zipcraft
from tests.readers.test_spreadsheet import _ods
from tests.readers.xmlbombs import billion_laughs

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

CANARY = "CANARY-7f3a9c"
SHEET = "xl/worksheets/sheet1.xml"


def _xlsx(path: Path) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "People"
    sheet.append(["Name", "Note"])
    sheet.append(["Ann Example", "hello"])
    workbook.save(path)
    return path


def _rewrite(path: Path, part: str, edit: Callable[[str], str]) -> Path:
    with zipfile.ZipFile(path) as src:
        parts = {info.filename: src.read(info) for info in src.infolist()}
    parts[part] = edit(parts[part].decode()).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, data in parts.items():
            dst.writestr(name, data)
    return path


def _with_doctype(doctype: str, reference: str) -> Callable[[str], str]:
    def edit(xml: str) -> str:
        if xml.startswith("<?xml"):
            end = xml.index("?>") + 2
            xml = xml[:end] + doctype + xml[end:]
        else:
            xml = doctype + xml
        return xml.replace("hello", reference, 1)

    return edit


def _xxe(canary: Path) -> str:
    return f'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file://{canary}">]>'


BILLION_LAUGHS = billion_laughs("x")


@pytest.fixture
def canary(tmp_path: Path) -> Path:
    path = tmp_path / "canary.txt"
    path.write_text(CANARY)
    return path


def _hostile(tmp_path: Path, canary: Path, fmt: str, attack: str) -> Path:
    doctype, reference = (_xxe(canary), "&xxe;") if attack == "xxe" else (BILLION_LAUGHS, "&lol9;")
    if fmt == "xlsx":
        return _rewrite(_xlsx(tmp_path / "evil.xlsx"), SHEET, _with_doctype(doctype, reference))
    path = _ods(tmp_path / "evil.ods", [["Name", "Note"], ["Ann Example", "hello"]])
    return _rewrite(path, "content.xml", _with_doctype(doctype, reference))


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
@pytest.mark.parametrize("attack", ["xxe", "billion-laughs"])
def test_workbook_declaring_entities_is_refused(
    tmp_path: Path, canary: Path, fmt: str, attack: str
) -> None:
    path = _hostile(tmp_path, canary, fmt, attack)
    with pytest.raises(CorruptFile, match=r"^evil\.\w+: workbook part '.*' declares a DOCTYPE"):
        list(SpreadsheetReader().read(path, ReadLimits()))


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
@pytest.mark.parametrize("attack", ["xxe", "billion-laughs"])
def test_entity_attack_never_reaches_a_table_or_finding(
    tmp_path: Path, canary: Path, fmt: str, attack: str
) -> None:
    report = scan_file(_hostile(tmp_path, canary, fmt, attack), ScanConfig())
    assert report.error is not None
    assert report.error.startswith("CorruptFile: ")
    assert "DOCTYPE" in report.error
    assert CANARY not in repr(report)
    assert report.rows == 0


@pytest.mark.parametrize("fmt", ["xlsx", "ods"])
def test_calamine_itself_expands_no_entity(tmp_path: Path, canary: Path, fmt: str) -> None:
    # Why the guard is defence in depth today: calamine (quick-xml) knows no DTD and
    # fails on the reference. If an upgrade ever resolves entities, this test says so.
    path = _hostile(tmp_path, canary, fmt, "xxe")
    with pytest.raises(calamine.CalamineError, match="entity") as caught:
        _calamine_cells(path)
    assert CANARY not in str(caught.value)


def _calamine_cells(path: Path) -> list[object]:
    workbook = calamine.CalamineWorkbook.from_path(path)
    return [workbook.get_sheet_by_name(name).to_python() for name in workbook.sheet_names]


def test_doctype_hidden_behind_a_long_comment_is_refused(tmp_path: Path) -> None:
    comment = "<!--" + "x" * 20_000 + "-->"
    path = _rewrite(
        _xlsx(tmp_path / "evil.xlsx"), SHEET, lambda xml: comment + BILLION_LAUGHS + xml
    )
    with pytest.raises(CorruptFile, match="declares a DOCTYPE"):
        check_workbook_package(path, ReadLimits())


def test_plain_workbooks_pass_the_guard(tmp_path: Path) -> None:
    check_workbook_package(_xlsx(tmp_path / "ok.xlsx"), ReadLimits())
    check_workbook_package(_ods(tmp_path / "ok.ods", [["a"], ["b"]]), ReadLimits())
    (table,) = read_tables(_xlsx(tmp_path / "ok2.xlsx"), ReadLimits())
    assert table.frame.height == 1


def _sparse(path: Path, row: int, column: int, *, prefix: str = "") -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "People"
    sheet["A1"] = "Name"
    sheet.cell(row=row, column=column, value="x")
    workbook.save(path)
    if prefix:
        _rewrite(
            path,
            SHEET,
            lambda xml: xml.replace("<", f"<{prefix}:").replace(f"<{prefix}:/", f"</{prefix}:"),
        )
    return path


@pytest.mark.parametrize("prefix", ["", "x"])
def test_sparse_sheet_bomb_is_refused_before_calamine_allocates_it(
    tmp_path: Path, prefix: str
) -> None:
    # Two cells, A1 and XFD1048576: calamine would allocate 17 billion cells at
    # once, and a failed allocation in Rust aborts the process instead of raising.
    path = _sparse(tmp_path / "sparse.xlsx", 1_048_576, 16_384, prefix=prefix)
    assert path.stat().st_size < 10_000
    with pytest.raises(
        FileTooLarge,
        match=r"^sparse\.xlsx: workbook part 'xl/worksheets/sheet1\.xml' spans 1048576 rows "
        r"by 16384 columns \(17179869184 cells\) but fills 2",
    ):
        list(SpreadsheetReader().read(path, ReadLimits()))


def test_moderately_sparse_sheet_is_still_read(tmp_path: Path) -> None:
    path = _sparse(tmp_path / "sparse.xlsx", 2_000, 200)  # 400,000 cells: fine
    (table,) = SpreadsheetReader().read(path, ReadLimits())
    assert table.frame.width == 200


def test_workbook_part_with_bomb_ratio_is_refused(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "bomb.xlsx")
    padding = " " * (64 * 1024 * 1024)  # whitespace inside the sheet: 64 MiB from 64 KiB
    _rewrite(path, SHEET, lambda xml: xml.replace("<sheetData>", "<sheetData>" + padding, 1))
    with pytest.raises(FileTooLarge, match=r"declares a compression ratio over 200"):
        list(SpreadsheetReader().read(path, ReadLimits()))


def test_workbook_declaring_10_gb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.xlsx"
    path.write_bytes(zipcraft.declared_size_member(SHEET.encode(), 10 * 1024**3))
    with pytest.raises(FileTooLarge, match=r"declare 10737418240 uncompressed bytes"):
        check_workbook_package(path, ReadLimits())


def test_truncated_workbook_part_is_corrupt_not_a_crash(tmp_path: Path) -> None:
    data = bytearray(_xlsx(tmp_path / "t.xlsx").read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo(SHEET)
        start = info.header_offset + 30 + len(info.filename)
    data[start + 10 : start + 40] = b"\xff" * 30  # damage the deflate stream
    path = tmp_path / "damaged.xlsx"
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptFile, match=r"^damaged\.xlsx: "):
        list(SpreadsheetReader().read(path, ReadLimits()))


def test_repeated_cells_past_calamines_cell_limit_are_a_limit_not_damage(tmp_path: Path) -> None:
    path = _ods(tmp_path / "repeated.ods", [["Name"], ["Ann Example"]])
    row = (
        '<table:table-row table:number-rows-repeated="1000000">'
        '<table:table-cell table:number-columns-repeated="16000" office:value-type="string">'
        "<text:p>x</text:p></table:table-cell></table:table-row>"
    )
    _rewrite(path, "content.xml", lambda xml: xml.replace("</table:table>", row + "</table:table>"))
    with pytest.raises(
        FileTooLarge, match=r"^repeated\.ods: workbook is over calamine's cell limit \(Cell limit"
    ):
        list(SpreadsheetReader().read(path, ReadLimits()))
