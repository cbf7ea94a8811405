"""Reader for spooled Tableau VizQL data answers (full data and summary data of a view)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, ClassVar

import polars as pl

from monitor.errors import CorruptFile, FileTooLarge, IncompleteData, TableauProtocolError
from monitor.models import Table
from monitor.readers.registry import register
from monitor.vizql.envelope import read_envelope

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from monitor.models import ReadLimits

__all__ = ["VizqlReader"]

logger = logging.getLogger(__name__)

_MECHANISM_NAMES = {"full_data": "full data", "summary_data": "summary data"}


@register
class VizqlReader:
    """Tableau view data fetched through a viz session: full (underlying) or summary data.

    The Tableau crawl client spools each ``get-underlying-data`` or
    ``get-summary-data`` answer with the session's data-dictionary segments in a
    small JSON envelope (``{"leakmon_vizql": 1, ...}``), recognised by that first
    key. The answer is decoded column by column (per-type value lists across
    segments, negative indices into the string list, aliases, nulls) into one
    table named after the view, with the columns' captions as headers. Bounded by
    ``max_json_bytes``, ``max_columns`` and ``max_rows``. When the answer says the
    view holds more rows than it carries (the server capped them), the rows present
    are scanned and the file is reported as not completely checked.
    """

    kind: ClassVar[str] = "tableau-data"
    extensions: ClassVar[tuple[str, ...]] = (".vizql",)
    media_types: ClassVar[tuple[str, ...]] = ("application/vnd.leakmon.vizql+json",)

    def read(self, path: Path, limits: ReadLimits) -> Iterator[Table]:
        """Yield the view's table in chunks of ``chunk_rows`` rows.

        Raises:
            FileTooLarge: the file is over ``max_json_bytes``, or the table over
                ``max_columns`` or ``max_rows`` (after yielding the rows within it).
            CorruptFile: not an envelope, or an answer in an unknown shape.
            IncompleteData: the server returned fewer rows than the view holds.
        """
        size = path.stat().st_size
        if size > limits.max_json_bytes:
            raise FileTooLarge(
                f"{path.name}: {size} bytes of VizQL data is over the limit of "
                f"{limits.max_json_bytes} bytes"
            )
        try:
            envelope = read_envelope(path.read_bytes())
            decoded = envelope.decode(max_columns=limits.max_columns)
        except TableauProtocolError as exc:
            raise CorruptFile(f"{path.name}: {exc}") from None
        frame = decoded.frame.with_columns(pl.all().replace("", None))
        over_limit = frame.height > limits.max_rows
        if over_limit:
            frame = frame.head(limits.max_rows)
        offset = 0
        while True:
            chunk = frame.slice(offset, limits.chunk_rows)
            yield Table(
                source=str(path),
                name=envelope.view,
                frame=chunk,
                row_offset=offset,
                kind=self.kind,
            )
            offset += chunk.height
            if offset >= frame.height:
                break
        what = _MECHANISM_NAMES[envelope.mechanism]
        if over_limit:
            raise FileTooLarge(
                f"{path.name}: Tableau {what} has {decoded.frame.height} rows, "
                f"over the limit of {limits.max_rows}"
            )
        if decoded.capped:
            # Numbers then words read like a street address to the error guard: keep
            # the counts at the end of a clause.
            raise IncompleteData(
                f"{path.name}: {what} capped: server returned {decoded.frame.height} of "
                f"{decoded.declared_rows} rows; the rest was not checked"
            )
