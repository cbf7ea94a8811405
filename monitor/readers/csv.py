"""Reader for delimited text: CSV, TSV, pipe- and semicolon-separated files."""

from __future__ import annotations

import codecs
import csv as _pycsv
import io
import logging
from typing import TYPE_CHECKING, BinaryIO, ClassVar

import polars as pl

from monitor.errors import CorruptFile, FileTooLarge
from monitor.models import Table
from monitor.readers.registry import register
from monitor.readers.sniff import Dialect, looks_binary, sniff_dialect
from monitor.readers.tabular import column_names, find_header

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from monitor.models import ReadLimits

__all__ = ["CsvReader"]

logger = logging.getLogger(__name__)

_SNIFF_BYTES = 64 * 1024
_HEADER_ROWS = 50
_MAX_LINE_BYTES = 64 * 1024**2


class _Utf8Stream:
    """Turn a raw byte stream into UTF-8 blocks with LF line endings."""

    def __init__(self, fh: BinaryIO, dialect: Dialect, block: int) -> None:
        self._fh = fh
        self._dialect = dialect
        self._block = block
        self._decoder = (
            None
            if dialect.encoding == "utf-8"
            else codecs.getincrementaldecoder(dialect.encoding)(errors="replace")
        )
        self._carry = b""
        self.eof = False

    def read(self) -> bytes:
        """Return the next normalised block (empty at end of file)."""
        raw = self._fh.read(self._block)
        self.eof = not raw
        if self._decoder is not None:
            data = self._decoder.decode(raw, final=self.eof).encode("utf-8")
        else:
            data = raw
        data = self._carry + data
        self._carry = b""
        if not self.eof and data.endswith(b"\r"):
            # Keep a trailing CR until we see whether a LF follows it.
            stripped = data.rstrip(b"\r")
            self._carry = data[len(stripped) :]
            data = stripped
        newline = self._dialect.newline
        if newline == "\r\r\n":
            data = data.replace(b"\r\r\n", b"\n")
        elif newline == "\r":
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        return data


def _record_cut(buf: bytes) -> int:
    """Return the index just past the last newline that ends a whole record, or -1.

    A newline ends a record when an even number of quotes comes before it. The
    buffer is split at quotes once, so a stray quote costs one pass over the
    buffer, not one pass per line (which hung the reader on a single ``"``).
    """
    parts = buf.split(b'"')
    end = len(buf)
    for index in range(len(parts) - 1, -1, -1):
        start = end - len(parts[index])
        if index % 2 == 0:  # outside quotes
            pos = parts[index].rfind(b"\n")
            if pos >= 0:
                return start + pos + 1
        end = start - 1  # the quote before this part
    return -1


def _last_newline_cut(buf: bytes) -> int:
    """Return the index just past the last newline, quotes or not, or -1."""
    pos = buf.rfind(b"\n")
    return pos + 1 if pos >= 0 else -1


def _header_sample(path: Path, stream: _Utf8Stream, buf: bytes) -> tuple[bytes, int]:
    """Return the buffer and how much of it the header search reads.

    That is ``_SNIFF_BYTES``, or more when the first line alone is longer (a wide
    header), so that a long first line is read rather than taken for an empty file.

    Raises:
        FileTooLarge: the first line is longer than ``_MAX_LINE_BYTES``.
    """
    first = buf.find(b"\n")
    while first < 0 and not stream.eof:
        if len(buf) > _MAX_LINE_BYTES:
            raise FileTooLarge(f"{path.name}: a record is longer than {_MAX_LINE_BYTES} bytes")
        searched = len(buf)
        buf += stream.read()
        first = buf.find(b"\n", searched)
    if first < 0:
        return buf, len(buf)  # one line and no newline: the sample is the whole file
    if first < _SNIFF_BYTES:
        return buf, _SNIFF_BYTES
    want = first + 1 + _SNIFF_BYTES
    while not stream.eof and len(buf) < want:
        buf += stream.read()
    return buf, want


def _header_rows(
    text: str, delimiter: str, *, whole: bool = False
) -> tuple[list[list[str | None]], list[int]]:
    """Parse the first rows and the character offset where each row ends.

    ``whole`` says the text is the whole file, so its last line is complete.
    """
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n") and not whole:
        lines = lines[:-1]  # cut short by the sample size
    ends: list[int] = []
    consumed = 0

    def feed() -> Iterator[str]:
        nonlocal consumed
        for line in lines:
            consumed += len(line)
            yield line

    rows: list[list[str | None]] = []
    reader = _pycsv.reader(feed(), delimiter=delimiter)
    try:
        for row in reader:
            rows.append([c.strip() or None for c in row])
            ends.append(consumed)
            if len(rows) >= _HEADER_ROWS:
                break
    except _pycsv.Error:
        pass  # a malformed early row: the rows before it still tell us the header
    return rows, ends


