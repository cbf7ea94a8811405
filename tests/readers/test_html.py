"""The HTML reader: one table per <table>, headers from <th> or the first row, spans, safety."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from faker import Faker

from monitor.models import ReadLimits
from monitor.readers import read_tables
from monitor.readers.html import HtmlReader

if TYPE_CHECKING:
    from pathlib import Path

    from monitor.models import Table


def _people(n: int) -> list[list[str]]:
    fake = Faker("en_US")
    fake.seed_instance(31)
    return [[fake.name(), fake.email(safe=True), fake.city()] for _ in range(n)]


def _rows(rows: list[list[str]], cell: str = "td") -> str:
    return "".join("<tr>" + "".join(f"<{cell}>{v}</{cell}>" for v in row) + "</tr>" for row in rows)


def _page(path: Path, body: str, head: str = "") -> Path:
    path.write_text(f"<!DOCTYPE html><html><head>{head}</head><body>{body}</body></html>", "utf-8")
    return path


def _read(path: Path, **limits: int) -> list[Table]:
    return list(HtmlReader().read(path, ReadLimits(**limits)))


def test_names_tables_by_id_caption_or_position(tmp_path: Path) -> None:
    rows = _rows([["Name", "Email", "City"]], "th") + _rows(_people(2))
    body = (
        f"<table id='staff'><caption>Ignored when there is an id</caption>{rows}</table>"
        f"<p>between</p><table><caption> Board  members </caption>{rows}</table>"
        f"<div><table>{rows}</table></div>"
        f"<table id='staff'>{rows}</table>"
    )
    tables = _read(_page(tmp_path / "p.html", body))
    assert [t.name for t in tables] == ["staff", "Board members", "table 3", "staff (table 4)"]
    assert all(t.kind == "html" and t.columns == ["Name", "Email", "City"] for t in tables)


def test_takes_header_from_th_cells(tmp_path: Path) -> None:
    people = _people(3)
    body = "<table><thead>" + _rows([["Name", "Email", "City"]], "th") + "</thead><tbody>"
    body += _rows(people) + "</tbody></table>"
    (table,) = _read(_page(tmp_path / "p.html", body))
    assert not table.headerless
    assert table.frame.rows() == [tuple(p) for p in people]


def test_finds_header_without_th_and_below_a_title_row(tmp_path: Path) -> None:
    rows = [["Permit holders 2023"], ["Name", "Email", "City"], *_people(4)]
    (table,) = _read(_page(tmp_path / "p.html", f"<table>{_rows(rows)}</table>"))
    assert table.columns == ["Name", "Email", "City"]
    assert table.frame.height == 4


def test_names_columns_of_headerless_table(tmp_path: Path) -> None:
    people = _people(5)
    (table,) = _read(_page(tmp_path / "p.html", f"<table>{_rows(people)}</table>"))
    assert table.headerless
    assert table.columns == ["c1", "c2", "c3"]
    assert table.frame.height == 5


def test_stacked_header_rows_name_columns_together(tmp_path: Path) -> None:
    body = (
        "<table>"
        "<tr><th rowspan='2'>Name</th><th colspan='2'>Contact</th></tr>"
        "<tr><th>Email</th><th>Phone</th></tr>"
        "<tr><td>Ana Diaz</td><td>ana@example.com</td><td>555-0100</td></tr>"
        "</table>"
    )
    (table,) = _read(_page(tmp_path / "p.html", body))
    assert table.columns == ["Name", "Contact Email", "Contact Phone"]
    assert table.frame.row(0) == ("Ana Diaz", "ana@example.com", "555-0100")


def test_spans_keep_cells_under_their_columns(tmp_path: Path) -> None:
    body = (
        "<table><tr><th>County</th><th>Name</th><th>Phone</th></tr>"
        "<tr><td rowspan='2'>Kern</td><td>Ana Diaz</td><td>555-0100</td></tr>"
        "<tr><td>Bo Li</td><td>555-0101</td></tr>"
        "<tr><td colspan='2'>Cy Young (no county)</td><td>555-0102</td></tr>"
        "</table>"
    )
    (table,) = _read(_page(tmp_path / "p.html", body))
    assert table.frame.rows() == [
        ("Kern", "Ana Diaz", "555-0100"),
        (None, "Bo Li", "555-0101"),
        ("Cy Young (no county)", None, "555-0102"),
    ]


def test_survives_hostile_span_values(tmp_path: Path) -> None:
    body = (
        "<table><tr><td colspan='999999999'>a</td><td rowspan='x'>b</td>"
        "<td colspan='-3'>c</td></tr></table>"
    )
    (table,) = _read(_page(tmp_path / "p.html", body))
    assert len(table.columns) == 1002  # colspan is capped at the HTML standard's 1000


def test_nested_table_is_a_table_of_its_own(tmp_path: Path) -> None:
    inner = "<table><tr><th>Alias</th><th>Since</th></tr><tr><td>Ace</td><td>2019</td></tr></table>"
    body = (
        "<table><tr><th>Name</th><th>Details</th></tr>"
        f"<tr><td>Ana Diaz</td><td>{inner}</td></tr></table>"
    )
    outer, nested = _read(_page(tmp_path / "p.html", body))
    assert (outer.name, nested.name) == ("table 1", "table 2")
    assert outer.frame.row(0) == ("Ana Diaz", None)  # the inner table's text is not repeated
    assert nested.columns == ["Alias", "Since"]


def test_ignores_script_and_style_text(tmp_path: Path) -> None:
    body = (
        "<table><tr><th>Name</th><th>Phone</th></tr>"
        "<tr><td>Ana Diaz<script>var ssn = '123-45-6789';</script></td>"
        "<td><style>td{color:red}</style>555-0100</td></tr></table>"
    )
    (table,) = _read(_page(tmp_path / "p.html", body))
    assert table.frame.row(0) == ("Ana Diaz", "555-0100")


def test_does_not_resolve_external_entities(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    path = tmp_path / "xxe.html"
    path.write_text(
        f'<!DOCTYPE html [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        "<html><body><table><tr><th>Name</th></tr><tr><td>&xxe;</td></tr>"
        "<tr><td>Ana</td></tr></table></body></html>"
    )
    cells = [c for t in _read(path) for c in t.frame["Name"].to_list()]
    assert not any("TOP-SECRET-MARKER" in (c or "") for c in cells)


@pytest.mark.parametrize(
    ("head", "data", "expected"),
    [
        ("", "Zoë Ångström".encode(), "Zoë Ångström"),
        ('<meta charset="windows-1252">', "Zoë Ångström".encode("cp1252"), "Zoë Ångström"),
        ("", "Zoë Ångström".encode("cp1252"), "Zoë Ångström"),
        ("", b"\xef\xbb\xbf" + "Zoë".encode(), "Zoë"),
    ],
)
def test_decodes_the_page_encoding(tmp_path: Path, head: str, data: bytes, expected: str) -> None:
    path = tmp_path / "enc.html"
    bom = data.startswith(b"\xef\xbb\xbf")
    cell = data[3:] if bom else data
    path.write_bytes(
        (b"\xef\xbb\xbf" if bom else b"")
        + f"<html><head>{head}</head><body><table><tr><th>Name</th></tr><tr><td>".encode()
        + cell
        + b"</td></tr><tr><td>Bo</td></tr></table></body></html>"
    )
    (table,) = _read(path)
    assert table.frame["Name"].to_list()[0] == expected


def test_skips_empty_tables(tmp_path: Path) -> None:
    body = (
        "<table><tr><td> </td></tr></table><table></table>" + f"<table>{_rows(_people(2))}</table>"
    )
    assert [t.name for t in _read(_page(tmp_path / "p.html", body))] == ["table 3"]


def test_yields_chunks_for_long_table(tmp_path: Path) -> None:
    rows = _rows([["Name", "Email", "City"]], "th") + _rows(_people(25))
    chunks = _read(_page(tmp_path / "p.html", f"<table>{rows}</table>"), chunk_rows=10)
    assert [(c.row_offset, c.frame.height) for c in chunks] == [(0, 10), (10, 10), (20, 5)]


def test_registry_sends_html_pages_here(tmp_path: Path) -> None:
    path = _page(tmp_path / "page.htm", f"<table>{_rows(_people(2))}</table>")
    assert [t.kind for t in read_tables(path, ReadLimits())] == ["html"]
