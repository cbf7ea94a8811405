"""Shared helpers for readers that see rows of cells: header finding and frame building.

Portal files put title rows above the header, leave the header out, repeat or
blank column names; every tabular reader handles that the same way through here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "HeaderGuess",
    "cell_text",
    "column_names",
    "find_header",
    "rows_to_frame",
]

_NUMERIC = re.compile(r"^[\s$€£+\-]*[\d][\d\s.,:/%$()+\-]*$")
_DATE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}")
_EMAIL = re.compile(r"@\w")
_PLAIN_NUMBER = re.compile(r"^-?\d[\d,]*(?:\.\d+)?$")
_HEADER_SCAN_ROWS = 30


@dataclass(frozen=True)
class HeaderGuess:
    """Where the header is and where data starts.

    Attributes:
        header_row: index of the header row, or ``None`` for a headerless table.
        data_start: index of the first data row.
    """

    header_row: int | None
    data_start: int


def cell_text(value: object) -> str | None:
    """Return a cell as the text a person would read, or ``None`` for an empty cell."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        return text or None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value != value:  # NaN
            return None
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value).strip() or None


def _is_label(cell: str) -> bool:
    """Say whether a cell reads like a column label rather than a data value."""
    if len(cell) > 120 or not any(ch.isalpha() for ch in cell):
        return False
    return not (_NUMERIC.match(cell) or _DATE.match(cell) or _EMAIL.search(cell))


def _mostly_labels(row: Sequence[str | None], below: Sequence[Sequence[str | None]]) -> bool:
    """Say whether a row reads as a header: labels, give or take a few unnamed cells.

    Portal headers carry a ``_``, ``#`` or number over a row-number column now and then.
    One such cell, or up to one in four, is allowed when each is a short mark not
    shaped like the values under it (a number over numbers is data).
    """
    cells = [(j, c) for j, c in enumerate(row) if c]
    labels = sum(1 for _, c in cells if _is_label(c))
    if labels == len(cells) or _labels_then_codes(cells, below):
        return True
    marks = len(cells) - labels
    if labels < 2 or (marks > 1 and marks * 4 > len(cells)):
        return False
    for j, cell in cells:
        if _is_label(cell):
            continue
        if len(cell) > 4:
            return False
        column = [v for r in below if j < len(r) and (v := r[j])]
        numeric = sum(1 for v in column if _NUMERIC.match(v))
        if _NUMERIC.match(cell) and column and numeric * 2 >= len(column):
            return False
    return True


def _labels_then_codes(cells: list[tuple[int, str]], below: Sequence[Sequence[str | None]]) -> bool:
    """Say whether a row is labels, then column codes (years, precinct numbers), then labels.

    ``OFFICE, PARTY, CANDIDATE, 22401, 22402, ..., TOTAL`` heads a canvass; ``Country,
    2010, 2011, 2012`` a wide statistical table. The codes follow two or more labels, are
    three or more distinct integers of one length (four digits or more), and each is
    larger than every number below it: a row of counts is not.
    """
    split = next((i for i, (_, c) in enumerate(cells) if not _is_label(c)), len(cells))
    end = next((i for i in range(split, len(cells)) if _is_label(cells[i][1])), len(cells))
    labels, codes = cells[:split], cells[split:end]
    if len(labels) < 2 or len(codes) < 3 or not all(_is_label(c) for _, c in cells[end:]):
        return False
    texts = [c for _, c in codes]
    if not all(c.isdigit() for c in texts) or len({len(c) for c in texts}) != 1:
        return False
    if len(texts[0]) < 4 or len(set(texts)) != len(texts):
        return False
    for j, code in codes:
        column = [
            float(v.replace(",", ""))
            for r in below
            if j < len(r) and (v := r[j]) and _PLAIN_NUMBER.match(v)
        ]
        if column and int(code) <= max(column):
            return False
    return True


def _filled(row: Sequence[str | None]) -> int:
    return sum(1 for c in row if c)


def find_header(rows: Sequence[Sequence[str | None]]) -> HeaderGuess:
    """Find the header row among the first rows of a table.

    Title rows (one or two filled cells above a wider table) are skipped. The
    first wide row is the header when its cells read like labels and do not
    reappear as values in the rows below; otherwise the table is headerless.
    """
    head = [list(r) for r in rows[:_HEADER_SCAN_ROWS]]
    if not head:
        return HeaderGuess(None, 0)
    widths = [_filled(r) for r in head]
    wide = Counter(w for w in widths if w >= 2) or Counter(w for w in widths if w)
    # The table's width is its most common row width; ties go to the wider.
    width = max(wide.items(), key=lambda kv: (kv[1], kv[0]))[0] if wide else 1
    start = 0
    for i, w in enumerate(widths):
        if w >= max(1, int(width * 0.6)) and (width < 3 or w >= 2):
            start = i
            break
    candidate = [c for c in head[start] if c]
    below = head[start + 1 :]
    if not candidate or not below:
        labels = bool(candidate) and all(_is_label(c) for c in candidate)
        return HeaderGuess(
            start if labels and below else None, start + (1 if labels and below else 0)
        )
    # Real headers repeat a label now and then ("Location" twice, "Address" per line);
    # a row where many cells repeat is data.
    if not _mostly_labels(head[start], below) or len(set(candidate)) * 4 < len(candidate) * 3:
        return HeaderGuess(None, start)
    reappear = 0
    for j, cell in enumerate(head[start]):
        if cell and any(j < len(r) and r[j] == cell for r in below):
            reappear += 1
    if reappear * 2 >= len(candidate) and len(candidate) > 1:
        return HeaderGuess(None, start)
    return HeaderGuess(start, start + 1)


def column_names(header: Sequence[str | None] | None, width: int) -> list[str]:
    """Return unique column names: blanks become ``cN``, repeats get ``_2``, ``_3``."""
    names: list[str] = []
    seen: Counter[str] = Counter()
    cells = list(header or [])
    for i in range(width):
        raw = cells[i] if i < len(cells) else None
        name = " ".join(raw.split()) if raw else f"c{i + 1}"
        seen[name] += 1
        if seen[name] > 1:
            name = f"{name}_{seen[name]}"
        names.append(name)
    return names


def rows_to_frame(columns: Sequence[str], rows: Iterable[Sequence[str | None]]) -> pl.DataFrame:
    """Build an all-string frame from rows, padding short rows and cutting long ones."""
    width = len(columns)
    data: list[list[str | None]] = [[] for _ in range(width)]
    for row in rows:
        n = len(row)
        for j in range(width):
            data[j].append(row[j] if j < n else None)
    return pl.DataFrame(
        {
            valid_text(name): _series(valid_text(name), col)
            for name, col in zip(columns, data, strict=True)
        }
    )


def valid_text(value: str) -> str:
    """Return ``value`` with lone surrogates replaced by U+FFFD (JSON allows them).

    Such a string cannot be encoded to UTF-8, so polars, the database and every
    log line would refuse it; the rest of the value, and of its row, is kept.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return value


def _series(name: str, values: list[str | None]) -> pl.Series:
    try:
        return pl.Series(name, values, dtype=pl.String)
    except UnicodeEncodeError:  # a lone surrogate somewhere: replace it, keep the rest
        clean = [valid_text(v) if isinstance(v, str) else v for v in values]
        return pl.Series(name, clean, dtype=pl.String)
