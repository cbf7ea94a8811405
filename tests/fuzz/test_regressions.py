"""Inputs the reader fuzzing found escaping a reader, each now a clear ``ReaderError``.

Each input is the smallest edit of a valid file that reproduced the crash found
by ``tests/fuzz``; the comment says what escaped before the fix.
"""

from __future__ import annotations

import io
import logging
import struct
import zipfile
from typing import TYPE_CHECKING

import pytest

from monitor.config import ScanConfig
from monitor.errors import CorruptFile, ReaderError, UnsupportedFormat
from monitor.models import ReadLimits
from monitor.readers import read_tables
from monitor.scan import scan_path
from tests.readers.test_pdf import _pdf, _text
from tests.readers.test_spreadsheet import _ods

if TYPE_CHECKING:
    from pathlib import Path


def _one_page_pdf(tmp_path: Path, edit: tuple[bytes, bytes]) -> bytes:
    data = _pdf(tmp_path / "seed.pdf", [_text(72, 750, "Ann Example")]).read_bytes()
    assert edit[0] in data
    return data.replace(*edit)


def _small_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("people.csv", "name\nAnn Example\n")
    return out.getvalue()


def _cd_offset_plus(data: bytes, shift: int) -> bytes:
    """Move the end record's central-directory offset: zipfile then seeks before the file."""
    end = data.rfind(b"PK\x05\x06")
    offset = struct.unpack("<I", data[end + 16 : end + 20])[0]
    return data[: end + 16] + struct.pack("<I", offset + shift) + data[end + 20 :]


def _patch_central(data: bytes, at: int, value: int, mask: bool = False) -> bytes:
    buf = bytearray(data)
    pos = buf.find(b"PK\x01\x02") + at
    buf[pos] = buf[pos] | value if mask else value
    return bytes(buf)


def _utf8_flag_with_bad_name(data: bytes) -> bytes:
    buf = bytearray(_patch_central(data, 9, 0x08, mask=True))  # general flag bit 11: UTF-8
    buf[buf.find(b"PK\x01\x02") + 46] = 0xAF  # first byte of the name: not UTF-8
    return bytes(buf)


