"""Cut a stream of rows into ``Table`` chunks, so no reader holds a whole table at once."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from monitor.errors import FileTooLarge
from monitor.models import Table
from monitor.readers.tabular import rows_to_frame

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from monitor.models import ReadLimits

__all__ = ["table_chunks"]


def table_chunks(
    columns: Sequence[str],
    rows: Iterable[Sequence[str | None]],
    *,
    source: str,
    name: str | None,
    kind: str,
    limits: ReadLimits,
    headerless: bool = False,
) -> Iterator[Table]:
    """Yield rows as chunks of at most ``limits.chunk_rows`` rows.

    At least one chunk is yielded, empty if there are no rows, so a header-only
    table still shows its columns to schema tracking.

    Raises:
        FileTooLarge: once the table passes ``limits.max_rows``; the rows within
            the limit are yielded first, so they are still scanned.
    """
    if len(columns) > limits.max_columns:
        raise FileTooLarge(
            f"{Path(source).name}: table {name!r} has {len(columns)} columns, "
            f"over the limit of {limits.max_columns}"
        )

    def chunk(batch: list[Sequence[str | None]], offset: int) -> Table:
        return Table(
            source=source,
            name=name,
            frame=rows_to_frame(columns, batch),
            row_offset=offset,
            headerless=headerless,
            kind=kind,
        )

    offset = 0
    batch: list[Sequence[str | None]] = []
    for row in rows:
        if offset + len(batch) >= limits.max_rows:
            if batch:
                yield chunk(batch, offset)
            raise FileTooLarge(
                f"{Path(source).name}: table {name!r} has more than {limits.max_rows} rows"
            )
        batch.append(row)
        if len(batch) >= limits.chunk_rows:
            yield chunk(batch, offset)
            offset += len(batch)
            batch = []
    if batch or offset == 0:
        yield chunk(batch, offset)
