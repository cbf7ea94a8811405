"""The CSV reader: encodings, line endings, delimiters, title rows, headerless files, chunks."""

from __future__ import annotations

import dataclasses
import random
import time
import tracemalloc
from typing import TYPE_CHECKING

import pytest

from monitor.errors import CorruptFile, FileTooLarge
from monitor.models import ReadLimits
from monitor.readers.csv import CsvReader

if TYPE_CHECKING:
    from pathlib import Path

ROWS = [
    ["name", "city", "notes"],
    ["Ana Díaz", "Oakland", 'said "hi", left'],
    ["Bo Li", "Fresno", ""],
]


def _csv(rows: list[list[str]], sep: str = ",", newline: str = "\n") -> str:
    def cell(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if (sep in v or '"' in v or "\n" in v) else v

    return newline.join(sep.join(cell(v) for v in row) for row in rows) + newline


def _read(path: Path, **limits: int) -> list:
    return list(CsvReader().read(path, ReadLimits(**limits)))


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("utf-8", b""),
        ("utf-8", b"\xef\xbb\xbf"),
        ("cp1252", b""),
        ("latin-1", b""),
        ("utf-16-le", b"\xff\xfe"),
    ],
)
def test_decodes_common_encodings(tmp_path: Path, encoding: str, bom: bytes) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(bom + _csv(ROWS).encode(encoding))
    (table,) = _read(path)
    assert table.columns == ["name", "city", "notes"]
    assert table.frame["name"].to_list() == ["Ana Díaz", "Bo Li"]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r", "\r\r\n"])
def test_handles_every_line_ending(tmp_path: Path, newline: str) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(_csv(ROWS, newline=newline).encode())
    (table,) = _read(path)
    assert table.frame.height == 2
    assert table.frame["notes"].to_list() == ['said "hi", left', None]


@pytest.mark.parametrize("sep", [",", "\t", "|", ";"])
def test_sniffs_the_delimiter(tmp_path: Path, sep: str) -> None:
    path = tmp_path / "f.txt"
    path.write_text(_csv(ROWS, sep=sep))
    (table,) = _read(path)
    assert table.columns == ["name", "city", "notes"]


def test_skips_title_rows_above_the_header(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("Roster of staff,,\nAs of 2023-01-01,,\n" + _csv(ROWS))
    (table,) = _read(path)
    assert table.columns == ["name", "city", "notes"]
    assert table.frame.height == 2


def test_names_columns_of_a_headerless_file(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("Maria,Lopez,1971-02-03\nJohn,Smith,1985-06-07\nAnn,Lee,1990-01-09\n")
    (table,) = _read(path)
    assert table.headerless
    assert table.columns == ["c1", "c2", "c3"]
    assert table.frame.height == 3


def test_yields_chunks_for_large_file(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    rows = [["id", "note"]] + [[str(i), f"line {i}\nsecond line"] for i in range(5000)]
    path.write_text(_csv(rows))
    tables = _read(path, chunk_bytes=4096)
    assert len(tables) > 10
    assert sum(t.frame.height for t in tables) == 5000
    assert [t.row_offset for t in tables] == sorted(t.row_offset for t in tables)
    assert tables[-1].frame["note"][-1] == "line 4999\nsecond line"


def test_refuses_too_many_columns(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(50)) + "\n" + ",".join("1" * 50) + "\n")
    with pytest.raises(FileTooLarge, match="columns"):
        _read(path, max_columns=10)


def test_refuses_too_many_rows(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text("a\n" + "x\n" * 100)
    with pytest.raises(FileTooLarge, match="rows"):
        _read(path, max_rows=10)


def test_empty_cells_are_null_and_blank_lines_dropped(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("a,b\n1,\n\n,2\n")
    (table,) = _read(path)
    assert table.frame.rows() == [("1", None), (None, "2")]


def test_keeps_every_cell_of_ragged_rows(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("a,b,c\n1,2\n3,4,5,6\n")
    (table,) = _read(path)
    assert table.columns == ["a", "b", "c", "c4"]
    assert table.frame.rows() == [("1", "2", None, None), ("3", "4", "5", "6")]


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError, match="chunk_rows"):
        dataclasses.replace(ReadLimits(), chunk_rows=0)


# -- hostile input ------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_stray_quote_does_not_make_reading_quadratic(tmp_path: Path) -> None:
    # One unclosed quote used to make every record cut re-count the quotes of the
    # whole buffer once per line: minutes for a few megabytes, hours for more.
    path = tmp_path / "stray.csv"
    with path.open("wb") as out:
        out.write(b'name,email\n"Ann,ann@example.com\n')
        out.write(b"Bob,bob@example.com\n" * 150_000)
    started = time.monotonic()
    tables = _read(path, chunk_bytes=256 * 1024)
    assert time.monotonic() - started < 20
    assert sum(t.frame.height for t in tables) == 150_001


def test_one_huge_line_without_newline_is_refused_with_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "oneline.csv"
    cell = b"someone@example.com,"
    with path.open("wb") as out:
        for _ in range(200):  # 200 MB, written in 1 MB pieces
            out.write(cell * (1024 * 1024 // len(cell)))
    tracemalloc.start()
    try:
        with pytest.raises(FileTooLarge, match=r"^oneline\.csv: a record is longer than 67108864"):
            _read(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 200 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB for a 200 MiB line"


def test_first_line_longer_than_the_sniff_sample_is_read(tmp_path: Path) -> None:
    # A header over 64 KB used to look like an empty file: nothing read, nothing reported.
    path = tmp_path / "wide.csv"
    width = 12_000
    path.write_text(
        ",".join(f"column_{i}" for i in range(width)) + "\n" + ",".join(["v"] * width) + "\n"
    )
    (table,) = _read(path, max_columns=20_000)
    assert len(table.columns) == width
    assert table.columns[-1] == f"column_{width - 1}"
    assert table.frame.height == 1


def test_millions_of_columns_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "columns.csv"
    path.write_bytes(b"1," * 2_000_000 + b"1\n" + b"2\n")
    with pytest.raises(FileTooLarge, match=r"^columns\.csv: 2000001 columns is over the limit"):
        _read(path)


def test_a_file_of_one_line_without_newline_is_read(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_text("ann@example.com,bob@example.com")
    (table,) = _read(path)
    assert table.frame.rows() == [("ann@example.com", "bob@example.com")]


def test_field_over_the_csv_module_limit_is_read_as_headerless(tmp_path: Path) -> None:
    path = tmp_path / "field.csv"
    path.write_bytes(b"x" * 200_000 + b",ann@example.com\nrow,bob@example.com\n")
    (table,) = _read(path)
    assert table.headerless
    assert table.frame["c2"].to_list() == ["ann@example.com", "bob@example.com"]


@pytest.mark.parametrize(
    "data",
    [
        random.Random(5).randbytes(50_000),
        b"\x89PNG\r\n\x1a\n" + random.Random(6).randbytes(5_000),
        b"\x00" * 10_000,
    ],
    ids=["random", "png", "nul"],
)
def test_binary_garbage_named_csv_is_refused(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "garbage.csv"
    path.write_bytes(data)
    with pytest.raises(CorruptFile, match=r"^garbage\.csv: binary data, not delimited text$"):
        _read(path)


def test_utf16_without_bom_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(_csv(ROWS).encode("utf-16-le"))
    (table,) = _read(path)
    assert table.frame["name"].to_list() == ["Ana Díaz", "Bo Li"]
