"""Refuse hostile workbook packages (XLSX, ODS) before calamine opens them.

An XLSX or ODS file is a ZIP of XML parts, and calamine trusts both layers:
it inflates parts whole and allocates a sheet's full rectangle of cells at
once. Two cells at ``A1`` and ``XFD1048576`` in a 5 KB file make it ask for
half a terabyte, and a failed allocation in Rust aborts the process rather than
raising. So the package is checked here first, by streaming each part once:

- the declared uncompressed size and compression ratio of each part, and of all
  of them together, against the archive limits;
- no XML part declares a DOCTYPE or entities (calamine resolves none today, but
  no spreadsheet application writes them, so a part that does is hostile);
- every worksheet's extent (the rectangle from its first to its last filled
  cell) against ``_MAX_SHEET_CELLS``, and against the cells it really holds;
- every OpenDocument table that opens also closes (calamine loops forever
  on a file that ends inside one).
"""

from __future__ import annotations

import re
import zipfile
from typing import IO, TYPE_CHECKING

from monitor.errors import CorruptFile, FileTooLarge
from monitor.readers.zipdamage import ZIP_DAMAGE, ZIP_UNSUPPORTED

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from monitor.models import ReadLimits

__all__ = ["check_workbook_package"]

_BLOCK = 1024 * 1024
# calamine's own ceiling for OpenDocument sheets; at 32 bytes a cell, 3.2 GB.
_MAX_SHEET_CELLS = 100_000_000
# A sheet may be sparse, but one whose rectangle is this much larger than the
# cells it holds (and larger than _SPARSE_FLOOR) exists to exhaust memory.
_SPARSE_FACTOR = 64
_SPARSE_FLOOR = 4_000_000
# Small parts of repetitive XML compress far better than any ratio a bomb needs.
_RATIO_GRACE_BYTES = 1024 * 1024
# The prolog (XML declaration, comments) before the root element; longer is hostile.
_MAX_PROLOG_BYTES = 64 * 1024
_PROLOG_END = re.compile(rb"<[A-Za-z_]")
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
# Every row or cell reference: r="1048576" on a row, r="XFD1048576" on a cell.
_REF = re.compile(rb'\sr="([A-Z]{0,3})([0-9]{1,9})"')
# Some writers put a namespace prefix on every tag (<x:c>).
_PREFIXED_CELL_CLOSE = re.compile(rb"</[A-Za-z_][\w.-]*:c>")
_TAIL_BYTES = 256
_ODS_TABLE_OPEN = re.compile(rb"<table:table(?=[\s/>])[^>]*?(/?)>")
_ODS_TABLE_CLOSE = b"</table:table>"


def check_workbook_package(path: Path, limits: ReadLimits) -> None:
    """Refuse an XLSX/XLSM/ODS package that is a bomb or declares XML entities.

    Files that are not ZIP packages (XLS, encrypted OOXML) are left to calamine.

    Raises:
        FileTooLarge: a part, the package or a sheet's extent is over a limit.
        CorruptFile: a part declares a DOCTYPE or entities, or cannot be inflated.
    """
    if not zipfile.is_zipfile(path):
        return
    try:
        package = zipfile.ZipFile(path)
    except ZIP_DAMAGE as exc:
        raise CorruptFile(f"{path.name}: workbook package is damaged ({exc})") from exc
    with package:
        parts = [info for info in package.infolist() if not info.is_dir()]
        declared = sum(info.file_size for info in parts)
        if declared > limits.max_uncompressed_bytes:
            raise FileTooLarge(
                f"{path.name}: workbook parts declare {declared} uncompressed bytes, over the "
                f"limit of {limits.max_uncompressed_bytes} (max_uncompressed_mb)"
            )
        for info in parts:
            cap = max(limits.max_compression_ratio * max(info.compress_size, 1), _RATIO_GRACE_BYTES)
            if info.file_size > cap:
                raise FileTooLarge(
                    f"{path.name}: workbook part {info.filename!r} declares a compression ratio "
                    f"over {limits.max_compression_ratio:g} ({info.compress_size} bytes inflate "
                    f"to {info.file_size})"
                )
            if info.filename.lower().endswith((".xml", ".rels")):
                _check_part(path, package, info)


