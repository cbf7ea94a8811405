"""The PDF reader: ruled tables per page, page text as a table, page limit, locked, broken."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest
from faker import Faker

from monitor.errors import CorruptFile, EncryptedFile
from monitor.models import ReadLimits
from monitor.readers import read_tables
from monitor.readers.pdf import PdfReader

if TYPE_CHECKING:
    from pathlib import Path

    from monitor.models import Table

HEADER = ["Name", "Phone", "City"]


def _people(n: int, seed: int = 21) -> list[list[str]]:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    return [[fake.name(), fake.numerify("555-01##"), fake.city()] for _ in range(n)]


def _text(x: float, y: float, text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return f"BT /F1 9 Tf {x} {y} Td ({escaped}) Tj ET\n"


def _ruled_table(rows: list[list[str]], top: float = 700, left: float = 72) -> str:
    """Draw a grid with one text line per cell, as a PDF content stream."""
    width, height = 150, 18
    xs = [left + width * j for j in range(len(rows[0]) + 1)]
    ys = [top - height * i for i in range(len(rows) + 1)]
    ops = "0.5 w\n"
    ops += "".join(f"{xs[0]} {y} m {xs[-1]} {y} l S\n" for y in ys)
    ops += "".join(f"{x} {ys[-1]} m {x} {ys[0]} l S\n" for x in xs)
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            ops += _text(xs[j] + 4, ys[i] - 13, cell)
    return ops


def _pdf(path: Path, pages: list[str], *, encrypted: bool = False) -> Path:
    """Write a PDF whose pages have the given content streams."""
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [{}] /Count {} >>".format(
            " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages))), len(pages)
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, content in enumerate(pages):
        objects.append(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>"
        )
        objects.append(f"<< /Length {len(content)} >>\nstream\n{content}\nendstream")
    trailer = ""
    if encrypted:
        # Standard security handler whose check value matches no empty user password.
        objects.append(
            f"<< /Filter /Standard /V 1 /R 2 /O <{'ab' * 32}> /U <{'cd' * 32}> /P -44 >>"
        )
        trailer = f"/Encrypt {len(objects)} 0 R /ID [<{'01' * 16}> <{'01' * 16}>]"
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R {trailer} >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(out)
    return path


def _read(path: Path, **limits: int) -> list[Table]:
    return list(PdfReader().read(path, ReadLimits(**limits)))


def test_reads_ruled_tables_with_their_header(tmp_path: Path) -> None:
    people = _people(3)
    page = _text(72, 750, "Staff directory") + _ruled_table([HEADER, *people])
    tables = _read(_pdf(tmp_path / "staff.pdf", [page]))
    assert [t.name for t in tables] == ["page 1 table 1", "text"]
    table = tables[0]
    assert table.kind == "pdf"
    assert table.columns == HEADER
    assert table.frame.rows() == [tuple(p) for p in people]


def test_page_text_becomes_one_text_table(tmp_path: Path) -> None:
    fake = Faker("en_US")
    fake.seed_instance(22)
    sentence = f"Complaint filed by {fake.name()}, call 555-0142."
    pages = [
        _text(72, 750, "Annual report")
        + _text(72, 730, sentence)
        + _ruled_table([HEADER, *_people(2)]),
        _text(72, 750, "Second page"),
    ]
    *_, text = _read(_pdf(tmp_path / "report.pdf", pages))
    assert text.name == "text"
    assert text.columns == ["text"]
    assert text.frame["text"].to_list() == ["Annual report", sentence, "Second page"]


def test_table_continued_on_next_page_keeps_its_header(tmp_path: Path) -> None:
    people = _people(6)
    pages = [
        _ruled_table([HEADER, *people[:3]], top=400),
        _ruled_table(people[3:], top=720),  # the header is not repeated
    ]
    first, second, *_ = _read(_pdf(tmp_path / "long.pdf", pages))
    assert (first.name, second.name) == ("page 1 table 1", "page 2 table 1")
    assert second.columns == HEADER
    assert second.frame.rows() == [tuple(p) for p in people[3:]]


def test_new_table_lower_on_next_page_finds_its_own_header(tmp_path: Path) -> None:
    pages = [
        _ruled_table([HEADER, *_people(2)], top=400),
        _ruled_table(
            [["County", "Year", "Count"], ["Kern", "2021", "4"], ["Napa", "2021", "9"]], top=400
        ),
    ]
    _, second, *_ = _read(_pdf(tmp_path / "two.pdf", pages))
    assert second.columns == ["County", "Year", "Count"]


def test_reads_only_max_pdf_pages_and_logs_the_rest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pages = [_text(72, 750, f"Page {n} text") for n in range(1, 6)]
    with caplog.at_level(logging.WARNING, logger="monitor.readers.pdf"):
        (text,) = _read(_pdf(tmp_path / "long.pdf", pages), max_pdf_pages=2)
    assert text.frame["text"].to_list() == ["Page 1 text", "Page 2 text"]
    assert "long.pdf: read the first 2 pages and skipped the rest" in caplog.text


def test_reads_every_page_within_the_limit_without_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pages = [_text(72, 750, f"Page {n} text") for n in range(1, 3)]
    with caplog.at_level(logging.WARNING, logger="monitor.readers.pdf"):
        (text,) = _read(_pdf(tmp_path / "short.pdf", pages), max_pdf_pages=2)
    assert text.frame.height == 2
    assert caplog.text == ""


def test_image_only_pdf_yields_nothing(tmp_path: Path) -> None:
    assert _read(_pdf(tmp_path / "scan.pdf", ["0 0 1 rg 72 72 200 200 re f\n"])) == []


def test_rejects_password_pdf(tmp_path: Path) -> None:
    path = _pdf(tmp_path / "locked.pdf", [_text(72, 750, "secret")], encrypted=True)
    with pytest.raises(EncryptedFile, match=r"^locked\.pdf: password-protected PDF$"):
        _read(path)
    with pytest.raises(EncryptedFile):
        list(read_tables(path, ReadLimits()))


@pytest.mark.parametrize("keep", [0.0, 0.2, 0.5, 0.95])
def test_rejects_truncated_pdf(tmp_path: Path, keep: float) -> None:
    whole = _pdf(tmp_path / "whole.pdf", [_ruled_table([HEADER, *_people(5)])]).read_bytes()
    path = tmp_path / "broken.pdf"
    path.write_bytes(whole[: max(int(len(whole) * keep), 9)])
    with pytest.raises(CorruptFile, match=r"^broken\.pdf: PDF is damaged or not a PDF"):
        _read(path)


def test_rejects_garbage_behind_a_pdf_signature(tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-" + b"\x00\xff" * 200)
    with pytest.raises(CorruptFile, match=r"^broken\.pdf: "):
        _read(path)


def test_reads_real_ripa_readme(corpus: Path) -> None:
    tables = {
        t.name: t for t in read_tables(corpus / "ca_doj_ripa_dataset_readme_2018.pdf", ReadLimits())
    }
    columns = ["Column", "Data Element", "Description/Definition", "Value"]
    assert tables["page 2 table 1"].columns == columns
    assert tables["page 3 table 1"].columns == columns  # continued without a header
    assert tables["page 3 table 1"].frame.row(0)[:2] == ("F", "TIME_OF_STOP")
    text = tables["text"].frame["text"].to_list()
    assert "Data Set Overview and History" in text
    assert not any("TIME_OF_STOP" in line for line in text)  # table cells stay in their tables
