"""One long-lived scan worker process: many files, one after another, under the same limits.

The worker sets its ``RLIMIT_AS`` once, builds the detector on its first file (after
the fork, so polars' thread pool starts in the worker, never in a forked copy of a
process that already ran it) and then scans the files it is sent until it is told to
stop. The parent bounds each file by the wall-clock limit and kills the worker when a
file runs over; a worker that hit a limit is never given another file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import signal
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from monitor.logs import configure_worker_logging

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.context import ForkServerContext
    from pathlib import Path

    from monitor.config import ScanConfig
    from monitor.models import FileReport

__all__ = ["Reply", "ScanWorker", "exit_reason"]

logger = logging.getLogger(__name__)

#: How long a worker told to stop may take to exit before it is killed.
_STOP_GRACE_S = 1.0


@dataclass(frozen=True)
class Reply:
    """What became of one file sent to a worker.

    Attributes:
        report: the worker's report; None when the worker hit a limit or died.
        error: why there is no report (worded for ``FileReport.error``).
        rss: the worker's resident memory after the file, in bytes (0: unknown).
        address_space: the worker's address space after the file, in bytes (0: unknown);
            what ``RLIMIT_AS`` counts.
        cpu: CPU seconds the worker used for this file (its first file: with its start-up).
    """

    report: FileReport | None
    error: str | None = None
    rss: int = 0
    address_space: int = 0
    cpu: float = 0.0


class ScanWorker:
    """The parent's handle on one worker process, used by one scan thread at a time."""

    def __init__(self, ctx: ForkServerContext, config: ScanConfig, generation: int) -> None:
        self.config = config
        #: The scanner's configuration generation this worker was started with.
        self.generation = generation
        self.files = 0
        self.rss = 0
        self.address_space = 0
        self._cpu = 0.0  # the worker's CPU time at its last report
        #: When the worker last went idle (``time.monotonic()``), for the idle stop.
        self.idle_since = 0.0
        self._conn, child = ctx.Pipe(duplex=True)
        self._proc = ctx.Process(
            target=_serve, args=(child, config), daemon=True, name="leakmon-scan-worker"
        )
        self._proc.start()
        child.close()
        self._failed = False
        # The scan thread and the scanner's close() may both end the process: one at a time
        # (the forkserver's exit-code pipe must be read once).
        self._proc_lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        """Return the worker's process id."""
        return self._proc.pid

    @property
    def usable(self) -> bool:
        """Say whether the worker may take another file (alive and never hit a limit)."""
        if self._failed:
            return False
        with self._proc_lock:
            return self._proc.is_alive()

    def scan(self, path: Path, source: str, media_type: str | None) -> Reply:
        """Send one file and wait for its report, at most ``worker_timeout_s``."""
        timeout = self.config.limits.worker_timeout_s
        try:
            self._conn.send((path, source, media_type))
            if not self._conn.poll(timeout):
                self._failed = True
                self.kill()
                return Reply(
                    None, f"scan worker exceeded the time limit of {timeout:g} s (worker_timeout_s)"
                )
            report, rss, address_space, cpu = self._conn.recv()
        except (EOFError, OSError):
            # The worker is gone (a kill by the kernel, a Rust abort, a stop): wait for
            # its exit code, which says how it ended.
            self._failed = True
            self._join()
            return Reply(None, self._died())
        if report is None:
            self._failed = True
            return Reply(
                None,
                f"scan worker ran out of memory (limit "
                f"{self.config.limits.worker_memory_mb} MiB, worker_memory_mb)",
            )
        self.files += 1
        self.rss, self.address_space = rss, address_space
        used, self._cpu = cpu - self._cpu, cpu
        return Reply(report, rss=rss, address_space=address_space, cpu=used)

    def _died(self) -> str:
        error = "scan worker died before reporting (killed by a memory or system limit)"
        code = self._proc.exitcode
        return f"{error}; {exit_reason(code)}" if code else error

    def stop(self) -> None:
        """Ask the worker to exit; kill it when it does not within a second."""
        with contextlib.suppress(OSError):  # already gone
            self._conn.send(None)
        self._conn.close()
        self._join()
        self.kill()

    def kill(self) -> None:
        """End the worker at once (a file over its time limit, or the scanner closing).

        Safe from another thread while a scan waits on the worker: only the process is
        touched, and the waiting scan sees the pipe close.
        """
        self._failed = True
        with self._proc_lock:
            if self._proc.is_alive():
                self._proc.kill()
            self._proc.join(_STOP_GRACE_S)

    def _join(self) -> None:
        with self._proc_lock:
            self._proc.join(_STOP_GRACE_S)


def _serve(conn: Connection, config: ScanConfig) -> None:
    """Scan the files the parent sends until it sends None or goes away (the worker's main)."""
    from monitor.scan import scan_file  # lazy import: preloaded by the forkserver, not the CLI

    configure_worker_logging()
    # Ctrl-C in a terminal reaches the whole process group: the parent decides when
    # workers stop, a worker does not print a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    source = "(no file yet)"
    limited = False
    try:
        while True:
            try:
                job = conn.recv()
            except EOFError:
                return  # the parent went away
            if job is None:
                return
            path, source, media_type = job
            if not limited:  # before the first file is read, and for the worker's life
                limit = config.limits.worker_memory_mb * 1024**2
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
                limited = True
            report = scan_file(path, config, source=source, media_type=media_type)
            # scan_file turns a MemoryError into an error report like any other; here it
            # means the limit was hit, which the parent words the same way as a kill.
            if report.error and report.error.startswith("MemoryError"):
                conn.send((None, 0, 0, 0.0))
                return
            conn.send((report, *_memory(), time.process_time()))
    except MemoryError:
        conn.send((None, 0, 0, 0.0))
    except Exception:
        # The worker's boundary: multiprocessing would print this traceback as plain text
        # lines; logged here it is one JSON line. The parent, with no report, says the
        # worker died before reporting.
        logger.exception("scan worker failed on %s", source)
        raise SystemExit(1) from None
    finally:
        conn.close()


def _memory() -> tuple[int, int]:
    """Return this process's resident memory and address space now, in bytes (0, 0: unknown)."""
    try:
        with open("/proc/self/statm", "rb") as statm:  # Linux; elsewhere nothing is recycled
            size, resident = (int(n) for n in statm.read().split()[:2])
    except (OSError, ValueError):
        return 0, 0
    page = os.sysconf("SC_PAGE_SIZE")
    return resident * page, size * page


def exit_reason(code: int) -> str:
    """Say how a worker ended: ``signal SIGABRT`` (a Rust allocation failure), ``exit code 1``."""
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"
