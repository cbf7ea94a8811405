"""Scan one file: read its tables, detect personal data, report masked findings.

``scan_file`` is one of the two places in leakmon allowed to catch broadly:
whatever one hostile or broken file does, the caller gets a ``FileReport``
with an error message and goes on to the next file.
"""

from __future__ import annotations

import contextlib
import logging
import time
import traceback
from functools import lru_cache
from typing import TYPE_CHECKING

from monitor.config import ScanConfig
from monitor.detect import build_detector
from monitor.detect.names import NameLists
from monitor.errors import ReaderError
from monitor.identifiers import IdentifierGuard, ReaderLogScrubber
from monitor.models import FileReport
from monitor.readers import detect_kind, read_tables

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from monitor.detect.engine import Detector, TableScan

__all__ = ["detector_for", "scan_file", "scan_path"]

logger = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def detector_for(config: ScanConfig) -> Detector:
    """Return the process-wide detector for a configuration (built once: name lists, Presidio)."""
    key = config.hash_key.get_secret_value().encode() if config.hash_key else None
    return build_detector(
        hash_key=key,
        free_text=config.free_text_analysis,
        recognizers_file=config.recognizers_file,
    )


def scan_path(
    path: Path,
    config: ScanConfig | None = None,
    *,
    source: str | None = None,
    media_type: str | None = None,
) -> FileReport:
    """Scan one local file; reader errors become the report's ``error``, findings so far are kept.

    Raises:
        OSError: when the file cannot be opened at all.
    """
    config = config or ScanConfig()
    label = source or str(path)
    started = time.monotonic()
    detector = detector_for(config)
    scans: dict[str | None, TableScan] = {}
    rows = 0
    error: str | None = None
    kind = "unknown"
    # Names from the file (columns, tables, members, keys), and the reader errors and
    # log lines that quote them, are checked for personal data before anything keeps them.
    guard = IdentifierGuard(detector.names)
    with _scrubbed_reader_logs(ReaderLogScrubber(guard)):
        try:
            kind = detect_kind(path, media_type)
            for chunk in read_tables(
                path, config.limits.read_limits(), source=label, media_type=media_type, kind=kind
            ):
                table = guard.table(chunk)
                scan = scans.get(table.name)
                if scan is None:
                    scan = scans[table.name] = detector.table_scan(table)
                scan.feed(table)
                rows += table.frame.height
        except ReaderError as exc:
            error = guard.text(f"{type(exc).__name__}: {exc}")
            logger.warning("cannot read %s: %s", label, error)
    findings = tuple(f for scan in scans.values() for f in scan.finish())
    findings += tuple(guard.findings(label, detector.hasher))
    schemas = tuple(scan.schema for scan in scans.values() if scan.schema is not None)
    return FileReport(
        file=label,
        kind=kind,
        size=path.stat().st_size,
        tables=len(scans),
        rows=rows,
        findings=findings,
        error=error,
        seconds=time.monotonic() - started,
        table_names=tuple(n for n in scans if n),
        schemas=schemas,
    )


def scan_file(
    path: Path,
    config: ScanConfig | None = None,
    *,
    source: str | None = None,
    media_type: str | None = None,
) -> FileReport:
    """Scan one file and never raise: any failure becomes the report's ``error``."""
    label = source or str(path)
    started = time.monotonic()
    try:
        return scan_path(path, config, source=label, media_type=media_type)
    except Exception as exc:
        error = _safe_error(f"{type(exc).__name__}: {exc}")
        # The frames, not the message: a third-party message may quote the file.
        frames = "".join(traceback.format_tb(exc.__traceback__))
        logger.error("scan failed for %s: %s\n%s", label, error, frames)
        size = path.stat().st_size if path.exists() else 0
        return FileReport(
            label,
            "unknown",
            size,
            0,
            0,
            (),
            error,
            time.monotonic() - started,
        )


def _safe_error(text: str) -> str:
    """Mask what looks personal in an unexpected error's text (it may quote the file)."""
    try:
        names = NameLists.default()
    except OSError:  # the packaged name lists cannot be read: keep the error's type only
        return text.split(":", 1)[0]
    return IdentifierGuard(names).text(text)


@contextlib.contextmanager
def _scrubbed_reader_logs(scrubber: ReaderLogScrubber) -> Iterator[None]:
    """Pass every reader's log lines through ``scrubber`` while one file is read."""
    loggers = [
        logging.getLogger(name)
        for name in list(logging.Logger.manager.loggerDict)
        if name == "monitor.readers" or name.startswith("monitor.readers.")
    ]
    for each in loggers:
        each.addFilter(scrubber)
    try:
        yield
    finally:
        for each in loggers:
            each.removeFilter(scrubber)
