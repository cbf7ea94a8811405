"""The JSON reader: record arrays anywhere, dotted column paths, row arrays, limits, bad JSON."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import polars as pl
import pytest
from faker import Faker

from monitor.errors import CorruptFile, FileTooLarge
from monitor.models import ReadLimits
from monitor.readers import read_tables
from monitor.readers.json import JsonReader
from tests.synthetic import geojson_points, nested_json

if TYPE_CHECKING:
    from pathlib import Path

    from monitor.models import Table


def _write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _read(path: Path, **limits: int) -> list[Table]:
    return list(JsonReader().read(path, ReadLimits(**limits)))


def _by_name(tables: list[Table]) -> dict[str | None, Table]:
    names = [t.name for t in tables]
    assert len(names) == len(set(names)), f"one chunk per table expected, got {names}"
    return {t.name: t for t in tables}


def test_flattens_geojson_features_to_dotted_paths(tmp_path: Path) -> None:
    tables = _by_name(list(read_tables(geojson_points(tmp_path, rows=20), ReadLimits())))
    features = tables["features"]
    assert features.kind == "json"
    assert features.frame.height == 20
    assert {
        "features.type",
        "features.geometry.type",
        "features.geometry.coordinates",
        "features.properties.holder_name",
        "features.properties.date_of_birth",
    } <= set(features.columns)
    lon, lat = features.frame["features.geometry.coordinates"][0].split("; ")
    assert -123.5 <= float(lon) <= -115.5
    assert 32.7 <= float(lat) <= 41.5
    assert tables["$"].frame.to_dicts() == [{"type": "FeatureCollection"}]


def test_flattens_nested_json_to_dotted_paths(tmp_path: Path) -> None:
    tables = _by_name(_read(nested_json(tmp_path, rows=15)))
    data = tables["data"]
    assert data.frame.height == 15
    assert data.columns == [
        "data.id",
        "data.type",
        "data.attributes.fullName",
        "data.attributes.homeAddress.line1",
        "data.attributes.homeAddress.city",
        "data.attributes.homeAddress.zip",
        "data.attributes.dob",
    ]
    assert tables["$"].columns == ["meta.source", "meta.generated", "meta.count"]
    assert tables["$"].frame["meta.count"].to_list() == ["15"]


def test_finds_record_arrays_at_any_depth(tmp_path: Path) -> None:
    fake = Faker()
    fake.seed_instance(3)
    document = {
        "status": "ok",
        "results": {"total": 2, "items": [{"name": fake.name()}, {"name": fake.name()}]},
        "included": [{"email": fake.email(safe=True)}],
    }
    tables = _by_name(_read(_write(tmp_path / "api.json", document)))
    assert set(tables) == {"$", "results.items", "included"}
    assert tables["results.items"].columns == ["results.items.name"]
    assert tables["included"].columns == ["included.email"]
    assert tables["$"].columns == ["status", "results.total"]


def test_reads_top_level_array_as_the_files_own_table(tmp_path: Path) -> None:
    records = [{"first": "Ana", "last": "Diaz"}, {"first": "Bo", "last": "Li", "middle": "K"}]
    (table,) = _read(_write(tmp_path / "people.json", records))
    assert table.name is None
    assert table.columns == ["first", "last", "middle"]
    assert table.frame["middle"].to_list() == [None, "K"]


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (["555-0100", "555-0199"], "555-0100; 555-0199"),
        ([1.0, 2.5, None, True], "1; 2.5; true"),
        ([], None),
        ([[1, 2], [3, 4]], "[[1,2],[3,4]]"),
        ({"line1": "1 Main St"}, None),  # becomes its own column instead
        (12345.0, "12345"),
        ("  padded  ", "padded"),
        ("", None),
        (None, None),
    ],
)
def test_turns_each_value_into_one_cell(tmp_path: Path, value: Any, cell: str | None) -> None:
    (table,) = _read(_write(tmp_path / "v.json", [{"id": "1", "v": value}]))
    assert table.frame.to_dicts()[0].get("v") == cell


def test_nested_arrays_of_objects_become_their_own_tables(tmp_path: Path) -> None:
    document = {
        "data": [
            {"id": "1", "contacts": [{"phone": "555-0100"}, {"phone": "555-0101"}]},
            {"id": "2", "contacts": [{"phone": "555-0102", "type": "cell"}]},
        ]
    }
    tables = _by_name(_read(_write(tmp_path / "nested.json", document)))
    assert tables["data"].columns == ["data.id"]
    contacts = tables["data.contacts"]
    assert contacts.columns == ["data.contacts.phone", "data.contacts.type"]
    assert contacts.frame["data.contacts.phone"].to_list() == ["555-0100", "555-0101", "555-0102"]


def test_reads_array_of_arrays_with_socrata_column_names(tmp_path: Path) -> None:
    document = {
        "meta": {"view": {"name": "Permits", "columns": [{"name": "sid"}, {"name": "Holder"}]}},
        "data": [["row-1", "Ana Diaz"], ["row-2", "Bo Li"]],
    }
    tables = _by_name(_read(_write(tmp_path / "rows.json", document)))
    assert tables["data"].columns == ["sid", "Holder"]
    assert tables["data"].frame["Holder"].to_list() == ["Ana Diaz", "Bo Li"]
    assert tables["meta.view.columns"].columns == ["meta.view.columns.name"]


def test_reads_top_level_array_of_arrays_with_a_header_row(tmp_path: Path) -> None:
    rows = [
        ["Name", "City", "Email"],
        ["Ana Diaz", "Fresno", "a@example.com"],
        ["Bo Li", "Napa", None],
    ]
    (table,) = _read(_write(tmp_path / "rows.json", rows))
    assert table.name is None
    assert table.columns == ["Name", "City", "Email"]
    assert table.frame.height == 2


def test_every_column_is_a_string(tmp_path: Path) -> None:
    (table,) = _read(_write(tmp_path / "t.json", [{"a": 1, "b": True, "c": 2.5, "d": None}]))
    assert all(dtype == pl.String for dtype in table.frame.dtypes)


def test_yields_chunks_for_long_arrays(tmp_path: Path) -> None:
    records = [{"n": i, "extra": "x"} if i == 24 else {"n": i} for i in range(25)]
    chunks = _read(_write(tmp_path / "long.json", {"items": records}), chunk_rows=10)
    items = [c for c in chunks if c.name == "items"]
    assert [(c.row_offset, c.frame.height) for c in items] == [(0, 10), (10, 10), (20, 5)]
    assert all(c.columns == ["items.n", "items.extra"] for c in items)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{"a": 1,,}', "line 1 column 9"),
        ('[{"a": 1},\n {"b": 2}\n', "line 3 column 1"),
        ("{'single': 'quotes'}", "line 1 column 2"),
        ("", "line 1 column 1"),
        ('{"a": "unterminated}', "line 1 column 7"),
    ],
)
def test_rejects_malformed_json_with_its_position(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(CorruptFile, match=rf"^bad\.json: malformed JSON at {where}: "):
        _read(path)


def test_replaces_bytes_that_are_not_utf8_and_reads_the_row(tmp_path: Path) -> None:
    # Issue 16: one bad byte (mixed encodings) costs one character, not the file.
    path = tmp_path / "bad.json"
    path.write_bytes(b'{"name": "Jos\xe9 \xff\xfe\xfa", "city": "Fresno"}')
    [table] = _read(path)
    assert table.frame.row(0, named=True) == {
        "name": "Jos\ufffd \ufffd\ufffd\ufffd",
        "city": "Fresno",
    }


def test_rejects_json_over_max_json_bytes(tmp_path: Path) -> None:
    path = _write(tmp_path / "big.json", [{"n": i} for i in range(100)])
    with pytest.raises(FileTooLarge, match=r"big\.json: \d+ bytes of JSON is over the limit of 64"):
        _read(path, max_json_bytes=64)


def test_rejects_table_wider_than_max_columns(tmp_path: Path) -> None:
    path = _write(tmp_path / "wide.json", {"rows": [{f"k{i}": i for i in range(20)}]})
    with pytest.raises(
        FileTooLarge, match=r"wide\.json: JSON table 'rows' has more than 10 columns"
    ):
        _read(path, max_columns=10)


@pytest.mark.parametrize("depth", [100, 5000])
def test_rejects_absurdly_deep_nesting(tmp_path: Path, depth: int) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"a":' * depth + "1" + "}" * depth)
    with pytest.raises(CorruptFile, match=r"deep\.json: JSON nests"):
        _read(path)


def test_registry_sends_json_and_geojson_here(tmp_path: Path) -> None:
    for name in ("doc.json", "doc.geojson", "doc.txt"):
        path = _write(tmp_path / name, {"data": [{"a": 1}]})
        assert {t.kind for t in read_tables(path, ReadLimits())} == {"json"}


def test_an_api_error_body_is_not_an_empty_data_file(tmp_path: Path) -> None:
    from monitor.errors import CorruptFile
    from monitor.models import ReadLimits
    from monitor.readers.json import JsonReader

    path = tmp_path / "query.json"
    path.write_text('{"error": {"code": 500, "message": "Unable to complete operation."}}')
    with pytest.raises(CorruptFile, match="API error response"):
        list(JsonReader().read(path, ReadLimits()))