@register
class CsvReader:
    """Delimited text (CSV, TSV, pipe, semicolon) in any common encoding and line ending.

    Sniffs the encoding (UTF-8 with or without BOM, UTF-16, cp1252, latin-1), the
    line endings (LF, CRLF, CR, CR-CR-LF), the delimiter, title rows above the
    header and headerless files, then streams the file in chunks of about
    ``chunk_bytes`` so a gigabyte file never sits whole in memory.
    """

    kind: ClassVar[str] = "csv"
    extensions: ClassVar[tuple[str, ...]] = (".csv", ".tsv", ".tab", ".txt", ".psv", ".dat")
    media_types: ClassVar[tuple[str, ...]] = (
        "text/csv",
        "text/tab-separated-values",
        "text/plain",
        "application/csv",
        "application/vnd.ms-excel",
    )

    def read(self, path: Path, limits: ReadLimits) -> Iterator[Table]:
        """Yield the file's rows as chunks of one table.

        Raises:
            CorruptFile: the file is binary data (NULs, control bytes), not text.
            FileTooLarge: a record is over 64 MiB, or the file over ``max_columns``
                or ``max_rows``.
        """
        with path.open("rb") as fh:
            dialect = sniff_dialect(fh.read(_SNIFF_BYTES))
            fh.seek(len(dialect.bom))
            stream = _Utf8Stream(fh, dialect, limits.chunk_bytes)
            buf = stream.read()
            while not stream.eof and len(buf) < _SNIFF_BYTES:
                buf += stream.read()
            buf, sample = _header_sample(path, stream, buf)
            text = buf[:sample].decode("utf-8", errors="replace")
            if looks_binary(text[:_SNIFF_BYTES]):
                raise CorruptFile(f"{path.name}: binary data, not delimited text")
            whole = stream.eof and sample >= len(buf)
            rows, ends = _header_rows(text, dialect.delimiter, whole=whole)
            if not rows:
                if not text.strip():
                    return
                # The csv module gave up on the first line (a field over its size
                # limit, a NUL byte): read the file as headerless rather than as empty.
                first_line = text.split("\n", 1)[0]
                rows, ends = [[None] * (first_line.count(dialect.delimiter) + 1)], [0]
            guess = find_header(rows)
            width = max(
                len(r) for r in rows[guess.data_start if guess.data_start < len(rows) else 0 :]
            )
            if guess.header_row is not None:
                width = max(width, len(rows[guess.header_row]))
            if width > limits.max_columns:
                raise FileTooLarge(
                    f"{path.name}: {width} columns is over the limit of {limits.max_columns}"
                )
            header = rows[guess.header_row] if guess.header_row is not None else None
            columns = column_names(header, width)
            skip_chars = ends[guess.data_start - 1] if guess.data_start > 0 else 0
            buf = buf[len(text[:skip_chars].encode("utf-8")) :]
            yield from self._chunks(path, stream, buf, columns, dialect, limits, header is None)

    def _chunks(
        self,
        path: Path,
        stream: _Utf8Stream,
        buf: bytes,
        columns: list[str],
        dialect: Dialect,
        limits: ReadLimits,
        headerless: bool,
    ) -> Iterator[Table]:
        offset = 0
        while True:
            while not stream.eof and len(buf) < limits.chunk_bytes:
                buf += stream.read()
            if stream.eof:
                piece, buf = buf, b""
            else:
                cut = _record_cut(buf)
                while cut < 0 and not stream.eof:
                    if len(buf) > _MAX_LINE_BYTES:
                        # No record ends within the limit: a stray quote opened a "cell"
                        # that never closes. Cut at a line end and let the parser read
                        # the quote as text; only a line that long with no end is refused.
                        cut = _last_newline_cut(buf)
                        if cut < 0:
                            raise FileTooLarge(
                                f"{path.name}: a record is longer than {_MAX_LINE_BYTES} bytes"
                            )
                        logger.warning(
                            "%s: no record ends within %d bytes (unbalanced quote?); "
                            "reading on at the last line end",
                            path.name,
                            _MAX_LINE_BYTES,
                        )
                        break
                    buf += stream.read()
                    cut = _record_cut(buf) if not stream.eof else len(buf)
                piece, buf = buf[:cut], buf[cut:]
            if piece.strip():
                frame = self._parse(path, piece, columns, dialect.delimiter)
                if offset + frame.height > limits.max_rows:
                    raise FileTooLarge(
                        f"{path.name}: more than {limits.max_rows} rows (limit max_rows)"
                    )
                if frame.height:
                    yield Table(str(path), None, frame, offset, headerless, self.kind)
                offset += frame.height
            if stream.eof and not buf:
                return

    @staticmethod
    def _parse(path: Path, piece: bytes, columns: list[str], sep: str) -> pl.DataFrame:
        # A synthetic header fixes the width: polars would otherwise take it from
        # the chunk's first row, and a short first row would drop later columns.
        header = sep.join(f"c{i}" for i in range(len(columns))).encode() + b"\n"
        options = {
            "infer_schema": False,
            "separator": sep,
            "truncate_ragged_lines": True,
            "encoding": "utf8-lossy",
        }
        try:
            frame = pl.read_csv(io.BytesIO(header + piece), **options)  # type: ignore[arg-type]
        except pl.exceptions.PolarsError:
            # Stray quotes break polars' parser; read the chunk with quoting off.
            try:
                frame = pl.read_csv(io.BytesIO(header + piece), quote_char=None, **options)  # type: ignore[arg-type]
            except pl.exceptions.PolarsError as exc:
                # polars' message quotes the offending line: name the error, not the data.
                raise CorruptFile(
                    f"{path.name}: cannot parse as delimited text ({type(exc).__name__})"
                ) from exc
        frame.columns = columns
        # Cells are not stripped here (that would double the parse time); the
        # detector strips the few values it samples and ignores blank cells.
        return frame.filter(pl.any_horizontal(pl.all().is_not_null()))
