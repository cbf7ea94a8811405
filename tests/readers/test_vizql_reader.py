"""The tableau-data reader, and the CSV forms of Tableau downloads (vudcsv, crosstab)."""

from __future__ import annotations

import codecs
import json
from typing import TYPE_CHECKING

import polars as pl
import pytest
from faker import Faker

from monitor.errors import CorruptFile, FileTooLarge, IncompleteData
from monitor.models import ReadLimits
from monitor.readers import detect_kind, read_tables
from monitor.readers.vizql import VizqlReader
from monitor.scan import scan_path
from monitor.vizql.encode import encode_underlying_data
from monitor.vizql.envelope import write_envelope
from tests.vizql.recorded import TWO_SEGMENTS, load

if TYPE_CHECKING:
    from pathlib import Path

COLUMNS = ["Applicant Name", "Date of Birth", "Street Address", "SSN", "County"]


def _applicants(count: int, seed: int = 3) -> list[list[object]]:
    fake = Faker()
    fake.seed_instance(seed)
    return [
        [
            fake.name(),
            fake.date_of_birth(minimum_age=21, maximum_age=90),
            fake.street_address(),
            fake.ssn(),
            fake.city(),
        ]
        for _ in range(count)
    ]


def _envelope(
    tmp_path: Path,
    rows: list[list[object]],
    *,
    num_rows: int | None = None,
    name: str = "answer.vizql",
    mechanism: str = "full_data",
) -> Path:
    session = {"0": TWO_SEGMENTS["0"]}
    _, response = encode_underlying_data(COLUMNS, rows, session_segments=session, num_rows=num_rows)
    path = tmp_path / name
    write_envelope(
        path,
        mechanism=mechanism,
        view="CCW/Applicants",
        segments=session,
        response=json.dumps(response).encode(),
    )
    return path


def test_envelope_is_recognised_by_content_whatever_its_name(tmp_path: Path) -> None:
    path = _envelope(tmp_path, _applicants(3), name="download.json")
    assert detect_kind(path) == "tableau-data"
    assert detect_kind(path, "application/json") == "tableau-data"


def test_full_data_is_scanned_with_captions_as_columns(tmp_path: Path) -> None:
    rows = _applicants(200)
    report = scan_path(_envelope(tmp_path, rows), source="https://tableau.example/vizql/full")
    assert report.kind == "tableau-data"
    assert report.error is None
    assert report.rows == 200
    found = {(f.column, f.entity) for f in report.findings}
    assert ("Applicant Name", "PERSON") in found
    assert ("SSN", "US_SSN") in found
    assert ("Date of Birth", "DATE_OF_BIRTH") in found
    for finding in report.findings:  # only masked evidence leaves the reader's tables
        assert not any(str(row[3]) in sample for row in rows for sample in finding.evidence)


def test_yields_chunks_of_chunk_rows(tmp_path: Path) -> None:
    path = _envelope(tmp_path, _applicants(25))
    tables = list(read_tables(path, ReadLimits(chunk_rows=10)))
    assert [(t.row_offset, t.frame.height) for t in tables] == [(0, 10), (10, 10), (20, 5)]
    assert {t.name for t in tables} == {"CCW/Applicants"}
    assert tables[0].columns == COLUMNS
    assert all(dtype == pl.String for dtype in tables[0].frame.dtypes)


def test_server_capped_rows_are_could_not_check_not_clean(tmp_path: Path) -> None:
    path = _envelope(tmp_path, _applicants(50), num_rows=192_000)
    tables = []
    with pytest.raises(IncompleteData, match="server returned 50 of 192000 rows"):
        tables.extend(VizqlReader().read(path, ReadLimits()))
    assert sum(t.frame.height for t in tables) == 50  # the rows present are still scanned
    report = scan_path(path)
    assert report.error is not None
    assert report.error.startswith("IncompleteData")
    assert any(f.entity == "PERSON" for f in report.findings)


def test_recorded_summary_data_of_896_rows_with_200_sent_is_incomplete(tmp_path: Path) -> None:
    path = tmp_path / "summary.vizql"
    raw = json.dumps(load("summary_data.json")).encode()
    write_envelope(path, mechanism="summary_data", view="NY/ICU", segments={}, response=raw)
    report = scan_path(path)
    assert report.rows == 200
    assert report.error is not None
    assert "IncompleteData" in report.error
    assert "200 of 896" in report.error


def test_limits(tmp_path: Path) -> None:
    path = _envelope(tmp_path, _applicants(30))
    tables = []
    with pytest.raises(FileTooLarge, match="30 rows, over the limit of 20"):
        tables.extend(VizqlReader().read(path, ReadLimits(max_rows=20, chunk_rows=8)))
    assert sum(t.frame.height for t in tables) == 20
    with pytest.raises(FileTooLarge, match="columns, over the limit of 4"):
        list(VizqlReader().read(path, ReadLimits(max_columns=4)))
    with pytest.raises(FileTooLarge, match="bytes of VizQL data is over the limit"):
        list(VizqlReader().read(path, ReadLimits(max_json_bytes=1000)))


