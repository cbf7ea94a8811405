"""Reader for HTML pages: every ``<table>`` element becomes a table of text cells."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from lxml import etree

from monitor.errors import CorruptFile
from monitor.readers.chunks import table_chunks
from monitor.readers.registry import register
from monitor.readers.tabular import cell_text, column_names, find_header

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from monitor.models import ReadLimits, Table

__all__ = ["HtmlReader"]

logger = logging.getLogger(__name__)

_SNIFF_BYTES = 64 * 1024
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=", re.IGNORECASE)
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
# Text in these elements is code or markup, never what the page shows in a cell.
_HIDDEN_TAGS = ("script", "style", "template")
# The HTML standard's own caps; a hostile colspan="99999999" must not allocate a row that wide.
_MAX_COLSPAN = 1000
_MAX_ROWSPAN = 65534
_MAX_NAME_CHARS = 100
_LATIN_1 = "iso-8859-1"
# Bytes windows-1252 leaves undefined: libxml2 refuses the whole page over one of them.
_CP1252_HOLES = frozenset(b"\x81\x8d\x8f\x90\x9d")

# lxml ships no type information; its elements are typed ``Any`` here.
_Element = Any


@register
class HtmlReader:
    """HTML pages: each ``<table>`` is a table named by its id, its caption, or ``table N``.

    The header is the row(s) of ``<th>`` cells at the top of the table, or else
    found like a spreadsheet's; ``colspan`` and ``rowspan`` keep cells under the
    right column, and a table nested in a cell is a table of its own. The page is
    parsed as it streams, one top-level table at a time, by libxml2's HTML parser:
    no script runs, no network is touched and no external entity is resolved.
    """

    kind: ClassVar[str] = "html"
    extensions: ClassVar[tuple[str, ...]] = (".html", ".htm", ".xhtml")
    media_types: ClassVar[tuple[str, ...]] = ("text/html", "application/xhtml+xml")

    def read(self, path: Path, limits: ReadLimits) -> Iterator[Table]:
        """Yield each non-empty table in document order, in chunks.

        A page that libxml2 cannot decode in its declared or sniffed encoding (a
        byte that windows-1252 leaves undefined, say) is read again as Latin-1,
        in which every byte is a character, rather than refused unread.

        Raises:
            CorruptFile: libxml2 cannot make a document of the file at all.
        """
        encoding = _sniff_encoding(path)
        yielded = False
        try:
            for table in self._read(path, limits, encoding):
                yielded = True
                yield table
        except CorruptFile:
            if yielded or encoding == _LATIN_1:
                raise
            logger.info("%s: cannot be decoded as %s, reading it as Latin-1", path.name, encoding)
            yield from self._read(path, limits, _LATIN_1)

    def _read(self, path: Path, limits: ReadLimits, encoding: str | None) -> Iterator[Table]:
        events = etree.iterparse(
            str(path),
            events=("end",),
            tag=("table", *_HIDDEN_TAGS),
            html=True,
            encoding=encoding,
            no_network=True,
            load_dtd=False,
            resolve_entities=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        )
        taken: set[str] = set()
        seen = 0
        try:
            for _event, element in events:
                if element.tag in _HIDDEN_TAGS:
                    element.clear(keep_tail=True)
                    continue
                if next(element.iterancestors("table"), None) is not None:
                    continue  # read together with the table that holds it
                tables = list(element.iter("table"))
                for table in _parse_tables(tables, seen, taken):
                    yield from table_chunks(
                        table.columns,
                        table.rows,
                        source=str(path),
                        name=table.name,
                        kind=self.kind,
                        limits=limits,
                        headerless=table.headerless,
                    )
                seen += len(tables)
                # Drop what has been read so a long page is held one table at a time.
                element.clear(keep_tail=True)
                while element.getprevious() is not None:
                    del element.getparent()[0]
        except etree.LxmlError as exc:
            raise CorruptFile(f"{path.name}: HTML cannot be parsed ({exc})") from exc


@dataclass(frozen=True)
class _ParsedTable:
    name: str
    columns: list[str]
    rows: list[list[str | None]]
    headerless: bool


def _parse_tables(tables: list[_Element], seen: int, taken: set[str]) -> list[_ParsedTable]:
    """Read a top-level table and the tables inside it (``tables``, in document order).

    Inner tables are read first and then emptied, so the text of a nested table
    is not counted again inside the outer table's cell. Tables without a filled
    cell are left out.
    """
    names = [_name(table, seen + number, taken) for number, table in enumerate(tables, 1)]
    parsed: list[_ParsedTable] = []
    for name, table in reversed(list(zip(names, tables, strict=True))):
        rows, header_rows = _rows(table)
        table.clear(keep_tail=True)
        if rows:
            header, data = _split_header(rows, header_rows)
            width = max(len(row) for row in rows)
            parsed.append(_ParsedTable(name, column_names(header, width), data, header is None))
    parsed.reverse()
    return parsed


def _name(table: _Element, number: int, taken: set[str]) -> str:
    """Name a table by its id, else its caption, else its place in the page; never twice."""
    caption = table.find("caption")
    caption_text = _text(caption) if caption is not None else None
    name = (table.get("id") or "").strip() or caption_text or f"table {number}"
    name = name[:_MAX_NAME_CHARS]
    if name in taken:
        name = f"{name} (table {number})"
    taken.add(name)
    return name


def _rows(table: _Element) -> tuple[list[list[str | None]], int]:
    """Return a table's rows as text cells laid out by column, and how many lead with ``<th>``."""
    rows: list[list[str | None]] = []
    header_rows = 0
    spans: dict[int, int] = {}  # column -> rows it is still covered by a rowspan above
    for tr in table.iter("tr"):
        cells: list[str | None] = []
        only_th = True
        for cell in tr:
            if cell.tag not in ("td", "th"):
                continue
            only_th = only_th and cell.tag == "th"
            while spans.get(len(cells), 0) > 0:
                spans[len(cells)] -= 1
                cells.append(None)
            text = _text(cell)
            colspan = _span(cell.get("colspan"), _MAX_COLSPAN)
            rowspan = _span(cell.get("rowspan"), _MAX_ROWSPAN)
            for k in range(colspan):
                if rowspan > 1:
                    spans[len(cells)] = rowspan - 1
                # A header spanning columns names each of them; a value fills only the first.
                cells.append(text if k == 0 or cell.tag == "th" else None)
        if not any(cells):
            continue
        if only_th and header_rows == len(rows):
            header_rows += 1
        rows.append(cells)
    return rows, header_rows