def _check_part(path: Path, package: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Stream one XML part: no DTD in its prolog, and (for a worksheet) a sane extent."""
    is_sheet = info.filename.startswith("xl/worksheets/")
    where = f"{path.name}: workbook part {info.filename!r}"
    try:
        with package.open(info) as part:
            head = _check_prolog(where, part)
            if is_sheet:
                _check_extent(where, part, head)
            elif info.filename == "content.xml":
                _check_ods_tables(where, part, head)
    except ZIP_DAMAGE as exc:
        raise CorruptFile(f"{where} cannot be inflated ({exc})") from exc
    except ZIP_UNSUPPORTED as exc:
        raise CorruptFile(f"{where} uses an unsupported compression method") from exc


def _check_prolog(where: str, part: IO[bytes]) -> bytes:
    """Read up to the root element; refuse a DOCTYPE or ENTITY before it. Return what was read."""
    head = b""
    while True:
        block = part.read(4096)
        head += block
        root = _PROLOG_END.search(head)
        prolog = head[: root.start()] if root else head
        if _DTD.search(prolog):
            raise CorruptFile(
                f"{where} declares a DOCTYPE or XML entities, which no spreadsheet "
                "application writes (entity expansion or external entity attack); refused"
            )
        if root or not block:
            return head
        if len(head) > _MAX_PROLOG_BYTES:
            raise CorruptFile(f"{where} has no root element in its first {_MAX_PROLOG_BYTES} bytes")


def _check_extent(where: str, part: IO[bytes], head: bytes) -> None:
    """Refuse a worksheet whose cell rectangle would not fit in memory.

    The rectangle spans every cell reference in the sheet, empty styled cells
    too (calamine leaves those out, so this errs towards a larger rectangle);
    filled cells are counted by their closing ``</c>`` (an empty cell is written
    ``<c r="X9" s="1"/>``). Each block is searched by a few C-level regex scans
    rather than a Python loop per cell, which kept the cost of a 100 MB sheet at
    a fraction of calamine's own parse.
    """
    bounds = _Bounds()
    for body in _whole_tags(part, head):
        bounds.feed(body)
    extent = bounds.cells
    if extent > _MAX_SHEET_CELLS or (
        extent > _SPARSE_FLOOR and extent > _SPARSE_FACTOR * bounds.filled
    ):
        raise FileTooLarge(
            f"{where} spans {bounds.rows} rows by {bounds.columns} columns ({extent} cells) "
            f"but fills {bounds.filled}: a sparse sheet that would exhaust memory"
        )


def _check_ods_tables(where: str, part: IO[bytes], head: bytes) -> None:
    """Refuse an OpenDocument body in which a ``<table:table>`` is never closed.

    calamine 0.9 loops forever when the file ends inside a table (found by
    fuzzing: a 1 KB file held a worker until its time limit), so every table
    that opens must close.
    """
    opened = closed = 0
    for body in _whole_tags(part, head):
        opened += sum(1 for m in _ODS_TABLE_OPEN.finditer(body) if not m.group(1))
        closed += body.count(_ODS_TABLE_CLOSE)
    if opened > closed:
        raise CorruptFile(
            f"{where} opens {opened} tables but closes {closed}: truncated or damaged "
            "(calamine would never finish reading it)"
        )


def _whole_tags(part: IO[bytes], head: bytes) -> Iterator[bytes]:
    """Yield a part's bytes after ``head`` in blocks that never cut a tag in two.

    An incomplete tag at a block's end is carried into the next block (a reference
    never spans more than ``_TAIL_BYTES``). zipfile stops at the declared size, which
    the caller has already bounded.
    """
    carry = head
    while True:
        block = part.read(_BLOCK)
        data = carry + block
        cut = data.rfind(b"<", len(data) - _TAIL_BYTES) if block else -1
        body, carry = (data[:cut], data[cut:]) if cut >= 0 else (data, b"")
        yield body
        if not block:
            return


class _Bounds:
    """The rows and columns a worksheet's cell references reach, and its filled cells."""

    def __init__(self) -> None:
        self.row_min = self.row_max = 0
        self.col_min = self.col_max = 0
        self.filled = 0

    @property
    def rows(self) -> int:
        return self.row_max - self.row_min + 1 if self.row_max else 0

    @property
    def columns(self) -> int:
        return self.col_max - self.col_min + 1 if self.col_max else 0

    @property
    def cells(self) -> int:
        return self.rows * self.columns

    def feed(self, body: bytes) -> None:
        self.filled += body.count(b"</c>")
        if b":c>" in body:
            self.filled += len(_PREFIXED_CELL_CLOSE.findall(body))
        refs = _REF.findall(body)
        if not refs:
            return
        letters, numbers = zip(*refs, strict=True)
        rows = [int(n) for n in set(numbers)]
        self._rows(min(rows), max(rows))
        columns = [_column_number(c) for c in set(letters) if c]
        if columns:
            self._columns(max(columns), min(columns))

    def _rows(self, low: int, high: int) -> None:
        self.row_min = min(self.row_min, low) if self.row_max else low
        self.row_max = max(self.row_max, high)

    def _columns(self, high: int, low: int) -> None:
        self.col_min = min(self.col_min, low) if self.col_max else low
        self.col_max = max(self.col_max, high)


def _column_number(letters: bytes) -> int:
    """Return the 1-based column of ``A``..``XFD``."""
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number
