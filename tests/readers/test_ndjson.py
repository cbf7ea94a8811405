"""The NDJSON reader: streamed lines, the JSON reader's flattening, chunks, bad lines."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import pytest
from faker import Faker

from monitor.errors import CorruptFile, FileTooLarge
from monitor.models import ReadLimits
from monitor.readers import read_tables
from monitor.readers.json import JsonReader
from monitor.readers.ndjson import NdjsonReader

if TYPE_CHECKING:
    from pathlib import Path

    from monitor.models import Table


def _people(n: int) -> list[dict[str, Any]]:
    fake = Faker("en_US")
    fake.seed_instance(5)
    return [
        {
            "name": fake.name(),
            "address": {"line1": fake.street_address(), "zip": fake.zipcode()},
            "phones": [fake.phone_number(), fake.phone_number()],
        }
        for _ in range(n)
    ]


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _read(path: Path, **limits: int) -> list[Table]:
    return list(NdjsonReader().read(path, ReadLimits(**limits)))


def test_streams_lines_as_flattened_records(tmp_path: Path) -> None:
    people = _people(3)
    (table,) = _read(_write(tmp_path / "p.ndjson", [json.dumps(p) for p in people]))
    assert table.name is None
    assert table.kind == "ndjson"
    assert table.columns == ["name", "address.line1", "address.zip", "phones"]
    assert table.frame["phones"][0] == "; ".join(people[0]["phones"])
    assert table.frame["address.zip"].to_list() == [p["address"]["zip"] for p in people]


def test_flattens_exactly_like_the_json_reader(tmp_path: Path) -> None:
    people = _people(4)
    lines = _read(_write(tmp_path / "p.jsonl", [json.dumps(p) for p in people]))
    array = tmp_path / "p.json"
    array.write_text(json.dumps(people))
    whole = list(JsonReader().read(array, ReadLimits()))
    assert [t.frame.to_dicts() for t in lines] == [t.frame.to_dicts() for t in whole]


def test_every_chunk_has_every_column_seen_in_the_file(tmp_path: Path) -> None:
    lines = [json.dumps({"id": i}) for i in range(9)] + [json.dumps({"id": 9, "late": "x"})]
    chunks = _read(_write(tmp_path / "late.ndjson", lines), chunk_rows=4)
    assert [(c.row_offset, c.frame.height) for c in chunks] == [(0, 4), (4, 4), (8, 2)]
    assert all(c.columns == ["id", "late"] for c in chunks)
    assert chunks[-1].frame["late"].to_list() == [None, "x"]


def test_nested_arrays_of_objects_become_their_own_tables(tmp_path: Path) -> None:
    lines = [
        json.dumps({"case": "A1", "people": [{"name": "Ana Diaz"}, {"name": "Bo Li"}]}),
        json.dumps({"case": "A2", "people": [{"name": "Cy Young", "role": "witness"}]}),
    ]
    tables = _read(_write(tmp_path / "cases.ndjson", lines))
    assert [(t.name, t.columns) for t in tables] == [
        (None, ["case"]),
        ("people", ["people.name", "people.role"]),
    ]
    assert tables[1].frame["people.name"].to_list() == ["Ana Diaz", "Bo Li", "Cy Young"]


def test_skips_bad_lines_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    lines = ['{"id": 1}', '{"id": 2', "", "not json", '{"id": 3}']
    with caplog.at_level(logging.WARNING, logger="monitor.readers.ndjson"):
        (table,) = _read(_write(tmp_path / "mixed.ndjson", lines))
    assert table.frame["id"].to_list() == ["1", "3"]
    (record,) = caplog.records
    assert "mixed.ndjson: skipped 2 of 4 lines" in record.getMessage()
    assert "first at line 2" in record.getMessage()


def test_keeps_lines_that_are_json_but_not_objects(tmp_path: Path) -> None:
    (table,) = _read(_write(tmp_path / "odd.ndjson", ['{"a": "x"}', '["p", "q"]', '"plain"']))
    assert table.frame.to_dicts() == [
        {"a": "x", "value": None},
        {"a": None, "value": "p; q"},
        {"a": None, "value": "plain"},
    ]


def test_rejects_file_where_no_line_parses(tmp_path: Path) -> None:
    path = _write(tmp_path / "junk.ndjson", ["{oops", "{still: bad}", "nope"])
    with pytest.raises(
        CorruptFile, match=r"^junk\.ndjson: no line is valid JSON \(3 bad lines; first at line 1"
    ):
        _read(path)


def test_bad_line_report_does_not_quote_the_line(tmp_path: Path) -> None:
    ssn_like = "123-45-6789"
    path = _write(tmp_path / "junk.ndjson", [f'{{"ssn": "{ssn_like}"'])
    with pytest.raises(CorruptFile) as caught:
        _read(path)
    assert ssn_like not in str(caught.value)


def test_rejects_line_over_max_json_bytes(tmp_path: Path) -> None:
    path = _write(tmp_path / "long.ndjson", ['{"a": 1}', json.dumps({"b": "x" * 500})])
    with pytest.raises(FileTooLarge, match=r"long\.ndjson: line 2 is over the limit of 100 bytes"):
        _read(path, max_json_bytes=100)


def test_reads_utf8_bom_and_crlf_lines(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"name": "Zo\xc3\xab"}\r\n{"name": "Bo"}\r\n')
    (table,) = _read(path)
    assert table.frame["name"].to_list() == ["Zoë", "Bo"]


@pytest.mark.parametrize("name", ["events.ndjson", "events.jsonl", "events.log"])
def test_registry_sends_json_lines_here(tmp_path: Path, name: str) -> None:
    path = _write(tmp_path / name, [json.dumps(p) for p in _people(3)])
    assert {t.kind for t in read_tables(path, ReadLimits())} == {"ndjson"}
