"""Flatten JSON records into rows of dotted-path columns; shared by the JSON and NDJSON readers.

A record's nested objects become columns named by their path from the document
root (``features.properties.Zip_Code``), so a column says where its value came
from. Lists of scalars are joined with ``"; "``. A list of objects inside a record
is a table of its own, named by its path, because its rows are not the record's rows.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from monitor.errors import CorruptFile, FileTooLarge
from monitor.readers.chunks import table_chunks
from monitor.readers.tabular import cell_text

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from monitor.models import ReadLimits, Table

__all__ = ["RecordFlattener", "json_tables", "value_text"]

#: A flat record: dotted column path -> cell text.
Row = dict[str, str | None]
#: Arrays of objects met inside a record: (path, the objects).
Nested = list[tuple[str, list[object]]]

_MAX_DEPTH = 64
_SCALAR_COLUMN = "value"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class RecordFlattener:
    """Turn one JSON record into a flat row plus the arrays of objects it holds."""

    def __init__(self, where: str, max_depth: int = _MAX_DEPTH) -> None:
        self.where = where
        self.max_depth = max_depth

    def flatten(self, record: object, path: str) -> tuple[Row, Nested]:
        """Return the record's cells keyed by dotted path, and its nested object arrays.

        ``path`` is where the record sits (``features``); it prefixes every column.

        Raises:
            CorruptFile: the record nests deeper than ``max_depth`` levels.
        """
        row: Row = {}
        nested: Nested = []
        if isinstance(record, list):
            # A record that is itself a list (an NDJSON line ``[1, 2]``) has no
            # keys to name columns by: keep it whole, as text.
            row[path or _SCALAR_COLUMN] = _list_text(record)
        else:
            self._walk(record, path, row, nested, 0)
        return row, nested

    def _walk(self, value: object, path: str, row: Row, nested: Nested, depth: int) -> None:
        if depth > self.max_depth:
            raise CorruptFile(
                f"{self.where}: JSON nests deeper than {self.max_depth} levels at {path!r}"
            )
        if isinstance(value, dict):
            for key, item in value.items():
                self._walk(item, _join(path, str(key)), row, nested, depth + 1)
        elif isinstance(value, list):
            items = [item for item in value if item is not None]
            if items and all(isinstance(item, dict) for item in items):
                nested.append((path, items))
            else:
                row[path or _SCALAR_COLUMN] = _list_text(items)
        else:
            row[path or _SCALAR_COLUMN] = cell_text(value)


def value_text(value: object) -> str | None:
    """Return any JSON value as one cell: scalars as text, objects and arrays as compact JSON."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")) if value else None
    return cell_text(value)


def _list_text(items: list[object]) -> str | None:
    """Return a list as one cell: scalars joined with "; ", anything deeper as compact JSON."""
    if any(isinstance(item, (dict, list)) for item in items):
        # Coordinates of a polygon, mixed lists: still text that detection can scan.
        return value_text(items)
    texts = [text for text in (cell_text(item) for item in items) if text is not None]
    return "; ".join(texts) or None


def _discover(
    records: Iterable[object],
    path: str,
    flattener: RecordFlattener,
    tables: dict[str, dict[str, None]],
    max_columns: int,
) -> None:
    """Record every table under ``path`` with its columns, in the order they are first seen."""
    columns = tables.setdefault(path, {})
    for record in records:
        row, nested = flattener.flatten(record, path)
        columns.update(dict.fromkeys(row))
        if len(columns) > max_columns:
            raise FileTooLarge(
                f"{flattener.where}: JSON table {path or '$'!r} has more than {max_columns} columns"
            )
        for inner_path, items in nested:
            _discover(items, inner_path, flattener, tables, max_columns)


def _rows_at(
    records: Iterable[object], path: str, target: str, flattener: RecordFlattener
) -> Iterator[Row]:
    """Yield the flat rows of the table at ``target``, walking down from ``path``."""
    for record in records:
        row, nested = flattener.flatten(record, path)
        if path == target:
            yield row
            continue
        for inner_path, items in nested:
            if target == inner_path or target.startswith(inner_path + "."):
                yield from _rows_at(items, inner_path, target, flattener)


def json_tables(
    records: Callable[[], Iterable[object]],
    *,
    source: str,
    kind: str,
    limits: ReadLimits,
    flattener: RecordFlattener,
    name_of: Callable[[str], str | None],
) -> Iterator[Table]:
    """Yield one chunked table per record array found under the top-level records.

    ``records`` is called once to learn every table's columns and once more per
    table, so a streamed source (NDJSON lines) never has to be held in memory and
    each table's chunks share the same columns.

    Args:
        records: returns a fresh iterable of the top-level records each time it is called.
        source: the file, for ``Table.source``.
        kind: the reader kind, for ``Table.kind``.
        limits: ``max_columns``, ``max_rows`` and ``chunk_rows`` apply per table.
        flattener: flattens each record and names the file in errors.
        name_of: the table name for a record-array path (``""`` is the top level).
    """
    tables: dict[str, dict[str, None]] = {}
    _discover(records(), "", flattener, tables, limits.max_columns)
    for path, columns in tables.items():
        if not columns:
            continue
        names = list(columns)
        found = _rows_at(records(), "", path, flattener)
        rows = ([row.get(name) for name in names] for row in found)
        yield from table_chunks(
            names, rows, source=source, name=name_of(path), kind=kind, limits=limits
        )
