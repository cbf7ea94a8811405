"""Reader for JSON and GeoJSON documents: every array of records becomes a table."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, ClassVar, TypeGuard

from monitor.errors import CorruptFile, FileTooLarge
from monitor.readers.chunks import table_chunks
from monitor.readers.flatten import RecordFlattener, json_tables, value_text
from monitor.readers.registry import register
from monitor.readers.tabular import column_names, find_header

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from monitor.models import ReadLimits, Table

__all__ = ["JsonReader"]

logger = logging.getLogger(__name__)

_ROOT_NAME = "$"


@register
class JsonReader:
    """JSON and GeoJSON documents: each array of records, wherever it sits, is a table.

    Arrays of objects are found at any depth (GeoJSON ``features``, JSON:API
    ``data`` and ``included``, ``results.items``, a top-level array) and each
    becomes a table named by its path. Nested objects become dotted columns that
    start with that path (``features.properties.Zip_Code``); lists of scalars are
    joined with ``"; "``; arrays of objects inside a record are tables of their own.
    The top-level object's other values form a one-row table named ``$``. An
    array of arrays at the top (Socrata's ``rows.json``) is read as rows, with
    Socrata's column names when the document carries them. The document is parsed
    whole, so it is bounded by ``max_json_bytes``; ``max_columns`` and
    ``max_rows`` apply per table.
    """

    kind: ClassVar[str] = "json"
    extensions: ClassVar[tuple[str, ...]] = (".json", ".geojson")
    media_types: ClassVar[tuple[str, ...]] = (
        "application/json",
        "application/geo+json",
        "application/vnd.api+json",
        "text/json",
    )

    def read(self, path: Path, limits: ReadLimits) -> Iterator[Table]:
        """Yield the top-level values (``$``), then one chunked table per record array.

        Raises:
            FileTooLarge: the file is over ``max_json_bytes`` or a table over a limit.
            CorruptFile: the document is not valid JSON; the message gives the position.
        """
        document = _load(path, limits)
        if isinstance(document, dict) and document and set(document) <= {"error", "errors"}:
            # ArcGIS and other APIs answer errors with HTTP 200: an error body is not an
            # empty data file, and scanning it as one would resolve a leak's findings.
            raise CorruptFile(f"{path.name}: the document is an API error response, not data")
        source = str(path)
        if _is_row_array(document):
            yield from self._row_table(document, None, None, source, limits)
            return
        row_arrays: dict[str, list[object]] = {}
        if isinstance(document, dict):
            row_arrays = {k: v for k, v in document.items() if _is_row_array(v)}
            document = {k: v for k, v in document.items() if k not in row_arrays}
        # A top-level array is the file's own table (no name, like a CSV); a
        # top-level object's loose values are the one-row table "$".
        records = document if isinstance(document, list) else [document]
        root_name = None if isinstance(document, list) else _ROOT_NAME
        yield from json_tables(
            lambda: records,
            source=source,
            kind=self.kind,
            limits=limits,
            flattener=RecordFlattener(path.name),
            name_of=lambda p: p or root_name,
        )
        for key, rows in row_arrays.items():
            yield from self._row_table(rows, key, _socrata_header(document), source, limits)

    def _row_table(
        self,
        rows: list[object],
        name: str | None,
        header: list[str] | None,
        source: str,
        limits: ReadLimits,
    ) -> Iterator[Table]:
        """Yield an array of arrays as a table, finding its header like a spreadsheet's."""
        cells = [[value_text(v) for v in row] for row in rows if isinstance(row, list)]
        width = max((len(row) for row in cells), default=0)
        start = 0
        if header is None or len(header) != width:
            guess = find_header(cells)
            header = None
            if guess.header_row is not None:
                header = [cell or "" for cell in cells[guess.header_row]]
            start = guess.data_start
        yield from table_chunks(
            column_names(header, width),
            cells[start:],
            source=source,
            name=name,
            kind=self.kind,
            limits=limits,
            headerless=header is None,
        )


def _load(path: Path, limits: ReadLimits) -> object:
    """Parse the whole document, refusing one over ``max_json_bytes`` before reading it."""
    size = path.stat().st_size
    if size > limits.max_json_bytes:
        raise FileTooLarge(
            f"{path.name}: {size} bytes of JSON is over the limit of {limits.max_json_bytes} bytes"
        )
    data = path.read_bytes()
    try:
        return _parse(path, data)
    except json.JSONDecodeError as exc:
        raise CorruptFile(
            f"{path.name}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    except UnicodeDecodeError as exc:
        raise CorruptFile(
            f"{path.name}: JSON is not valid {exc.encoding} text at byte {exc.start}"
        ) from exc
    except RecursionError as exc:
        raise CorruptFile(f"{path.name}: JSON nests too deep to parse") from exc


def _parse(path: Path, data: bytes) -> object:
    """Parse JSON bytes; invalid UTF-8 (overlong forms, stray Latin-1 bytes) becomes U+FFFD.

    JSON must be UTF-8, but portals mix encodings: one bad byte must cost one
    character, not the file. UTF-16 and UTF-32 documents are detected as before.
    """
    try:
        return json.loads(data)
    except UnicodeDecodeError as exc:
        if exc.encoding.replace("-", "").lower() != "utf8":
            raise
        logger.warning(
            "%s: JSON is not valid UTF-8 (first bad byte at %d); bad bytes replaced",
            path.name,
            exc.start,
        )
        return json.loads(data.decode("utf-8", "replace"))


def _is_row_array(value: object) -> TypeGuard[list[object]]:
    """Say whether a value is an array of arrays of mostly scalars: rows without keys."""
    if not isinstance(value, list) or not value:
        return False
    if not all(isinstance(row, list) for row in value if row is not None):
        return False
    # Coordinates ([[x, y], ...] inside lists) are not rows: rows hold scalars.
    return any(not isinstance(cell, (dict, list)) for row in value[:30] if row for cell in row)


def _socrata_header(root: object) -> list[str] | None:
    """Return Socrata's column names from ``meta.view.columns``, when the document has them."""
    meta = root.get("meta") if isinstance(root, dict) else None
    view = meta.get("view") if isinstance(meta, dict) else None
    columns = view.get("columns") if isinstance(view, dict) else None
    if not isinstance(columns, list) or not columns:
        return None
    names = [col.get("name") if isinstance(col, dict) else None for col in columns]
    if not all(isinstance(name, str) for name in names):
        return None
    return [str(name) for name in names]
