"""Decoding underlyingDataTables: segments, negative indices, aliases, nulls, types, round trip."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from faker import Faker

from monitor.errors import FileTooLarge, TableauProtocolError
from monitor.vizql.dictionary import decode_table
from monitor.vizql.encode import encode_underlying_data
from monitor.vizql.fastload import load_answer
from monitor.vizql.segments import merge_segments, value_lists
from tests.vizql.recorded import TWO_SEGMENTS, load, table_of


def _reference(table: dict[str, Any], segments: dict[str, Any]) -> dict[str, list[str | None]]:
    """Decode values the way tableau-scraping does (utils.py onDataValue), row by row."""
    lists = value_lists(merge_segments(segments, table["dataDictionary"]["dataSegments"]))
    cstring = lists["cstring"]
    out: dict[str, list[str | None]] = {}
    for column in table["underlyingDataTableColumns"]:
        typed = lists.get(column["dataType"], cstring)
        cells = [typed[i] if i >= 0 else cstring[abs(i) - 1] for i in column["valueIndices"]]
        out[column["fieldCaption"]] = [
            None if c == "%null%" else str(c).lower() if isinstance(c, bool) else str(c)
            for c in cells
        ]
    return out


def test_recorded_underlying_data_decodes_like_tableau_scraping() -> None:
    table = table_of(load("underlying_data.json"))
    decoded = decode_table(table)
    assert decoded.frame.shape == (200, 21)
    assert decoded.declared_rows == 200
    assert not decoded.capped
    assert decoded.frame.to_dict(as_series=False) == _reference(table, {})
    first = decoded.frame.row(0, named=True)
    assert first["COUNTY"] == "Otsego"
    assert first["HOSPITAL"] == "A.O. Fox Memorial Hospital"
    assert first["TOTAL_DISCHARGE"] == "288"  # real, whole: no ".0"
    assert first["Last Updated Date"] == "2021-06-17"  # date as sent
    assert first["RPT_DT"] == "2021-06-16 00:00:00"  # datetime as sent
    assert first["RegionFilter"] == "false"  # boolean
    assert first["Number of Records"] == "1"  # integer
    assert first["NYC_IND"] is None  # "%null%" at a positive cstring index


def test_negative_value_index_in_typed_column_is_null_from_cstring() -> None:
    table = table_of(load("underlying_data.json"))
    icu = next(
        c
        for c in table["underlyingDataTableColumns"]
        if c["fieldCaption"] == "CURRENT_ICU_PATIENTS"
    )
    negatives = [n for n, i in enumerate(icu["valueIndices"]) if i < 0]
    assert negatives  # the recording holds -140 -> cstring[139] == "%null%"
    column = decode_table(table).frame["CURRENT_ICU_PATIENTS"]
    assert all(column[n] is None for n in negatives)
    assert column.null_count() == len(negatives)


def test_recorded_summary_data_capped_rows_alias_and_nulls() -> None:
    table = table_of(load("summary_data.json"))
    decoded = decode_table(table)
    assert decoded.frame.height == 200
    assert decoded.declared_rows == 896
    assert decoded.capped
    # Measure Names: value is the field name, positive alias 1 is its caption.
    assert set(decoded.frame["Measure Names"]) == {"Total COVID-19 Patients in ICU"}
    # SUM(CURRENT_PATIENTS): valueIndices -387 -> cstring[386] == "%null%".
    assert decoded.frame["SUM(CURRENT_PATIENTS)"].null_count() == 200
    assert decoded.frame["SUM(CURRENT_ICU_PATIENTS)"][0] == "149"
    assert decoded.frame["RPT_DT"][0] == "2021-06-16 00:00:00"


def test_values_span_segments_and_negative_aliases_point_into_cstring() -> None:
    # tableau-scraping's own test data: cstring values over segments "0" and "1", aliases
    # -6..-9 -> cstring[5..8] == "6".."9" (tests/python/test_utils.py expects the same).
    table = {
        "numRows": 4,
        "dataDictionary": {"dataSegments": {"1": TWO_SEGMENTS["1"]}},
        "underlyingDataTableColumns": [
            {"dataType": "cstring", "fieldCaption": "F1", "valueIndices": [1, 2, 3, 4]},
            {
                "dataType": "cstring",
                "fieldCaption": "F2",
                "valueIndices": [6, 7, 8, 0],
                "aliasIndices": [-6, -7, -8, -1],
            },
            {"dataType": "real", "fieldCaption": "F3", "valueIndices": [0, 4, -7, -9]},
        ],
    }
    decoded = decode_table(table, {"0": TWO_SEGMENTS["0"]})
    assert decoded.frame.to_dict(as_series=False) == {
        "F1": ["2", "3", "4", "5"],
        "F2": ["6", "7", "8", "1"],  # -1: no alias, the value stays
        "F3": ["1", "5", "7", "9"],
    }


def test_a_repeated_segment_key_replaces_the_sessions() -> None:
    session = {"0": {"dataColumns": [{"dataType": "cstring", "dataValues": ["old"]}]}}
    table = {
        "dataDictionary": {
            "dataSegments": {"0": {"dataColumns": [{"dataType": "cstring", "dataValues": ["new"]}]}}
        },
        "underlyingDataTableColumns": [
            {"dataType": "cstring", "fieldCaption": "A", "valueIndices": [0]}
        ],
    }
    assert decode_table(table, session).frame["A"].to_list() == ["new"]
    assert list(merge_segments({"0": 1, "1": 2}, {"2": 3, "0": 4, "3": None})) == ["0", "1", "2"]


def _table(**column: Any) -> dict[str, Any]:
    spec = {"dataType": "cstring", "fieldCaption": "A", "valueIndices": [0]} | column
    return {
        "dataDictionary": {"dataSegments": {"0": TWO_SEGMENTS["0"]}},
        "underlyingDataTableColumns": [spec],
    }


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({}, "no 'underlyingDataTableColumns' list"),
        (_table(valueIndices=[6]), "point past the dictionary \\(index 6, 6 values\\)"),
        (_table(valueIndices=[-7]), "point past the cstring list"),
        (_table(dataType="real", valueIndices=[5]), "index 5, 5 values"),
        (_table(valueIndices=["0"]), "holds a non-integer"),
        (_table(valueIndices=[1.5]), "holds a non-integer"),
        (_table(valueIndices=[True]), "holds a non-integer"),
        (_table(valueIndices=None), "no 'valueIndices' list"),
        (_table(aliasIndices=[1, 2]), "2 aliasIndices for 1 values"),
        (_table(aliasIndices=[99]), "aliasIndices point past"),
        (_table(dataType=None), "no 'dataType' string"),
        ({"underlyingDataTableColumns": [7]}, "column 0 is not an object"),
        (
            {
                "dataDictionary": {"dataSegments": {"0": {"dataColumns": 3}}},
                "underlyingDataTableColumns": [],
            },
            "no 'dataColumns' list",
        ),
    ],
)
def test_malformed_tables_are_clear_errors(table: dict[str, Any], message: str) -> None:
    with pytest.raises(TableauProtocolError, match=message):
        decode_table(table)


def test_columns_of_different_lengths_are_an_error() -> None:
    table = _table()
    table["underlyingDataTableColumns"].append(
        {"dataType": "cstring", "fieldCaption": "B", "valueIndices": [0, 1]}
    )
    with pytest.raises(TableauProtocolError, match="column 1 has 2 values, column 0 has 1"):
        decode_table(table)


def test_limits_raise_file_too_large() -> None:
    table = table_of(load("underlying_data.json"))
    with pytest.raises(FileTooLarge, match="21 columns, over the limit of 20"):
        decode_table(table, max_columns=20)
    with pytest.raises(FileTooLarge, match="200 rows, over the limit of 199"):
        decode_table(table, max_rows=199)


def test_duplicate_and_missing_captions_get_unique_names() -> None:
    table = _table()
    table["underlyingDataTableColumns"] += [
        {"dataType": "cstring", "fieldCaption": "A", "valueIndices": [1]},
        {"dataType": "cstring", "fn": "[ds].[Calc_1]", "valueIndices": [2]},
        {"dataType": "cstring", "valueIndices": [3]},
    ]
    assert decode_table(table).columns == ("A", "A (2)", "[ds].[Calc_1]", "column_4")


def _people(count: int, seed: int = 7) -> list[list[object]]:
    fake = Faker()
    fake.seed_instance(seed)
    rows: list[list[object]] = []
    for n in range(count):
        rows.append(
            [
                fake.name(),
                fake.date_of_birth(minimum_age=21, maximum_age=90),
                fake.street_address(),
                fake.ssn(),
                n,
                round(fake.pyfloat(min_value=0, max_value=1000), 2),
                fake.boolean(),
                dt.datetime(2021, 6, 16, n % 24, 0, 0),
                None if n % 5 == 0 else fake.city(),
            ]
        )
    return rows


COLUMNS = ["Name", "DOB", "Address", "CII", "Row", "Fee", "Renewal", "Issued", "City"]


def _expected(rows: list[list[object]]) -> dict[str, list[str | None]]:
    def text(value: object) -> str | None:
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, dt.datetime):
            return value.strftime("%Y-%m-%d %H:%M:%S")
        if isinstance(value, float):
            return str(int(value)) if value.is_integer() else repr(value)
        return str(value)

    return {c: [text(r[n]) for r in rows] for n, c in enumerate(COLUMNS)}


def test_round_trip_encode_decode_after_bootstrap_segment() -> None:
    rows = _people(300)
    boot = {"0": TWO_SEGMENTS["0"]}  # the bootstrap's values come first in the session
    new, response = encode_underlying_data(COLUMNS, rows, session_segments=boot)
    assert list(new) == ["1"]
    table = table_of(response)
    assert min(table["underlyingDataTableColumns"][0]["valueIndices"]) >= 6  # after "0"'s
    decoded = decode_table(table, boot)
    assert decoded.columns == tuple(COLUMNS)
    assert decoded.frame.to_dict(as_series=False) == _expected(rows)
    # The same answer through the wire and the fast loader decodes the same.
    wire = load_answer(json.dumps(response).encode(), what="answer")
    assert decode_table(table_of(wire), boot).frame.equals(decoded.frame)


def test_round_trip_with_aliases_and_capped_rows() -> None:
    rows = [["M", 1], ["F", 2], ["M", None]]
    _, response = encode_underlying_data(
        ["Sex", "Count"], rows, num_rows=10, aliases={"Sex": {"M": "Male"}}
    )
    decoded = decode_table(table_of(response))
    assert decoded.frame.to_dict(as_series=False) == {
        "Sex": ["Male", "F", "Male"],
        "Count": ["1", "2", None],
    }
    assert decoded.capped


def test_encoded_answer_has_the_recorded_shape() -> None:
    recorded = load("underlying_data.json")
    _, encoded = encode_underlying_data(COLUMNS, _people(5))
    assert encoded.keys() == recorded.keys()
    assert encoded["vqlCmdResponse"].keys() == recorded["vqlCmdResponse"].keys()
    result, recorded_result = (
        encoded["vqlCmdResponse"]["cmdResultList"][0],
        recorded["vqlCmdResponse"]["cmdResultList"][0],
    )
    assert result.keys() == recorded_result.keys()
    assert result["commandName"] == recorded_result["commandName"]
    table, recorded_table = table_of(encoded), table_of(recorded)
    assert list(table) == list(recorded_table)
    assert list(table["dataDictionary"]) == ["dataSegments"]
    recorded_types = [
        c["dataType"] for c in recorded_table["dataDictionary"]["dataSegments"]["0"]["dataColumns"]
    ]
    types = [c["dataType"] for c in table["dataDictionary"]["dataSegments"]["0"]["dataColumns"]]
    assert types == [t for t in recorded_types if t in types]
    recorded_keys = {k for c in recorded_table["underlyingDataTableColumns"] for k in c}
    for column in table["underlyingDataTableColumns"]:
        assert set(column) <= recorded_keys
        assert len(column["formatValIdxs"]) == len(column["valueIndices"])
    nulls = table["underlyingDataTableColumns"][-1]
    cstring = next(
        c["dataValues"]
        for c in table["dataDictionary"]["dataSegments"]["0"]["dataColumns"]
        if c["dataType"] == "cstring"
    )
    assert cstring[nulls["valueIndices"][0]] == "%null%"
    assert cstring[nulls["formatValIdxs"][0]] == "Null"
