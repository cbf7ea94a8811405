"""Hostile and broken input across every format: a clear ReaderError or a result, never a crash.

Truncated files of each format, content that contradicts its name or media type,
real password-protected PDFs, and entity bombs in HTML.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import zipfile
from typing import TYPE_CHECKING

import openpyxl
import pdfplumber
import pytest

from monitor.config import ScanConfig
from monitor.errors import CorruptFile, EncryptedFile, ReaderError
from monitor.models import ReadLimits
from monitor.readers import detect_kind, read_tables
from monitor.scan import scan_path
from tests.readers.test_html import _page
from tests.readers.test_pdf import _pdf, _ruled_table, _text
from tests.readers.test_spreadsheet import _ods
from tests.readers.xmlbombs import billion_laughs

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

ROWS = [["Name", "Email"], ["Ann Example", "ann@example.com"], ["Bob Example", "bob@example.com"]]
CSV = b"".join(b",".join(c.encode() for c in row) + b"\n" for row in ROWS * 40)


def _xlsx_bytes() -> bytes:
    workbook = openpyxl.Workbook()
    for row in ROWS * 40:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("people.csv", CSV)
        archive.writestr("more.json", json.dumps({"data": [dict(zip(*ROWS[:2], strict=True))]}))
    return out.getvalue()


def _samples(tmp_path: Path) -> dict[str, bytes]:
    """Return one small valid file per format, keyed by its file name."""
    records = [dict(zip(ROWS[0], row, strict=True)) for row in ROWS[1:] * 40]
    return {
        "people.csv": CSV,
        "people.xlsx": _xlsx_bytes(),
        "people.ods": _ods(tmp_path / "s.ods", ROWS * 10).read_bytes(),
        "people.json": json.dumps({"data": records}).encode(),
        "people.ndjson": b"".join(json.dumps(r).encode() + b"\n" for r in records),
        "people.zip": _zip_bytes(),
        "people.pdf": _pdf(tmp_path / "s.pdf", [_ruled_table(ROWS * 5)]).read_bytes(),
        "people.html": _page(
            tmp_path / "s.html",
            "<table>"
            + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in ROWS * 20)
            + "</table>",
        ).read_bytes(),
    }


def _outcome(path: Path, media_type: str | None = None) -> tuple[str, int]:
    """Read a file; return ('ok', rows) or (ReaderError subclass name, rows read before it)."""
    rows = 0
    try:
        for table in read_tables(path, ReadLimits(), media_type=media_type):
            rows += table.frame.height
    except ReaderError as exc:
        return type(exc).__name__, rows
    return "ok", rows


# Truncated binary containers cannot be read at all; text formats keep the rows before the cut.
TRUNCATED = {
    "people.csv": {"ok"},
    "people.xlsx": {"CorruptFile"},
    "people.ods": {"CorruptFile"},
    "people.json": {"CorruptFile"},
    "people.ndjson": {"ok"},
    "people.zip": {"CorruptFile"},
    "people.pdf": {"CorruptFile"},
    "people.html": {"ok"},
}


@pytest.mark.parametrize("name", sorted(TRUNCATED))
@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, -1])
def test_truncated_file_of_each_format_is_a_clear_error_or_a_partial_read(
    tmp_path: Path, name: str, keep: float
) -> None:
    whole = _samples(tmp_path)[name]
    assert _outcome(_write(tmp_path / name, whole))[0] == "ok"
    cut = len(whole) - 1 if keep == -1 else int(len(whole) * keep)
    path = _write(tmp_path / "cut" / name, whole[:cut])
    outcome, _ = _outcome(path)
    if keep == -1 and name.endswith((".json", ".pdf", ".zip", ".xlsx", ".ods")):
        # One byte short: JSON's closing brace, a PDF's final newline, a ZIP's
        # comment length — some formats survive it, none may crash on it.
        assert outcome in {"ok", *TRUNCATED[name]}
    else:
        assert outcome in TRUNCATED[name]
    report = scan_path(path, ScanConfig(free_text_analysis=False))
    assert (report.error or "ok").split(":")[0] in TRUNCATED[name] | {"ok"}


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("people.pdf", None),
        ("people.xlsx", None),
        ("people.zip", None),
        ("download", "application/pdf"),
        ("download", "application/zip"),
        ("download", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("download.bin", "application/octet-stream"),
        ("people.json", None),
        ("people.html", None),
        ("download", "application/json"),
        ("download", "text/html"),
    ],
)
def test_text_content_wins_over_a_binary_name_or_media_type(
    tmp_path: Path, name: str, media_type: str | None
) -> None:
    # Portals mislabel files; a CSV served as a PDF, JSON or HTML is still scanned as
    # the CSV it is (before, the PDF/JSON reader refused it and HTML found no table).
    path = _write(tmp_path / name, CSV)
    assert detect_kind(path, media_type) == "csv"
    assert _outcome(path, media_type) == ("ok", len(ROWS) * 40)


@pytest.mark.parametrize(
    ("sample", "kind"),
    [
        ("people.pdf", "pdf"),
        ("people.xlsx", "spreadsheet"),
        ("people.zip", "zip"),
        ("people.json", "json"),
        ("people.html", "html"),
    ],
)
def test_signature_wins_over_a_csv_name_and_media_type(
    tmp_path: Path, sample: str, kind: str
) -> None:
    path = _write(tmp_path / "export.csv", _samples(tmp_path)[sample])
    assert detect_kind(path, "text/csv") == kind
    assert _outcome(path, "text/csv")[0] == "ok"


def test_binary_garbage_with_a_csv_media_type_is_refused(tmp_path: Path) -> None:
    garbage = bytes(range(256)) * 64
    assert _outcome(_write(tmp_path / "download", garbage), "text/csv") == ("CorruptFile", 0)
    assert _outcome(_write(tmp_path / "x.csv", garbage), None) == ("CorruptFile", 0)
    assert _outcome(_write(tmp_path / "x.bin", garbage), None) == ("UnsupportedFormat", 0)


# -- a real password-protected PDF (RC4, standard security handler, revision 2) -----------

_PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")


def _rc4(key: bytes, data: bytes) -> bytes:
    box = list(range(256))
    j = 0
    for i in range(256):
        j = (j + box[i] + key[i % len(key)]) % 256
        box[i], box[j] = box[j], box[i]
    out = bytearray()
    i = j = 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + box[i]) % 256
        box[i], box[j] = box[j], box[i]
        out.append(byte ^ box[(box[i] + box[j]) % 256])
    return bytes(out)


def _encrypted_pdf(path: Path, text: str, user: bytes, owner: bytes) -> Path:
    """Write a one-page PDF encrypted for ``user`` as the PDF 1.4 spec's algorithms 3.2-3.4 say."""
    file_id = hashlib.md5(b"leakmon-test").digest()  # noqa: S324 - the PDF spec's own choice
    permissions = -44
    owner_key = hashlib.md5((owner + _PAD)[:32]).digest()[:5]  # noqa: S324
    o_value = _rc4(owner_key, (user + _PAD)[:32])
    key = hashlib.md5(  # noqa: S324
        (user + _PAD)[:32] + o_value + struct.pack("<i", permissions) + file_id
    ).digest()[:5]
    u_value = _rc4(key, _PAD)

    def seal(number: int, data: bytes) -> bytes:
        object_key = hashlib.md5(key + struct.pack("<I", number)[:3] + b"\0\0").digest()  # noqa: S324
        return _rc4(object_key[:10], data)

    content = seal(5, _text(72, 750, text).encode())
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P %d >>"
        % (o_value.hex().encode(), u_value.hex().encode(), permissions),
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Encrypt 6 0 R /ID [<%s> <%s>] >>\n" % (
        len(objects) + 1,
        file_id.hex().encode(),
        file_id.hex().encode(),
    )
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    path.write_bytes(out)
    return path


