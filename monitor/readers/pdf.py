"""Reader for PDF documents: ruled tables on each page, and the page text line by line."""

from __future__ import annotations

import contextlib
import logging
import struct
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import pdfplumber
from pdfminer.pdfdocument import PDFEncryptionError
from pdfminer.psexceptions import PSException
from pdfplumber.utils.exceptions import MalformedPDFException, PdfminerException

from monitor.errors import CorruptFile, EncryptedFile
from monitor.readers.chunks import table_chunks
from monitor.readers.registry import register
from monitor.readers.tabular import cell_text, column_names, find_header

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pdfplumber.page import Page
    from pdfplumber.pdf import PDF

    from monitor.models import ReadLimits, Table

__all__ = ["PdfReader"]

logger = logging.getLogger(__name__)
# pdfminer warns about damaged content streams by quoting their operands, and a
# PDF's operands are its text: personal data must not reach the log that way.
logging.getLogger("pdfminer").setLevel(logging.ERROR)

_TEXT_TABLE = "text"
_TEXT_COLUMN = "text"

# pdfminer reports broken content streams with its own exceptions, or with the
# builtin errors its parser trips over on malformed input (fuzzing found each of
# these escaping from pdfplumber); they are caught only around pdfminer calls.
_BROKEN = (
    PdfminerException,
    MalformedPDFException,
    PSException,
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
    IndexError,
    AssertionError,
    ArithmeticError,
    RecursionError,
    struct.error,
    zlib.error,
)
# (x0, top, x1, bottom) in points, as pdfplumber gives it.
_BBox = tuple[float, float, float, float]
_EDGE_SLACK = 3.0
_TOP_OF_PAGE = 0.2


@register
class PdfReader:
    """PDF documents: the ruled tables on each page, plus every line of page text.

    Each table drawn on a page is a table named ``page N table M``, with its
    header found like a spreadsheet's. The text outside those tables becomes one
    table named ``text`` with a single column ``text``, one row per line, so
    free-text detection sees names and numbers written in prose. Only the first
    ``max_pdf_pages`` pages are read; the rest is skipped with a warning rather
    than failing, since the first pages already show what the document holds.
    Scanned images carry no text and yield nothing.
    """

    kind: ClassVar[str] = "pdf"
    extensions: ClassVar[tuple[str, ...]] = (".pdf",)
    media_types: ClassVar[tuple[str, ...]] = ("application/pdf", "application/x-pdf")

    def read(self, path: Path, limits: ReadLimits) -> Iterator[Table]:
        """Yield each page's tables in page order, then the ``text`` table.

        Raises:
            EncryptedFile: the PDF needs a password to open.
            CorruptFile: the PDF or one of its pages cannot be parsed.
        """
        wanted = limits.max_pdf_pages
        lines: list[list[str | None]] = []
        # Ask for one page more than the limit, to know whether any was left out.
        pdf = _open(path, list(range(1, wanted + 2)))
        with contextlib.closing(_Closer(pdf)):
            try:
                pages = pdf.pages
            except _BROKEN as exc:
                raise CorruptFile(
                    f"{path.name}: PDF page tree cannot be parsed ({_reason(exc)})"
                ) from exc
            if len(pages) > wanted:
                logger.warning(
                    "%s: read the first %d pages and skipped the rest (max_pdf_pages)",
                    path.name,
                    wanted,
                )
            layout: _Layout | None = None
            for page in pages[:wanted]:
                try:
                    tables, text = _page_content(page)
                except _BROKEN as exc:
                    raise CorruptFile(
                        f"{path.name}: page {page.page_number} cannot be parsed ({_reason(exc)})"
                    ) from exc
                finally:
                    with contextlib.suppress(*_BROKEN):
                        page.close()
                last = None
                for number, (bbox, rows) in enumerate(tables, 1):
                    if number == 1 and layout and layout.continued_by(bbox, rows, page.height):
                        last = layout
                        # The header may be repeated on each page, or not at all.
                        data = rows[1:] if rows[0] == layout.header else rows
                    else:
                        guess = find_header(rows)
                        header = rows[guess.header_row] if guess.header_row is not None else None
                        width = max(len(row) for row in rows)
                        last = _Layout(column_names(header, width), header, bbox[0], bbox[2])
                        data = rows[guess.data_start :]
                    yield from table_chunks(
                        last.columns,
                        data,
                        source=str(path),
                        name=f"page {page.page_number} table {number}",
                        kind=self.kind,
                        limits=limits,
                        headerless=last.header is None,
                    )
                layout = last
                lines.extend([line.strip()] for line in text.splitlines() if line.strip())
        if lines:
            yield from table_chunks(
                [_TEXT_COLUMN],
                lines,
                source=str(path),
                name=_TEXT_TABLE,
                kind=self.kind,
                limits=limits,
            )