def test_unknown_answer_shape_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "bad.vizql"
    write_envelope(
        path, mechanism="full_data", view="v", segments={}, response=b'{"vqlCmdResponse": {}}'
    )
    with pytest.raises(CorruptFile, match="unknown response shape"):
        list(VizqlReader().read(path, ReadLimits()))
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(CorruptFile, match="not valid JSON"):
        list(VizqlReader().read(path, ReadLimits()))
    bomb = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    write_envelope(path, mechanism="full_data", view="v", segments={}, response=bomb)
    with pytest.raises(CorruptFile, match="nests JSON too deep"):
        list(VizqlReader().read(path, ReadLimits()))


# -- CSV forms -----------------------------------------------------------------------------
# tableau-scraping (commit 2762a92641a57a96aba81b20b5b5c600a5ec514e) tests/python/
# test_common.py ``tableauDownloadableCsvData`` is a recorded vudcsv full-data export (its
# first three rows, public hospital data); api.py ``getCsvData`` decodes the body as UTF-8,
# and the research note (public scripts) says it starts with a BOM, so the test adds one.
# ``tableauCrossTabData`` is the crosstab sample; api.py ``downloadCrossTabData`` decodes
# it as 'utf-16' and TableauWorkbook.py reads it with sep='\t': the test writes it so.
VUDCSV = (
    "COUNTY;CURRENT_ICU_PATIENTS;CURRENT_INTUBATED_PATIENTS;CURRENT_PATIENTS;Header;"
    "RegionFilter;EconRegion;Last Updated Date;DAILY_PATIENTS;ECON_REGION;FAC_LAT;FAC_LONG;"
    "HOSPITAL;HOSPITAL_NETWORK;NYC_IND;Nombre d'enregistrements;REGION;RPT_DT;SUB_REGION;"
    "TOTAL_DEATH;TOTAL_DISCHARGE\n"
    "Otsego;0;0;0;Mohawk Valley;Faux;Faux;18/06/2021;0;Mohawk Valley;42.457405;-75.053261;"
    "A.O. Fox Memorial Hospital;Bassett Healthcare Network;;1;Capital District Regional Office;"
    "6/17/2021;Rest of State;12;289\n"
    "Franklin;0;0;0;North Country;Faux;Faux;18/06/2021;0;North Country;44.343929;-74.144363;"
    "Adirondack Medical Center-Saranac Lake Site;Independent;;1;Capital District Regional "
    "Office;6/17/2021;Rest of State;1;49\n"
    "Albany;5;2;11;Capital Region;Vrai;Vrai;18/06/2021;0;Capital Region;42.65337;-73.773834;"
    "Albany Medical Center Hospital;Albany Medical Center;;1;Capital District Regional Office;"
    "6/17/2021;Rest of State;249;1457\n"
)
CROSSTAB = "Header1\tHeader2\n1\tA\n2\tB\n3\tC"


def test_full_data_csv_utf8_bom_is_read_with_its_header(tmp_path: Path) -> None:
    path = tmp_path / "full.csv"
    path.write_bytes(codecs.BOM_UTF8 + VUDCSV.encode())
    (table,) = list(read_tables(path, ReadLimits()))
    assert table.columns[0] == "COUNTY"  # no BOM glued to the first caption
    assert len(table.columns) == 21
    assert table.frame["HOSPITAL"].to_list()[0] == "A.O. Fox Memorial Hospital"
    assert table.frame["TOTAL_DISCHARGE"].to_list() == ["289", "49", "1457"]


def test_crosstab_utf16_tab_separated_is_read(tmp_path: Path) -> None:
    path = tmp_path / "crosstab.csv"
    path.write_bytes(CROSSTAB.encode("utf-16"))  # BOM + UTF-16, as Tableau sends it
    assert path.read_bytes()[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    (table,) = list(read_tables(path, ReadLimits()))
    assert table.columns == ["Header1", "Header2"]
    assert table.frame.to_dict(as_series=False) == {
        "Header1": ["1", "2", "3"],
        "Header2": ["A", "B", "C"],
    }


def test_crosstab_utf16_with_people_is_scanned_across_chunks(tmp_path: Path) -> None:
    # Built in the test in the documented shape (UTF-16 LE with BOM, tabs, CRLF); small
    # chunk_bytes makes block boundaries fall inside UTF-16 code units.
    rows = _applicants(400, seed=11)
    lines = ["\t".join(COLUMNS)] + ["\t".join(str(c) for c in row) for row in rows]
    path = tmp_path / "crosstab.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + "\r\n".join(lines).encode("utf-16-le"))
    tables = list(read_tables(path, ReadLimits(chunk_bytes=4097)))
    assert tables[0].columns == COLUMNS
    names = [n for t in tables for n in t.frame["Applicant Name"].to_list()]
    assert names == [str(r[0]) for r in rows]
    report = scan_path(path)
    assert report.error is None
    assert {"PERSON", "US_SSN"} <= {f.entity for f in report.findings}