def test_pdf_locked_with_a_real_user_password_is_reported_as_encrypted(tmp_path: Path) -> None:
    path = _encrypted_pdf(tmp_path / "locked.pdf", "Ann Example 555-0100", b"s3cret", b"owner")
    with pdfplumber.open(path, password="s3cret") as pdf:  # a real encrypted PDF
        assert "Ann Example 555-0100" in (pdf.pages[0].extract_text() or "")
    with pytest.raises(EncryptedFile, match=r"^locked\.pdf: password-protected PDF$"):
        list(read_tables(path, ReadLimits()))
    report = scan_path(path, ScanConfig(free_text_analysis=False))
    assert report.error == "EncryptedFile: locked.pdf: password-protected PDF"


def test_pdf_with_an_empty_user_password_is_read(tmp_path: Path) -> None:
    # Owner-only protection (no password to open, as many portal PDFs have) is no lock.
    path = _encrypted_pdf(tmp_path / "owner.pdf", "Ann Example 555-0100", b"", b"owner")
    (table,) = read_tables(path, ReadLimits())
    assert table.frame["text"].to_list() == ["Ann Example 555-0100"]


BILLION_LAUGHS = billion_laughs("html")


@pytest.mark.parametrize("prolog", ["", '<?xml version="1.0"?>'])
def test_html_entity_bomb_is_not_expanded(tmp_path: Path, prolog: str) -> None:
    path = _write(
        tmp_path / "lol.xhtml",
        (
            prolog + BILLION_LAUGHS + '<html xmlns="http://www.w3.org/1999/xhtml"><body><table>'
            "<tr><th>Name</th></tr><tr><td>&lol9;</td></tr><tr><td>Ann</td></tr></table></body></html>"
        ).encode(),
    )
    (table,) = read_tables(path, ReadLimits())
    assert max(len(c or "") for c in table.frame["Name"].to_list()) < 100


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data.replace(b"PK\x01\x02", b"PK\x01\x03", 1),  # central directory
        lambda data: data[:30] + b"\xff" * 64 + data[94:],  # first member's deflate data
    ],
    ids=["directory", "member-data"],
)
def test_damaged_archive_is_corrupt(tmp_path: Path, damage: Callable[[bytes], bytes]) -> None:
    path = _write(tmp_path / "bad.zip", damage(_zip_bytes()))
    outcome, _ = _outcome(path)
    assert outcome in {"CorruptFile", "ok"}  # the second member may still be read
    with pytest.raises(CorruptFile):
        list(read_tables(_write(tmp_path / "worse.zip", _zip_bytes()[:40]), ReadLimits()))