@dataclass(frozen=True)
class _Layout:
    """A table's columns and horizontal extent, to spot its continuation on the next page."""

    columns: list[str]
    header: list[str | None] | None
    x0: float
    x1: float

    def continued_by(self, bbox: _BBox, rows: list[list[str | None]], page_height: float) -> bool:
        """Say whether a page's first table carries on this one from the page before.

        Long tables run over pages without repeating their header; read alone,
        each page's first data row would be taken for a header and never scanned.
        A table that starts at the top of the page with the same edges and the
        same number of columns is taken to be the same table.
        """
        return (
            max(len(row) for row in rows) == len(self.columns)
            and abs(bbox[0] - self.x0) <= _EDGE_SLACK
            and abs(bbox[2] - self.x1) <= _EDGE_SLACK
            and bbox[1] <= page_height * _TOP_OF_PAGE
        )


def _open(path: Path, pages: list[int]) -> PDF:
    """Open the PDF, telling a locked document from a broken one."""
    try:
        return pdfplumber.open(path, pages=pages)
    except PdfminerException as exc:
        cause = exc.args[0] if exc.args else exc
        if isinstance(cause, PDFEncryptionError):
            raise EncryptedFile(f"{path.name}: password-protected PDF") from exc
        raise CorruptFile(f"{path.name}: PDF is damaged or not a PDF ({_reason(cause)})") from exc
    except _BROKEN as exc:
        raise CorruptFile(f"{path.name}: PDF is damaged or not a PDF ({_reason(exc)})") from exc


def _reason(exc: BaseException) -> str:
    """Name what pdfminer tripped over, without its message: that quotes the file's tokens."""
    cause = exc.args[0] if isinstance(exc, PdfminerException) and exc.args else exc
    return type(cause).__name__


class _Closer:
    """Close a PDF even when its page tree is broken.

    ``PDF.close`` walks the page tree again, and so raises again the error that
    made us stop reading; the file handle is closed whatever happens.
    """

    def __init__(self, pdf: PDF) -> None:
        self.pdf = pdf

    def close(self) -> None:
        with contextlib.suppress(*_BROKEN):
            self.pdf.close()
        self.pdf.stream.close()


def _page_content(page: Page) -> tuple[list[tuple[_BBox, list[list[str | None]]]], str]:
    """Return a page's non-empty tables (bbox, text cells), and the page text outside them.

    Text inside a table is left out of the page text so that a value is not
    reported twice, once in its column and once in the prose.
    """
    found = page.find_tables()
    tables = []
    for table in found:
        rows = [[_cell(cell) for cell in row] for row in table.extract()]
        rows = [row for row in rows if any(row)]
        if rows:
            tables.append((table.bbox, rows))
    outside = page
    for table in found:
        outside = outside.outside_bbox(table.bbox, strict=False)
    return tables, outside.extract_text() or ""


def _cell(value: str | None) -> str | None:
    """Return a table cell as one line: PDF cells wrap text at arbitrary places."""
    return cell_text(" ".join(value.split())) if value else None
