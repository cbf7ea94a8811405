"""Reader for Tableau Hyper extracts (.hyper), through the optional ``tableauhyperapi``."""

from __future__ import annotations

import logging
import resource
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import polars as pl

from monitor.errors import CorruptFile, FileTooLarge, ReaderUnavailable
from monitor.models import Table
from monitor.readers.registry import register
from monitor.readers.tabular import column_names

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from monitor.models import ReadLimits

__all__ = ["HYPER_SIGNATURE", "HyperReader", "read_extract"]

logger = logging.getLogger(__name__)

#: How every Hyper database file starts (checked with a NUL in the bytes after it).
HYPER_SIGNATURE = b"Hyper"
_INSTALL = "pip install 'leakmon[tableau]'"
# hyperd's share of the scan worker's address-space limit, which it inherits: its
# query memory is capped with Hyper's own ``memory_limit`` so both fit in the worker's.
_HYPERD_SHARE = 3
_HYPERD_DEFAULT_LIMIT = 1024**3
_MAX_MESSAGE = 300
# Rows taken from the export at once: 200,000 (the default chunk_rows) took the worker's
# peak RSS 70 MB above the CSV reader's on the same rows; 50,000 kept it below (measured).
_SLICE_ROWS = 50_000


@register
class HyperReader:
    """Tableau Hyper extracts (.hyper): every table of every schema, all rows (needs the extra).

    Read with Tableau's ``tableauhyperapi`` (``pip install 'leakmon[tableau]'``),
    which runs its own ``hyperd`` database process: started inside the scan
    worker (so it is killed with it), with usage data to Tableau switched off,
    its logs off, its query memory capped at a third of the worker's memory
    limit. Each table is exported by hyperd to a temporary Arrow file (every
    value cast to text by Hyper) and read back in slices once hyperd has exited.
    Without the extra the extract is reported as "could not be checked", never
    as clean. Inside a ``.twbx``, columns take the captions the workbook gives.
    """

    kind: ClassVar[str] = "hyper"
    extensions: ClassVar[tuple[str, ...]] = (".hyper",)
    media_types: ClassVar[tuple[str, ...]] = ("application/x-hyper",)

    def read(self, path: Path, limits: ReadLimits) -> Iterator[Table]:
        """Yield every table of the extract in chunks.

        Raises:
            ReaderUnavailable: ``tableauhyperapi`` is not installed.
            CorruptFile: Hyper cannot open or read the file.
            FileTooLarge: more than ``max_sheets`` tables, or a table over a limit.
        """
        yield from read_extract(path, limits, kind=self.kind)


def read_extract(
    path: Path,
    limits: ReadLimits,
    *,
    captions: Mapping[str, str] | None = None,
    kind: str = "hyper",
) -> Iterator[Table]:
    """Yield every table of a Hyper extract, columns renamed by ``captions`` where given.

    Raises:
        ReaderUnavailable: ``tableauhyperapi`` is not installed.
        CorruptFile: Hyper cannot open or read the file.
        FileTooLarge: more than ``max_sheets`` tables, or a table over a limit.
    """
    try:
        import tableauhyperapi as hapi  # optional extra: imported only when an extract is read
    except ImportError as exc:
        raise ReaderUnavailable(
            f"{path.name}: Hyper extract not checked: the tableau extra is not installed "
            f"({_INSTALL})"
        ) from exc
    with tempfile.TemporaryDirectory(prefix="leakmon-hyperd-") as work:
        parameters = {
            "log_config": "",  # no log files at all; and if Hyper writes one, not in the cwd
            "log_dir": work,
            "memory_limit": str(_hyperd_memory_limit()),
        }
        try:
            hyper = hapi.HyperProcess(
                telemetry=hapi.Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU,
                parameters=parameters,
            )
        except hapi.HyperException as exc:
            # Not the file's fault: hyperd needs room in the worker's address space.
            raise ReaderUnavailable(
                f"{path.name}: Hyper extract not checked: hyperd did not start ({_message(exc)}; "
                "it runs inside the scan worker's worker_memory_mb)"
            ) from exc
        try:
            with hyper, hapi.Connection(hyper.endpoint, str(path)) as conn:
                exports = _export_tables(hapi, conn, path, Path(work), limits, captions or {})
        except hapi.HyperException as exc:
            raise CorruptFile(
                f"{path.name}: Hyper cannot read the extract ({_message(exc)})"
            ) from exc
        # hyperd has exited: its memory and the worker's reading do not add up.
        for export, label, columns in exports:
            try:
                yield from _arrow_chunks(export, columns, path, label, kind, limits)
            finally:
                export.unlink(missing_ok=True)