@pytest.mark.parametrize(
    "head",
    ["", '<meta charset="windows-1252">'],
    ids=["sniffed", "declared"],
)
def test_html_with_bytes_windows_1252_leaves_undefined_is_read(tmp_path: Path, head: str) -> None:
    # libxml2 refused the whole page ("xmlParserInputBufferPush failed") over one
    # such byte (found by fuzzing); the page is now read as Latin-1 instead.
    path = _write(
        tmp_path / "latin.html",
        f"<html><head>{head}</head><body><table><tr><th>Name</th><th>Email</th></tr>".encode()
        + b"<tr><td>Zo\xeb Example</td><td>zoe@example.com</td></tr>"
        + b"<tr><td>Ann \x81 Example</td><td>ann@example.com</td></tr></table></body></html>",
    )
    (table,) = read_tables(path, ReadLimits())
    assert table.frame["Email"].to_list() == ["zoe@example.com", "ann@example.com"]
    assert table.frame["Name"][0] == "Zoë Example"


def test_html_with_an_undefined_byte_past_the_sniff_sample_is_read_whole(tmp_path: Path) -> None:
    # With the byte 150 KB in, libxml2 read as windows-1252 yielded no table at all,
    # and no error: the page looked empty.
    rows = b"".join(
        b"<tr><td>Zo\xeb %d</td><td>z%d@example.com</td></tr>" % (i, i) for i in range(3000)
    )
    path = _write(
        tmp_path / "late.html",
        b"<html><body><table><tr><th>Name</th><th>Email</th></tr>"
        + rows
        + b"<tr><td>Ann \x81 Example</td><td>ann@example.com</td></tr></table></body></html>",
    )
    (table,) = read_tables(path, ReadLimits())
    assert table.frame.height == 3001
    assert table.frame["Email"][-1] == "ann@example.com"