CASES = {
    # pdfplumber.MalformedPDFException from Page._normalize_box.
    "mediabox-not-numbers.pdf": (
        lambda tmp: _one_page_pdf(tmp, (b"/MediaBox [0 0 612 792]", b"/MediaBox [0 0 612 /x 2]")),
        CorruptFile,
        "PDF page tree cannot be parsed (MalformedPDFException)",
    ),
    # TypeError: 'NoneType' object is not iterable (a MediaBox that references nothing).
    "mediabox-dangling.pdf": (
        lambda tmp: _one_page_pdf(tmp, (b"/MediaBox [0 0 612 792]", b"/MediaBox 99 0 R")),
        CorruptFile,
        "PDF page tree cannot be parsed (TypeError)",
    ),
    # IndexError from a two-number MediaBox.
    "mediabox-short.pdf": (
        lambda tmp: _one_page_pdf(tmp, (b"/MediaBox [0 0 612 792]", b"/MediaBox [0 0]")),
        CorruptFile,
        "PDF page tree cannot be parsed (IndexError)",
    ),
    # OSError [Errno 22] Invalid argument: a seek to a negative member offset.
    "offset-before-start.zip": (
        lambda tmp: _cd_offset_plus(_small_zip(), 5000),
        CorruptFile,
        "cannot be extracted (Invalid argument)",
    ),
    # NotImplementedError: zip file version 8.0, from detect_kind.
    "version-80.zip": (
        lambda tmp: _patch_central(_small_zip(), 6, 80),
        UnsupportedFormat,
        "ZIP container uses zip file version 8.0",
    ),
    # UnicodeDecodeError from ZipFile() itself: a name flagged UTF-8 that is not.
    "bad-utf8-name.zip": (
        lambda tmp: _utf8_flag_with_bad_name(_small_zip()),
        CorruptFile,
        "ZIP container is damaged or truncated ('utf-8' codec can't decode",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_fuzz_finding_is_a_reader_error(tmp_path: Path, name: str) -> None:
    build, error, message = CASES[name]
    path = tmp_path / name
    path.write_bytes(build(tmp_path))
    with pytest.raises(error) as caught:
        list(read_tables(path, ReadLimits()))
    assert message in str(caught.value)
    report = scan_path(path, ScanConfig(free_text_analysis=False))
    assert report.error is not None
    assert report.error.startswith(f"{error.__name__}: ")


def test_pdf_parse_error_does_not_quote_the_file(tmp_path: Path) -> None:
    # pdfminer's messages quote the tokens around the damage, and a PDF's tokens are
    # its text: "Invalid dictionary construct: [... 'ann@example.com' ...]" reached
    # the log line and the stored scan error before.
    data = _one_page_pdf(tmp_path, (b"/Type /Catalog", b"/Type /Catalog /Owner (ann@example.com)"))
    data = data.replace(b"/Owner (ann@example.com)", b"/Owner (ann@example.com) /Odd", 1)
    path = tmp_path / "odd.pdf"
    path.write_bytes(data)
    with pytest.raises(ReaderError) as caught:
        list(read_tables(path, ReadLimits()))
    assert "ann@example.com" not in str(caught.value)
    assert "ann@example.com" not in (scan_path(path, ScanConfig()).error or "")


def test_pdfminer_warnings_do_not_reach_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # "Cannot set gray non-stroke color because /'ann@example.com' is an invalid float
    # value": pdfminer quotes the operands of a damaged content stream.
    data = _one_page_pdf(tmp_path, (b"BT /F1 9 Tf", b"/ann@example.com g BT /F1 9 Tf"))
    path = tmp_path / "operands.pdf"
    path.write_bytes(data)
    with caplog.at_level(logging.DEBUG):
        list(read_tables(path, ReadLimits()))
    assert "ann@example.com" not in caplog.text


@pytest.mark.timeout(60)
def test_opendocument_ending_inside_a_table_does_not_hang(tmp_path: Path) -> None:
    # calamine 0.9 looped forever on this (no </table:table>): the fuzzing run's
    # native-hang watchdog found it; a 1 KB file held a scan worker to its time limit.
    path = _ods(tmp_path / "cut.ods", [["Name"], ["Ann Example"]])
    with zipfile.ZipFile(path) as package:
        parts = {info.filename: package.read(info) for info in package.infolist()}
    parts["content.xml"] = parts["content.xml"].replace(b"</table:table>", b"")
    with zipfile.ZipFile(path, "w") as package:
        for name, data in parts.items():
            package.writestr(name, data)
    with pytest.raises(CorruptFile, match=r"opens 1 tables but closes 0"):
        list(read_tables(path, ReadLimits()))


def test_archive_without_entries_yields_nothing(tmp_path: Path) -> None:
    # The overlap check zipped the members with their successors and raised
    # ValueError on an archive of no members at all (an end record alone).
    path = tmp_path / "empty.zip"
    path.write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    assert list(read_tables(path, ReadLimits())) == []


def test_a_start_page_with_a_broken_base_href_is_read(tmp_path: Path) -> None:
    # Found by the 30-minute hostile-portal run: Scrapy's MetaRefreshMiddleware
    # resolves the page's <base href> before the spider sees the page, raised
    # ValueError on "http://[broken/", and the page was dropped: no link read, the
    # poll incomplete with "no answer came", for as long as the page kept the tag.
    from tests.crawl.conftest import run_scenario  # a child process: one reactor each

    run = run_scenario("tests.fuzz.base_scenarios:broken_base", tmp_path)
    assert run["files"] == [run["base"] + "data/leak.csv"]
    assert run["ok"] is True
