"""Tableau workbooks: .twb schema, .twbx packages, legacy .tde, sniffing, hostile packages.

Real samples (tests/data/files/tableau/, see tests/fixtures/SOURCES.md) come from
tableau/document-api-python at commit 82bf2d112c83d2ab0e6a5f7a1a16a52d4ff3c874:
test/assets/TABLEAU_10_TWBX.twbx (``Book1.twb`` + ``Data/Datasources/xy (TestV1).tde``),
test/assets/Cache.twbx (``Superstore.twb``, ``Data/en_US-US/Sales Target.tde`` and
``TwbxExternalCache/`` members) and test/assets/TABLEAU_10_TWB.twb (a datasource
without column metadata).
"""

from __future__ import annotations

import csv
import io
import shutil
import sys
from pathlib import Path

import pytest

from monitor.errors import CorruptFile, FileTooLarge, ReaderUnavailable
from monitor.models import ReadLimits
from monitor.readers import detect_kind, read_tables
from monitor.readers.twb import parse_workbook
from tests.readers import zipcraft
from tests.readers.tableau_files import twb_xml, zip_bytes
from tests.readers.xmlbombs import billion_laughs
from tests.synthetic import CCW_COLUMNS, ccw_rows

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "files" / "tableau"
CAPTIONS = [(name, name.replace("_", " ").title()) for name in CCW_COLUMNS]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _csv(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CCW_COLUMNS)
    writer.writerows(ccw_rows(rows, seed=5))
    return out.getvalue().encode()


def test_real_twbx_with_tde_reads_schema_then_says_the_extract_was_not_checked() -> None:
    tables = []
    with pytest.raises(ReaderUnavailable, match=r"xy \(TestV1\)\.tde'.*legacy TDE extract"):
        tables.extend(read_tables(SAMPLES / "TABLEAU_10_TWBX.twbx", ReadLimits()))
    # The workbook XML was read first, as schema only (no rows): the captions A, X, Y.
    assert [(t.name, t.kind, t.frame.columns, t.frame.height) for t in tables] == [
        ("Book1.twb::xy (TestV1)", "twb", ["A", "X", "Y", "Number of Records"], 0)
    ]


def test_real_twbx_skips_tableau_caches_and_reports_its_tde() -> None:
    tables = []
    with pytest.raises(ReaderUnavailable, match=r"member 'Data/en_US-US/Sales Target\.tde'"):
        tables.extend(read_tables(SAMPLES / "Cache.twbx", ReadLimits()))
    assert [t.name for t in tables] == ["Superstore.twb::Sales Target"]
    assert tables[0].frame.columns == [
        "Category",
        "Number of Records",
        "Order Date",
        "Sales Target",
        "Segment",
    ]


def test_real_workbook_xml_names_its_extract() -> None:
    workbook = parse_workbook(SAMPLES / "TABLEAU_10_TWB.twb", ReadLimits())
    # This datasource is a federated connection with no column metadata: nothing to track.
    assert workbook.datasources == ()
    assert detect_kind(SAMPLES / "TABLEAU_10_TWB.twb") == "twb"


def test_twb_alone_is_schema_with_zero_rows(tmp_path: Path) -> None:
    twb = _write(tmp_path / "Applicants.twb", twb_xml("CCW Applicants", CAPTIONS))
    tables = list(read_tables(twb, ReadLimits()))
    assert len(tables) == 1
    assert tables[0].name == "CCW Applicants"
    assert tables[0].frame.columns == [caption for _, caption in CAPTIONS]
    assert tables[0].frame.height == 0


def test_twb_schema_only_scan_says_so(tmp_path: Path) -> None:
    from monitor.report import render_text
    from monitor.scan import scan_path

    twb = _write(tmp_path / "Applicants.twb", twb_xml("CCW Applicants", CAPTIONS))
    report = scan_path(twb)
    assert (report.kind, report.rows, report.tables, report.error) == ("twb", 0, 1, None)
    assert [s.table for s in report.schemas] == ["CCW Applicants"]
    text = render_text([report], colour=False)
    assert "no personal data found" not in text
    assert "no data rows" in text


@pytest.mark.parametrize(
    ("name", "media_type"),
    [("Applicants.twb", None), ("download", "application/xml"), ("Applicants.xml", None)],
)
def test_workbook_xml_is_known_by_content(tmp_path: Path, name: str, media_type: str) -> None:
    path = _write(tmp_path / name, twb_xml("CCW Applicants", CAPTIONS))
    assert detect_kind(path, media_type) == "twb"


