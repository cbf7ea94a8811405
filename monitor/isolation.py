"""Scan files in a child process with memory and time limits.

A hostile file (a decompression bomb, a parser bug) may exhaust memory or hang
a parser. Run in a forked worker with ``RLIMIT_AS`` and a wall-clock limit, it
kills only that worker; the caller gets a ``FileReport`` saying what happened.
Workers fork from a forkserver that has already imported the scanner, so a new
worker costs milliseconds, not a Python start-up.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import resource
import signal
import time
from typing import TYPE_CHECKING

from monitor.models import FileReport

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from pathlib import Path

    from monitor.config import ScanConfig

__all__ = ["WORKER_KILLED", "IsolatedScanner"]

logger = logging.getLogger(__name__)

#: How a ``FileReport.error`` starts when the worker was killed by a limit: the
#: file could not be checked, which the daemon reports as a FILE_LIMIT finding.
WORKER_KILLED = "ScanWorkerKilled"


def _child(
    conn: Connection, path: Path, config: ScanConfig, source: str, media_type: str | None
) -> None:
    from monitor.scan import scan_file  # lazy import: preloaded by the forkserver, not the CLI

    limit = config.limits.worker_memory_mb * 1024**2
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        report = scan_file(path, config, source=source, media_type=media_type)
        # scan_file turns a MemoryError into an error report like any other; here it
        # means the limit was hit, which the parent words the same way as a kill.
        conn.send(None if report.error and report.error.startswith("MemoryError") else report)
    except MemoryError:
        conn.send(None)
    finally:
        conn.close()


class IsolatedScanner:
    """Runs ``scan_file`` in a fresh worker per file, bounded in memory and time."""

    def __init__(self, config: ScanConfig) -> None:
        self.config = config
        self._ctx = mp.get_context("forkserver")
        # Presidio (and its 1 s spaCy import) loads in a worker only when a file needs it.
        self._ctx.set_forkserver_preload(["monitor.scan"])

    def scan(
        self, path: Path, *, source: str | None = None, media_type: str | None = None
    ) -> FileReport:
        """Scan one file in a worker; a worker killed by a limit yields an error report."""
        label = source or str(path)
        started = time.monotonic()
        parent, child = self._ctx.Pipe(duplex=False)
        proc = self._ctx.Process(
            target=_child, args=(child, path, self.config, label, media_type), daemon=True
        )
        proc.start()
        child.close()
        timeout = self.config.limits.worker_timeout_s
        report: FileReport | None = None
        error: str | None = None
        try:
            if parent.poll(timeout):
                report = parent.recv()
                if report is None:
                    error = (
                        f"scan worker ran out of memory (limit "
                        f"{self.config.limits.worker_memory_mb} MiB, worker_memory_mb)"
                    )
            else:
                error = f"scan worker exceeded the time limit of {timeout:g} s (worker_timeout_s)"
        except EOFError:
            error = "scan worker died before reporting (killed by a memory or system limit)"
        finally:
            if proc.is_alive():
                proc.kill()
            proc.join(5)
            parent.close()
        if report is not None:
            return report
        if error and error.startswith("scan worker died") and proc.exitcode:
            error += f"; {_exit_reason(proc.exitcode)}"
        error = f"{WORKER_KILLED}: {error}"
        logger.error("scan of %s failed: %s", label, error)
        size = path.stat().st_size if path.exists() else 0
        return FileReport(label, "unknown", size, 0, 0, (), error, time.monotonic() - started)


def _exit_reason(code: int) -> str:
    """Say how a worker ended: ``signal SIGABRT`` (a Rust allocation failure), ``exit code 1``."""
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"