def _split_header(
    rows: list[list[str | None]], header_rows: int
) -> tuple[list[str | None] | None, list[list[str | None]]]:
    """Return the header (``None`` when there is none) and the data rows."""
    if header_rows:
        # Stacked header rows ("Contact" over "Email", "Phone") name a column together.
        width = max(len(row) for row in rows[:header_rows])
        stacked: list[str | None] = [
            " ".join(row[j] or "" for row in rows[:header_rows] if j < len(row)).strip() or None
            for j in range(width)
        ]
        return stacked, rows[header_rows:]
    guess = find_header(rows)
    header = rows[guess.header_row] if guess.header_row is not None else None
    return header, rows[guess.data_start :]


def _text(element: _Element) -> str | None:
    return cell_text(" ".join(" ".join(element.itertext()).split()))


def _span(value: str | None, cap: int) -> int:
    try:
        return min(max(int(value or 1), 1), cap)
    except ValueError:
        return 1


def _sniff_encoding(path: Path) -> str | None:
    """Return the encoding to parse with, or ``None`` to let libxml2 follow the page.

    libxml2 honours a BOM or a ``<meta charset>``, but reads a page that declares
    nothing as Latin-1, which garbles the UTF-8 most portals serve. A page that is
    not UTF-8 and holds a byte windows-1252 leaves undefined, anywhere, is read
    as Latin-1 whatever it declares: at such a byte libxml2 refuses the page,
    drops the rest of the table row, or stops without a word.
    """
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if head.startswith(_BOMS):
        return None
    declared = _META_CHARSET.search(head) is not None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the end of the sample is still UTF-8.
        if exc.start < len(head) - 3:
            if _has_cp1252_holes(path):
                return _LATIN_1
            return None if declared else "windows-1252"
    if declared:
        return None
    return "utf-8"


def _has_cp1252_holes(path: Path) -> bool:
    """Say whether the file holds a byte that windows-1252 leaves undefined."""
    with path.open("rb") as fh:
        while block := fh.read(1024 * 1024):
            if any(bytes([hole]) in block for hole in _CP1252_HOLES):
                return True
    return False