@pytest.mark.parametrize("name", ["Applicants.twb", "Applicants", "x.zip"])
def test_packaged_workbook_is_known_by_content(tmp_path: Path, name: str) -> None:
    # Tableau Public serves the .twbx at /workbooks/<name>.twb.
    shutil.copy(SAMPLES / "TABLEAU_10_TWBX.twbx", tmp_path / name)
    assert detect_kind(tmp_path / name) == "twbx"


def test_plain_zip_with_a_twb_inside_a_folder_stays_a_zip(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.zip", zip_bytes({"docs/a.twb": twb_xml("x", CAPTIONS)}))
    assert detect_kind(path) == "zip"


def test_original_csv_packaged_under_data_is_read_with_captions_schema(tmp_path: Path) -> None:
    twbx = _write(
        tmp_path / "Applicants.twbx",
        zip_bytes(
            {
                "Data/applicants/applicants.csv": _csv(50),
                "Applicants.twb": twb_xml("CCW Applicants", CAPTIONS),
                "Image/logo.png": b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
                "TwbxExternalCache/TwbxResultsCacheV3/1/.bin": b"\x7a\xb1\xea\x08" + b"\x00" * 64,
            }
        ),
    )
    tables = list(read_tables(twbx, ReadLimits()))
    # The XML first (whatever its place in the archive), then the data file; caches skipped.
    assert [(t.name, t.kind, t.frame.height) for t in tables] == [
        ("Applicants.twb::CCW Applicants", "twb", 0),
        ("Data/applicants/applicants.csv", "csv", 50),
    ]


def test_twbx_with_tde_is_not_checked_in_a_scan(tmp_path: Path) -> None:
    from monitor.scan import scan_path

    twbx = _write(
        tmp_path / "Applicants.twbx",
        zip_bytes(
            {
                "Applicants.twb": twb_xml(
                    "CCW Applicants",
                    CAPTIONS,
                    dbname="Data/Extracts/people.tde",
                    engine="dataengine",
                ),
                "Data/Extracts/people.tde": b"\x20\x02\x01\x62\xa0\x1e\xab\x07" + bytes(256),
            }
        ),
    )
    report = scan_path(twbx)
    assert report.error is not None
    assert report.error.startswith("ReaderUnavailable: Applicants.twbx: member")
    assert "legacy TDE extract" in report.error


def test_tde_alone_is_not_checked(tmp_path: Path) -> None:
    tde = _write(tmp_path / "extract", b"\x20\x02\x01\x62\xa0\x1e\xab\x07" + bytes(256))
    assert detect_kind(tde) == "tde"
    with pytest.raises(ReaderUnavailable, match="could not be checked"):
        list(read_tables(tde, ReadLimits()))


def test_hyper_member_without_the_extra_is_not_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "tableauhyperapi", None)  # the import fails
    twbx = _write(
        tmp_path / "Applicants.twbx",
        zip_bytes(
            {
                "Applicants.twb": twb_xml("CCW Applicants", CAPTIONS),
                "Data/Extracts/people.hyper": b"Hyper\x08\x00\x00" + bytes(256),
            }
        ),
    )
    tables = []
    with pytest.raises(ReaderUnavailable, match=r"tableau extra is not installed"):
        tables.extend(read_tables(twbx, ReadLimits()))
    assert [t.name for t in tables] == ["Applicants.twb::CCW Applicants"]


def test_billion_laughs_in_the_workbook_xml_is_refused(tmp_path: Path) -> None:
    body = twb_xml("x", CAPTIONS).decode().replace("<?xml version='1.0' encoding='utf-8' ?>", "")
    xml = "<?xml version='1.0' encoding='utf-8' ?>" + billion_laughs("workbook") + body
    xml = xml.replace("caption='x'", "caption='&lol9;'")
    twbx = _write(tmp_path / "bomb.twbx", zip_bytes({"bomb.twb": xml.encode()}))
    with pytest.raises(CorruptFile, match="declares a DOCTYPE or XML entities"):
        list(read_tables(twbx, ReadLimits()))


def test_deeply_nested_workbook_xml_is_refused(tmp_path: Path) -> None:
    xml = b"<workbook source-build='1'>" + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</workbook>"
    with pytest.raises(CorruptFile, match="nests more than 256 elements deep"):
        list(read_tables(_write(tmp_path / "deep.twb", xml), ReadLimits()))


