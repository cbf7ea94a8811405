"""Group commit of scan results: the results waiting together go in one transaction.

Each scan thread hands its file's result to a ``ResultBatch`` and waits until
it is committed, so its caller sees the same synchronous "written or raised"
as one store call (a busy store is waited out by the caller, as before). The
"store" thread takes every result queued so far, up to ``limit``, and writes
them in one transaction: one commit (on PostgreSQL one WAL flush) for several
files, and one connection check-out instead of one per file.

A busy store (``StoreBusy``: locked, down, a deadlock) fails the whole batch:
every waiter gets the error and retries on its own, so no result is dropped. Any
other failure of a batch of several is retried one result per transaction, so a
result that cannot be written fails alone.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from monitor.errors import StoreBusy

if TYPE_CHECKING:
    from collections.abc import Callable

    from monitor.models import Alert, Finding, TableSchema
    from monitor.store.records import Router
    from monitor.store.results import ScanResult
    from monitor.store.store import Store

__all__ = ["BATCH_LIMIT", "ResultBatch"]

logger = logging.getLogger(__name__)

#: Results per transaction at most: a batch holds its files' row locks (and, on
#: SQLite, the write lock) until it commits, so it stays short.
BATCH_LIMIT = 50


class _Pending:
    """One result waiting for its batch: the caller blocks on ``done``."""

    __slots__ = ("alerts", "done", "error", "result", "router")

    def __init__(self, result: ScanResult, router: Router) -> None:
        self.result, self.router = result, router
        self.done = threading.Event()
        self.alerts: list[Alert] = []
        self.error: BaseException | None = None


class ResultBatch:
    """Writes scan results for many threads, those that wait together in one transaction.

    Args:
        store: where the results go (``Store.record_results``).
        drift: the drift finding of a table's baseline and its schema now, if any.
        limit: results per transaction at most.
    """

    def __init__(
        self,
        store: Store,
        drift: Callable[[str, TableSchema, TableSchema], Finding | None],
        limit: int = BATCH_LIMIT,
    ) -> None:
        self._store, self._drift, self._limit = store, drift, limit
        self._queue: list[_Pending] = []
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        #: Transactions committed and results in them, for tests and the log.
        self.batches = 0
        self.written = 0

    def write(self, result: ScanResult, router: Router) -> list[Alert]:
        """Write one result (with whatever else waits) and return the alerts it queued.

        Raises:
            StoreBusy: the store was busy; nothing of this result was written, try again.
            StoreError: this result cannot be written.
        """
        pending = _Pending(result, router)
        with self._wake:
            self._queue.append(pending)
            if self._thread is None:
                # Started at the first result: a daemon that never scans has no store thread.
                self._thread = threading.Thread(target=self._run, name="store", daemon=True)
                self._thread.start()
            self._wake.notify()
        pending.done.wait()
        if pending.error is not None:
            raise pending.error
        return pending.alerts

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._queue:
                    self._wake.wait()
                batch = self._queue[: self._limit]
                del self._queue[: self._limit]
            self._write(batch)

    def _write(self, batch: list[_Pending]) -> None:
        try:
            try:
                outcomes = self._store.record_results(
                    [(p.result, p.router) for p in batch], self._drift
                )
            except StoreBusy:
                raise
            except BaseException:
                if len(batch) == 1:
                    raise
                # One bad result must not fail the others: each on its own now.
                logger.warning("a batch of %d scan results failed; written one by one", len(batch))
                for pending in batch:
                    self._write([pending])
                return
        except BaseException as exc:  # handed to the waiting caller, which raises it
            for pending in batch:
                pending.error = exc
                pending.done.set()
            return
        self.batches += 1
        self.written += len(batch)
        for pending, alerts in zip(batch, outcomes, strict=True):
            pending.alerts = alerts
            pending.done.set()
