"""Scan files in worker processes with memory and time limits.

A hostile file (a decompression bomb, a parser bug) may exhaust memory or hang
a parser. Scanned in a worker with ``RLIMIT_AS`` and a wall-clock limit, it
kills only that worker; the caller gets a ``FileReport`` saying what happened.

Workers are long-lived: each builds the detector once (with the first file's
imports, most of a second of CPU here) and then scans file after file (a 3 KB
CSV in about 13 ms of CPU), instead of one process per file. A worker that
hits a limit is discarded and the next file gets a fresh one; a worker is also
replaced after ``worker_max_files`` files, when its resident memory passes
``worker_recycle_mb`` (a parser that leaks cannot grow without bound) or its
address space passes three quarters of ``worker_memory_mb`` (so a used worker
does not fail a file a fresh one would read), and when the scan configuration
changes. A worker that waits a minute for a file is stopped, so a daemon
between polls does not hold their memory. Workers fork from a forkserver that
has already imported the scanner, never from the daemon (whose threads,
polars' among them, would not survive a fork).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import threading
import time
from typing import TYPE_CHECKING

from monitor.isolation.worker import Reply, ScanWorker
from monitor.models import FileReport

if TYPE_CHECKING:
    from pathlib import Path

    from monitor.config import ScanConfig

__all__ = ["PRELOAD", "WORKER_KILLED", "IsolatedScanner"]

logger = logging.getLogger(__name__)

#: How a ``FileReport.error`` starts when the worker was killed by a limit: the
#: file could not be checked, which the daemon reports as a FILE_LIMIT finding.
WORKER_KILLED = "ScanWorkerKilled"

#: The share of ``worker_memory_mb`` a worker may map after a file and still take the next.
_ADDRESS_SPACE_KEPT = 0.75
#: Seconds a worker may wait for a file before it is stopped: a daemon between polls does
#: not hold the workers' memory (100-250 MB each), and a busy one keeps them warm.
IDLE_STOP_S = 60.0
#: Imported by the forkserver, so every worker has them before it caps its address
#: space (``RLIMIT_AS``): numpy sets up OpenBLAS on import, and under the cap that can
#: hang or fail. A reader that imports numpy lazily then finds it loaded.
PRELOAD = ("monitor.scan", "numpy", "monitor.vizql.dictionary")


class IsolatedScanner:
    """Runs ``scan_file`` in long-lived workers, each file bounded in memory and time.

    ``scan`` may be called from several threads: each call takes an idle worker (the
    one used last, so one thread keeps one warm worker) or starts one, so there are
    never more workers than concurrent calls. A worker idle for ``idle_stop_s`` is
    stopped; ``close`` stops them all.
    """

    def __init__(self, config: ScanConfig, *, idle_stop_s: float = IDLE_STOP_S) -> None:
        self._config = config
        self._idle_stop_s = idle_stop_s
        self._generation = 0
        self._ctx = mp.get_context("forkserver")
        # Presidio (and its 1 s spaCy import) loads in a worker only when a file needs it.
        self._ctx.set_forkserver_preload(list(PRELOAD))
        self._lock = threading.Lock()
        self._idle: list[ScanWorker] = []
        self._busy: set[ScanWorker] = set()
        self._closed = False
        self._closing = threading.Event()
        self._reaper: threading.Thread | None = None
        #: Workers started so far (a benchmark or a test counts them).
        self.workers_started = 0
        #: CPU seconds the workers reported for the files they finished (all their threads;
        #: a worker's start-up is counted with its first file).
        self.worker_cpu_s = 0.0

    @property
    def config(self) -> ScanConfig:
        """Return the scan configuration new files are scanned with."""
        return self._config

    def reconfigure(self, config: ScanConfig) -> None:
        """Scan the next files with ``config``: workers started with another are replaced.

        Idle workers stop now; a worker busy with a file finishes it (under the limits
        it started with) and is then replaced.
        """
        with self._lock:
            if config == self._config:
                return
            self._config = config
            self._generation += 1
            stale, self._idle = self._idle, []
        for worker in stale:
            worker.stop()
        logger.info("scan configuration changed: scan workers restart with it")

    def worker_pids(self) -> set[int]:
        """Return the process ids of the workers now running (idle or busy)."""
        with self._lock:
            workers = [*self._idle, *self._busy]
        return {w.pid for w in workers if w.pid is not None}

    def scan(
        self, path: Path, *, source: str | None = None, media_type: str | None = None
    ) -> FileReport:
        """Scan one file in a worker; a worker killed by a limit yields an error report."""
        label = source or str(path)
        started = time.monotonic()
        worker = self._take()
        if worker is None:
            reply = Reply(None, "scan worker stopped: the scanner is closed (leakmon stopping)")
        else:
            reply = worker.scan(path, label, media_type)
            if reply.report is None and self._closed:
                reply = Reply(
                    None, "scan worker stopped: the scanner was closed (leakmon stopping)"
                )
            self._give_back(worker, reply)
        if reply.report is not None:
            return reply.report
        error = f"{WORKER_KILLED}: {reply.error}"
        # Stopping is not the file's fault: no ERROR line for an operator to chase.
        log = logger.info if self._closed else logger.error
        log("scan of %s failed: %s", label, error)
        size = path.stat().st_size if path.exists() else 0
        return FileReport(label, "unknown", size, 0, 0, (), error, time.monotonic() - started)

    def close(self) -> None:
        """Stop every worker: idle ones are asked to exit, busy ones are killed at once.

        A scan waiting on a killed worker returns an error report saying the scanner
        was closed. Later calls to ``scan`` do not start workers.
        """
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            busy = list(self._busy)
        self._closing.set()
        for worker in busy:
            worker.kill()
        for worker in idle:
            worker.stop()

    def _take(self) -> ScanWorker | None:
        """Return a worker for one file: the last idle one of this configuration, or a new one."""
        stale: list[ScanWorker] = []
        with self._lock:
            worker = None
            while self._idle and worker is None:
                candidate = self._idle.pop()
                if candidate.generation == self._generation and candidate.usable:
                    worker = candidate
                else:
                    stale.append(candidate)
            config, generation, closed = self._config, self._generation, self._closed
            if worker is not None:
                self._busy.add(worker)
        for each in stale:
            each.stop()
        if worker is not None or closed:
            return worker
        # Started outside the lock: other threads keep scanning meanwhile.
        worker = ScanWorker(self._ctx, config, generation)
        with self._lock:
            self.workers_started += 1
            if not self._closed:
                self._busy.add(worker)
                return worker
        worker.kill()  # closed while it started
        return None

    def _give_back(self, worker: ScanWorker, reply: Reply) -> None:
        """Keep a worker for the next file, or stop it (limit hit, worn out, outdated)."""
        limits = worker.config.limits
        why = None
        if reply.report is None:
            why = "hit a limit"
        elif worker.files >= limits.worker_max_files:
            why = f"scanned {worker.files} files (worker_max_files)"
        elif worker.rss > limits.worker_recycle_mb * 1024**2:
            why = f"holds {worker.rss / 1024**2:.0f} MiB (worker_recycle_mb)"
        elif worker.address_space > limits.worker_memory_mb * 1024**2 * _ADDRESS_SPACE_KEPT:
            # A used worker must not fail a file a fresh one would read: it keeps a
            # quarter of its address-space limit free, or it is replaced.
            why = f"maps {worker.address_space / 1024**2:.0f} MiB (worker_memory_mb)"
        with self._lock:
            self.worker_cpu_s += reply.cpu
            self._busy.discard(worker)
            keep = why is None and not self._closed and worker.generation == self._generation
            if keep:
                worker.idle_since = time.monotonic()
                self._idle.append(worker)
                if self._reaper is None:
                    self._reaper = threading.Thread(
                        target=self._stop_idle, name="scan-worker-reaper", daemon=True
                    )
                    self._reaper.start()
        if keep:
            return
        if why is not None and reply.report is not None:
            logger.info("scan worker %s replaced: %s", worker.pid, why)
        worker.stop()

    def _stop_idle(self) -> None:
        """Stop workers that waited ``idle_stop_s`` for a file (the reaper thread's loop)."""
        while not self._closing.wait(min(self._idle_stop_s / 2, 5.0)):
            cutoff = time.monotonic() - self._idle_stop_s
            with self._lock:
                # The list is in the order workers went idle: the oldest first.
                idle = [w for w in self._idle if w.idle_since <= cutoff]
                self._idle = [w for w in self._idle if w.idle_since > cutoff]
            for worker in idle:
                logger.info(
                    "scan worker %s stopped: no file for %g s", worker.pid, self._idle_stop_s
                )
                worker.stop()