def test_malformed_workbook_xml_is_corrupt(tmp_path: Path) -> None:
    xml = twb_xml("CCW Applicants", CAPTIONS)[:-200]
    with pytest.raises(CorruptFile, match="workbook XML is malformed"):
        list(read_tables(_write(tmp_path / "cut.twb", xml), ReadLimits()))


def test_workbook_xml_over_the_structured_document_limit_is_refused(tmp_path: Path) -> None:
    twb = _write(tmp_path / "big.twb", twb_xml("CCW Applicants", CAPTIONS))
    with pytest.raises(FileTooLarge, match="max_json_mb"):
        list(read_tables(twb, ReadLimits(max_json_bytes=100)))


def test_zip_bomb_member_in_a_twbx_is_stopped_by_the_archive_limits(tmp_path: Path) -> None:
    twbx = _write(
        tmp_path / "bomb.twbx",
        zip_bytes(
            {"bomb.twb": twb_xml("x", CAPTIONS), "Data/x/huge.csv": b"a,b\n" + b"0" * 50_000_000}
        ),
    )
    limits = ReadLimits(max_compression_ratio=100.0)
    with pytest.raises(FileTooLarge, match=r"huge\.csv.*compression ratio over 100"):
        list(read_tables(twbx, limits))


def test_overlapping_entry_bomb_named_twbx_is_refused(tmp_path: Path) -> None:
    bomb = zipcraft.overlapping_bomb(b"a,b\n" + b"1,2\n" * 250_000, 500, name=b"Book1.twb")
    path = _write(tmp_path / "bomb.twbx", bomb)
    assert detect_kind(path) == "twbx"
    with pytest.raises(FileTooLarge, match=r"zip bomb|over the limit"):
        list(read_tables(path, ReadLimits()))


def test_json_bomb_under_data_fails_the_package_after_the_rest(tmp_path: Path) -> None:
    deep = b"[" * 200_000 + b"]" * 200_000
    twbx = _write(
        tmp_path / "deep.twbx",
        zip_bytes({"deep.twb": twb_xml("x", CAPTIONS), "Data/x/deep.json": deep}),
    )
    tables = []
    with pytest.raises(CorruptFile, match=r"member 'Data/x/deep\.json'.*nests too deep"):
        tables.extend(read_tables(twbx, ReadLimits()))
    # The workbook XML was still read: the damaged member is named, the rest is not lost.
    assert [t.name for t in tables] == ["deep.twb::x"]


def test_hyper_tests_fail_rather_than_skip_in_ci_without_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.readers.tableau_files import hyperapi

    monkeypatch.setitem(sys.modules, "tableauhyperapi", None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="scripts/check must install the tableau extra"):
        hyperapi()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        hyperapi()


def test_extract_is_matched_by_path_then_by_unique_file_name(tmp_path: Path) -> None:
    xml = twb_xml("CCW Applicants", CAPTIONS, dbname="C:\\Users\\me\\Extracts\\people.hyper")
    workbook = parse_workbook(_write(tmp_path / "a.twb", xml), ReadLimits())
    (extract,) = workbook.extracts
    assert workbook.extract_for("Data/Extracts/people.hyper") is extract
    assert workbook.extract_for("Data/Extracts/other.hyper") is None
    assert extract.captions == dict(CAPTIONS)
    assert extract.datasource == "CCW Applicants"


def test_packaged_data_source_is_read_like_a_workbook(tmp_path: Path) -> None:
    # A .tds is a <datasource> root, named by formatted-name in document-api-python's
    # test/assets/datasource_test.tds and unicode.tds (commit 82bf2d1).
    tds = (
        b"<?xml version='1.0' encoding='utf-8' ?>"
        b"<datasource formatted-name='applicants' inline='true' version='10.0'>"
        b"<column caption='Email Address' datatype='string' name='[email]' role='dimension' "
        b"type='nominal' /></datasource>"
    )
    tdsx = _write(
        tmp_path / "Applicants.tdsx",
        zip_bytes({"Applicants.tds": tds, "Data/applicants/applicants.csv": _csv(20)}),
    )
    assert detect_kind(tdsx) == "twbx"
    tables = list(read_tables(tdsx, ReadLimits()))
    first = tables[0]
    assert (first.name, first.frame.columns, first.frame.height) == (
        "Applicants.tds::applicants",
        ["Email Address"],
        0,
    )
    assert tables[1].frame.height == 20
