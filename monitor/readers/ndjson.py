"""Reader for NDJSON / JSON Lines: one JSON record per line, streamed, never loaded whole."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from monitor.errors import CorruptFile, FileTooLarge
from monitor.readers.flatten import RecordFlattener, json_tables
from monitor.readers.registry import register

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from monitor.models import ReadLimits, Table

__all__ = ["NdjsonReader"]

logger = logging.getLogger(__name__)


@dataclass
class _LineCount:
    """What the first pass over the lines found, for the bad-line report."""

    good: int = 0
    bad: int = 0
    first_bad: str = ""


@register
class NdjsonReader:
    """NDJSON / JSON Lines: one record per line, flattened to dotted columns like JSON.

    Lines are read one at a time: a first pass learns the columns, then each table
    is streamed in chunks, so a file of any length costs one chunk of memory.
    Nested objects become dotted columns (``address.line1``), lists of scalars are
    joined with ``"; "``, and arrays of objects become tables of their own named by
    their path. Lines that are not valid JSON are counted and skipped with a
    warning; the file is corrupt only when no line parses. A single line is
    bounded by ``max_json_bytes``; ``max_columns`` and ``max_rows`` apply per table.
    """

    kind: ClassVar[str] = "ndjson"
    extensions: ClassVar[tuple[str, ...]] = (".ndjson", ".jsonl", ".jsonlines", ".geojsonl")
    media_types: ClassVar[tuple[str, ...]] = (
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/x-jsonlines",
    )

    def read(self, path: Path, limits: ReadLimits) -> Iterator[Table]:
        """Yield the records as one chunked table, plus one per nested array of objects.

        Raises:
            CorruptFile: no line of the file is valid JSON.
            FileTooLarge: a line is over ``max_json_bytes``, or a table over a limit.
        """
        count = _LineCount()
        counted = False

        def records() -> Iterator[object]:
            # The first pass counts bad lines; later passes see the same lines again.
            nonlocal counted
            yield from _records(path, limits, None if counted else count)
            counted = True

        tables = json_tables(
            records,
            source=str(path),
            kind=self.kind,
            limits=limits,
            flattener=RecordFlattener(path.name),
            name_of=lambda p: p or None,
        )
        first = next(tables, None)
        if count.bad and not count.good:
            raise CorruptFile(
                f"{path.name}: no line is valid JSON ({count.bad} bad lines; {count.first_bad})"
            )
        if count.bad:
            logger.warning(
                "%s: skipped %d of %d lines that are not valid JSON (%s)",
                path.name,
                count.bad,
                count.bad + count.good,
                count.first_bad,
            )
        if first is not None:
            yield first
            yield from tables


def _records(path: Path, limits: ReadLimits, count: _LineCount | None) -> Iterator[object]:
    """Yield each line's JSON value, skipping blank and malformed lines."""
    with path.open("rb") as fh:
        for number, line in enumerate(iter(lambda: fh.readline(limits.max_json_bytes + 1), b""), 1):
            if len(line) > limits.max_json_bytes:
                raise FileTooLarge(
                    f"{path.name}: line {number} is over the limit of {limits.max_json_bytes} bytes"
                )
            if not line.strip():
                continue
            try:
                record = json.loads(_utf8(line))
            except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
                if count is not None:
                    count.bad += 1
                    count.first_bad = count.first_bad or f"first at line {number}: {_reason(exc)}"
                continue
            if count is not None:
                count.good += 1
            yield record


def _utf8(line: bytes) -> bytes | str:
    """Return a line as UTF-8 text with invalid bytes replaced (mixed encodings), or as is."""
    if line.isascii():
        return line
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        if line.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in line[:4]:
            return line  # UTF-16/32: json.loads detects it
        return line.decode("utf-8", "replace")
    return line


def _reason(exc: ValueError | RecursionError) -> str:
    """Say why a line did not parse, without quoting the line (it may hold personal data)."""
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at column {exc.colno}"
    if isinstance(exc, UnicodeDecodeError):
        return f"not valid {exc.encoding} text at byte {exc.start}"
    return "nests too deep"
