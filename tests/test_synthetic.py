"""Check that each synthetic leak generator writes what it promises, reproducibly."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import time
import zipfile
from typing import TYPE_CHECKING

import polars as pl
import pytest

from tests import synthetic as syn

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

REFERENCE_DAY = dt.date(2022, 6, 27)
PHONE = re.compile(r"^(\d{3}-|\(\d{3}\) )\d{3}-\d{4}$")
PHONE_ANYWHERE = re.compile(r"(\d{3}-|\(\d{3}\) )\d{3}-\d{4}")
SSN_ANYWHERE = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
EMAIL = re.compile(r"^[a-z0-9._]+@example\.(com|net|org)$")
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
LICENSE_TYPES = {"Standard", "Reserve", "Judge", "Custodial", "Employment", "Ninety-Day"}


def read(path: Path | io.BytesIO, **kwargs: object) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False, **kwargs)


def age(born: dt.date) -> int:
    before_birthday = (REFERENCE_DAY.month, REFERENCE_DAY.day) < (born.month, born.day)
    return REFERENCE_DAY.year - born.year - before_birthday


def test_ccw_has_columns_and_value_shapes(tmp_path: Path) -> None:
    df = read(syn.ccw_applicants_csv(tmp_path, rows=2000))

    assert tuple(df.columns) == syn.CCW_COLUMNS
    assert df.height == 2000
    assert df.null_count().sum_horizontal().item() == 0
    ages = [age(dt.date.fromisoformat(d)) for d in df["date_of_birth"]]
    assert min(ages) >= 21
    assert max(ages) <= 90
    assert all(PHONE.match(p) for p in df["phone"])
    assert any(p.startswith("(") for p in df["phone"])
    assert any(p[3] == "-" for p in df["phone"])
    assert all(EMAIL.match(e) for e in df["email"])
    assert {d[:4] for d in df["issue_date"]} <= {str(y) for y in range(2012, 2022)}
    assert set(df["license_type"]) <= LICENSE_TYPES
    assert all(re.fullmatch(r"9\d{4}", z) for z in df["zip"])
    assert "Los Angeles" in set(df["county"])


def test_ccw_size_per_row_matches_29_mb_at_192k(tmp_path: Path) -> None:
    path = syn.ccw_applicants_csv(tmp_path, rows=5000)

    projected = path.stat().st_size / 5000 * 192_000

    assert 27e6 < projected < 31e6


@pytest.mark.slow
def test_ccw_full_size_is_fast(tmp_path: Path) -> None:
    started = time.monotonic()
    path = syn.ccw_applicants_csv(tmp_path)
    elapsed = time.monotonic() - started

    assert elapsed < 30
    assert read(path).height == 192_000
    assert 27e6 < path.stat().st_size < 31e6


def test_ccw_rows_streams_without_limit() -> None:
    rows = syn.ccw_rows(seed=3)

    first = [next(rows) for _ in range(10)]

    assert all(len(r) == len(syn.CCW_COLUMNS) for r in first)
    assert first == list(syn.ccw_rows(rows=10, seed=3))


def test_purchasers_workbook_hides_people_behind_clean_summary(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    book = load_workbook(syn.purchasers_workbook(tmp_path), read_only=True)

    assert book.sheetnames == ["Summary", "Detail"]
    summary = list(book["Summary"].iter_rows(values_only=True))
    assert summary[0] == ("County", "Year", "Purchases")
    assert all(isinstance(year, int) and isinstance(n, int) for _, year, n in summary[1:])
    detail = list(book["Detail"].iter_rows(values_only=True))
    assert detail[0] == (
        "Purchaser Name",
        "Date of Birth",
        "Street Address",
        "City",
        "ZIP",
        "DL Number",
    )
    assert len(detail) == 501
    assert all(re.fullmatch(r"[A-Z]\d{7}", row[5]) for row in detail[1:])
    assert all(isinstance(row[1], dt.datetime) for row in detail[1:])
    assert all(" " in row[0] for row in detail[1:])


def test_nested_json_puts_people_under_attributes(tmp_path: Path) -> None:
    doc = json.loads(syn.nested_json(tmp_path).read_text())

    assert doc["meta"]["count"] == 300
    assert len(doc["data"]) == 300
    record = doc["data"][0]
    assert set(record) == {"id", "type", "attributes"}
    assert set(record["attributes"]) == {"fullName", "homeAddress", "dob"}
    assert set(record["attributes"]["homeAddress"]) == {"line1", "city", "zip"}
    assert ISO_DAY.match(record["attributes"]["dob"])


def test_geojson_puts_people_in_properties(tmp_path: Path) -> None:
    doc = json.loads(syn.geojson_points(tmp_path, rows=50).read_text())

    assert doc["type"] == "FeatureCollection"
    assert len(doc["features"]) == 50
    feature = doc["features"][0]
    assert feature["geometry"]["type"] == "Point"
    lon, lat = feature["geometry"]["coordinates"]
    assert -125 < lon < -114
    assert 32 < lat < 42
    props = feature["properties"]
    assert set(props) == {"permit_id", "holder_name", "address", "date_of_birth", "phone"}
    assert PHONE.match(props["phone"])


def test_zip_nests_row_level_csv_beside_clean_members(tmp_path: Path) -> None:
    with zipfile.ZipFile(syn.zip_hiding_rowlevel_csv(tmp_path)) as archive:
        names = archive.namelist()
        detail = read(io.BytesIO(archive.read(syn.ZIP_ROWLEVEL_MEMBER)))
        aggregate = read(io.BytesIO(archive.read("ccw_counts_by_county.csv")))

    assert names == ["README.txt", "ccw_counts_by_county.csv", syn.ZIP_ROWLEVEL_MEMBER]
    assert syn.ZIP_ROWLEVEL_MEMBER.count("/") >= 2
    assert detail.height == 500
    assert tuple(detail.columns) == syn.CCW_COLUMNS[:6]
    assert aggregate.columns == ["county", "year", "applications"]


def test_headerless_csv_starts_with_data(tmp_path: Path) -> None:
    df = read(syn.headerless_people_csv(tmp_path), has_header=False)

    assert df.shape == (1000, 4)
    first, last, born, phone = df.row(0)
    assert first.isalpha()
    assert last.replace("-", "").replace("'", "").isalpha()
    assert ISO_DAY.match(born)
    assert PHONE.match(phone)


def test_dob_zip_sex_rows_are_nearly_unique(tmp_path: Path) -> None:
    df = read(syn.dob_zip_sex_csv(tmp_path))

    assert df.columns == ["birth_date", "zip", "sex"]
    assert df.height == 5000
    assert set(df["sex"]) == {"M", "F"}
    assert df.unique().height / df.height > 0.98


def test_ssn_needles_are_exactly_where_reported(tmp_path: Path) -> None:
    path, hits = syn.ssn_needles_csv(tmp_path, rows=20_000, needles=7, seed=5)
    df = read(path)

    assert df.columns == ["incident_id", "date", "category", "notes"]
    assert df.height == 20_000
    with_ssn = [i for i, note in enumerate(df["notes"]) if SSN_ANYWHERE.search(note)]
    assert with_ssn == hits
    assert len(hits) == 7
    for column in ("incident_id", "date", "category"):
        assert not any(SSN_ANYWHERE.search(v) for v in df[column])


def test_ssn_needles_default_shape(tmp_path: Path) -> None:
    path, hits = syn.ssn_needles_csv(tmp_path)

    assert read(path).height == 60_000
    assert len(hits) == 5
    assert hits == sorted(set(hits))


def test_notes_mention_name_and_phone_in_ten_percent(tmp_path: Path) -> None:
    df = read(syn.notes_with_names_and_phones_csv(tmp_path))

    assert df.columns == ["id", "date", "notes"]
    assert df.height == 2000
    with_phone = [n for n in df["notes"] if PHONE_ANYWHERE.search(n)]
    assert len(with_phone) == 200
    assert all(re.match(r"Spoke with [A-Z][a-z]+ [A-Z]", n) for n in with_phone)


def test_clean_aggregate_has_only_counts(tmp_path: Path) -> None:
    df = read(syn.clean_aggregate_csv(tmp_path))

    assert df.columns == ["county", "year", "license_type", "applications"]
    assert all(0 <= int(v) < 1000 for v in df["applications"])
    assert {int(y) for y in df["year"]} == set(range(2012, 2022))
    assert df.select(["county", "year", "license_type"]).unique().height == df.height


def test_redacted_dob_column_holds_only_redaction_notes(tmp_path: Path) -> None:
    df = read(syn.redacted_dob_csv(tmp_path))

    assert "Date of Birth" in df.columns
    assert df.height == 200
    assert all(v.lower().startswith("redacted") and "GP 4-311" in v for v in df["Date of Birth"])


def test_birth_dates_hide_in_unlabelled_column(tmp_path: Path) -> None:
    df = read(syn.birth_dates_unlabelled_csv(tmp_path))

    assert df.columns == ["c1", "c2", "c3", "c4"]
    born = [dt.datetime.strptime(v, "%m/%d/%Y").date() for v in df["c3"]]
    assert all(18 <= age(b) <= 90 for b in born)
    assert [int(v) for v in df["c1"]] == list(range(1, 1001))


def _small(fn: Callable[..., object]) -> Callable[[Path, int], Path]:
    def run(directory: Path, seed: int) -> Path:
        out = fn(directory, seed=seed)
        return out[0] if isinstance(out, tuple) else out

    return run


BYTE_STABLE = [
    pytest.param(lambda d, s: syn.ccw_applicants_csv(d, rows=500, seed=s), id="ccw"),
    pytest.param(lambda d, s: syn.ssn_needles_csv(d, rows=2000, seed=s)[0], id="ssn"),
    pytest.param(_small(syn.nested_json), id="nested_json"),
    pytest.param(_small(syn.geojson_points), id="geojson"),
    pytest.param(_small(syn.zip_hiding_rowlevel_csv), id="zip"),
    pytest.param(_small(syn.headerless_people_csv), id="headerless"),
    pytest.param(_small(syn.dob_zip_sex_csv), id="dob_zip_sex"),
    pytest.param(_small(syn.notes_with_names_and_phones_csv), id="notes"),
    pytest.param(_small(syn.clean_aggregate_csv), id="clean"),
    pytest.param(_small(syn.redacted_dob_csv), id="redacted"),
    pytest.param(_small(syn.birth_dates_unlabelled_csv), id="unlabelled"),
]


@pytest.mark.parametrize("make", BYTE_STABLE)
def test_same_seed_gives_same_bytes(tmp_path: Path, make: Callable[[Path, int], Path]) -> None:
    first = make(tmp_path / "a", 7).read_bytes()
    again = make(tmp_path / "b", 7).read_bytes()
    other = make(tmp_path / "c", 8).read_bytes()

    assert first == again
    assert first != other


def test_same_seed_gives_same_workbook_cells(tmp_path: Path) -> None:
    # XLSX bytes embed the save time, so compare what a reader sees.
    from openpyxl import load_workbook

    def cells(seed: int, sub: str) -> list[tuple[object, ...]]:
        book = load_workbook(syn.purchasers_workbook(tmp_path / sub, rows=50, seed=seed))
        return [row for sheet in book for row in sheet.iter_rows(values_only=True)]

    assert cells(7, "a") == cells(7, "b")
    assert cells(7, "a") != cells(8, "c")


def test_ssn_needle_positions_are_reproducible(tmp_path: Path) -> None:
    _, first = syn.ssn_needles_csv(tmp_path / "a", rows=5000, seed=11)
    _, again = syn.ssn_needles_csv(tmp_path / "b", rows=5000, seed=11)

    assert first == again
