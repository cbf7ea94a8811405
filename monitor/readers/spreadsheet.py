"""Reader for Excel and OpenDocument workbooks, through calamine (Rust, no XML entity expansion)."""

from __future__ import annotations

import logging
from itertools import chain, islice
from typing import TYPE_CHECKING, ClassVar

import python_calamine as calamine

from monitor.errors import CorruptFile, EncryptedFile, FileTooLarge
from monitor.readers.chunks import table_chunks
from monitor.readers.registry import register
from monitor.readers.tabular import cell_text, column_names, find_header
from monitor.readers.workbook_guard import check_workbook_package

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence
    from pathlib import Path

    from monitor.models import ReadLimits, Table

__all__ = ["SpreadsheetReader"]

logger = logging.getLogger(__name__)

_HEADER_ROWS = 30


@register
class SpreadsheetReader:
    """Excel and OpenDocument workbooks (XLSX, XLSM, XLSB, XLS, ODS), hidden sheets included.

    Every worksheet becomes one table named after the sheet, whether it is
    visible, hidden or very hidden: publishers often hide a sheet of raw data
    instead of deleting it. Title rows above the header are skipped, a sheet
    without a header gets columns ``c1..cN``, and blank rows are dropped. Chart
    sheets and empty sheets yield nothing. Limits: ``max_sheets``,
    ``max_columns`` and ``max_rows`` per sheet; calamine holds one sheet's cells
    at a time and frames are built ``chunk_rows`` at a time. XLSX and ODS packages
    are checked before they are opened: parts within the archive size and ratio
    limits, no XML DOCTYPE or entities, no sparse sheet whose cell rectangle would
    exhaust memory.
    """

    kind: ClassVar[str] = "spreadsheet"
    extensions: ClassVar[tuple[str, ...]] = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
    media_types: ClassVar[tuple[str, ...]] = (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.ms-excel.sheet.macroenabled.12",
        "application/vnd.ms-excel.sheet.binary.macroenabled.12",
        "application/vnd.ms-excel",
        "application/vnd.oasis.opendocument.spreadsheet",
    )

    def read(self, path: Path, limits: ReadLimits) -> Iterator[Table]:
        """Yield each non-empty sheet in chunks, in workbook order.

        Raises:
            EncryptedFile: the workbook is password-protected.
            CorruptFile: the workbook or one of its sheets cannot be parsed.
            FileTooLarge: more than ``max_sheets`` sheets, after the first ones are yielded;
                or the package is a bomb (see ``workbook_guard``).
        """
        check_workbook_package(path, limits)
        try:
            workbook = calamine.CalamineWorkbook.from_path(path)
        except calamine.PasswordError as exc:
            # calamine itself spots an encrypted OOXML package: an OLE container
            # holding an ``EncryptedPackage`` stream instead of the workbook's parts.
            raise EncryptedFile(f"{path.name}: password-protected workbook") from exc
        except calamine.CalamineError as exc:
            raise _calamine_error(path, "workbook is damaged or truncated", exc) from exc
        except OSError as exc:  # calamine's own I/O errors on a cut or lying container
            raise CorruptFile(f"{path.name}: workbook is damaged or truncated ({exc})") from exc
        with workbook:
            for index, meta in enumerate(workbook.sheets_metadata):
                if index >= limits.max_sheets:
                    raise FileTooLarge(
                        f"{path.name}: workbook has {len(workbook.sheets_metadata)} sheets, "
                        f"over the limit of {limits.max_sheets}"
                    )
                if meta.typ == calamine.SheetTypeEnum.ChartSheet:
                    continue
                if meta.visible != calamine.SheetVisibleEnum.Visible:
                    # str() because calamine's enum is a Rust one, without ``.name``.
                    logger.info("%s: reading %s sheet %r", path.name, meta.visible, meta.name)
                yield from self._read_sheet(path, workbook, meta.name, limits)

    def _read_sheet(
        self, path: Path, workbook: calamine.CalamineWorkbook, name: str, limits: ReadLimits
    ) -> Iterator[Table]:
        try:
            sheet = workbook.get_sheet_by_name(name)
        except calamine.CalamineError as exc:
            raise _calamine_error(path, f"sheet {name!r} cannot be parsed", exc) from exc
        rows = _filled_rows(sheet.iter_rows())
        head = list(islice(rows, _HEADER_ROWS))
        if not head:
            logger.debug("%s: sheet %r is empty, skipped", path.name, name)
            return
        guess = find_header(head)
        header = head[guess.header_row] if guess.header_row is not None else None
        yield from table_chunks(
            column_names(header, sheet.width),
            chain(head[guess.data_start :], rows),
            source=str(path),
            name=name,
            kind=self.kind,
            limits=limits,
            headerless=header is None,
        )


def _calamine_error(path: Path, what: str, exc: Exception) -> CorruptFile | FileTooLarge:
    """Tell calamine's own cell ceiling (a limit: the file is not checked) from damage."""
    if "cell limit exceeded" in str(exc).lower():
        return FileTooLarge(f"{path.name}: workbook is over calamine's cell limit ({exc})")
    return CorruptFile(f"{path.name}: {what} ({exc})")


def _filled_rows(raw_rows: Iterable[Sequence[object]]) -> Iterator[list[str | None]]:
    """Yield rows as text cells, leaving out rows with no filled cell."""
    for raw in raw_rows:
        cells = [cell_text(value) for value in raw]
        if any(cells):
            yield cells