def _export_tables(
    hapi: Any,  # the tableauhyperapi module: optional, so not typed here
    conn: Any,  # tableauhyperapi.Connection, likewise
    path: Path,
    work: Path,
    limits: ReadLimits,
    captions: Mapping[str, str],
) -> list[tuple[Path, str, list[str]]]:
    """Export every table to an Arrow file in ``work``; return (file, label, column names).

    hyperd writes each table with every value cast to text by Hyper itself; it is then
    read back in slices. A Python cursor over Hyper's result moved about 30,000 rows a
    second, the export about 400,000 (measured on 480,000 rows of 11 text columns).
    Arrow rather than Parquet: uncompressed, so about four times the extract on disk,
    but hyperd's peak RSS during the export of 1,120,000 rows was 195 MB instead of 330.
    """
    tables = [
        name
        for schema in conn.catalog.get_schema_names()
        for name in conn.catalog.get_table_names(schema)
    ]
    if len(tables) > limits.max_sheets:
        raise FileTooLarge(
            f"{path.name}: extract has {len(tables)} tables, over the limit of {limits.max_sheets}"
        )
    exports = []
    for index, table in enumerate(tables):
        definition = conn.catalog.get_table_definition(table)
        names = [column.name.unescaped for column in definition.columns]
        label = f"{table.schema_name.name.unescaped}.{table.name.unescaped}"
        if not names:
            continue
        if len(names) > limits.max_columns:
            raise FileTooLarge(
                f"{path.name}: table {label!r} has {len(names)} columns, "
                f"over the limit of {limits.max_columns}"
            )
        export = work / f"table-{index}.arrow"
        select = ", ".join(
            f"CAST({hapi.escape_name(name)} AS TEXT) AS {hapi.escape_name(f'c{i}')}"
            for i, name in enumerate(names)
        )
        target = hapi.escape_string_literal(str(export))
        # One row past max_rows is enough to say the table is over it: no more is written.
        query = f"SELECT {select} FROM {table} LIMIT {limits.max_rows + 1}"  # noqa: S608  # names escaped by Hyper
        conn.execute_command(f"COPY ({query}) TO {target} WITH (FORMAT => 'arrowfile')")
        columns = column_names([captions.get(name) or name for name in names], len(names))
        exports.append((export, label, columns))
    return exports


def _arrow_chunks(
    export: Path, columns: list[str], path: Path, label: str, kind: str, limits: ReadLimits
) -> Iterator[Table]:
    """Yield an exported table in slices of at most ``chunk_rows`` (and ``_SLICE_ROWS``) rows."""
    frames = pl.scan_ipc(export)
    total = frames.select(pl.len()).collect().item()
    logger.debug("%s: table %r holds %d rows", path.name, label, total)
    offset = 0
    while True:
        size = min(limits.chunk_rows, _SLICE_ROWS, limits.max_rows - offset)
        frame = frames.slice(offset, size).collect() if size > 0 else frames.clear().collect()
        frame.columns = columns
        if frame.height or offset == 0:
            yield Table(source=str(path), name=label, frame=frame, row_offset=offset, kind=kind)
        offset += frame.height
        if offset >= total:
            return
        if offset >= limits.max_rows:
            raise FileTooLarge(f"{path.name}: table {label!r} has more than {limits.max_rows} rows")


def _hyperd_memory_limit() -> int:
    """Return the bytes of query memory hyperd may use: a share of the worker's own limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return _HYPERD_DEFAULT_LIMIT
    return max(soft // _HYPERD_SHARE, 64 * 1024**2)


def _message(exc: Exception) -> str:
    """Return the first line of Hyper's message: it names the problem, not the data."""
    main = getattr(exc, "main_message", None) or str(exc)
    return str(main).strip().splitlines()[0][:_MAX_MESSAGE] if str(main).strip() else "no message"
