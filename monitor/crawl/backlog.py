"""Back-pressure between downloads and scans: downloads wait while the scan backlog is full.

A first pass over a large portal downloads far faster than files can be scanned.
Without a bound, every downloaded file waits in the spool (83,000 after seven
minutes in one measurement, each costing disk and a few KB of memory), and a poll
that starts before they are scanned downloads them again. The daemon counts the
files it was handed and has not finished; while that count or their bytes are at
the configured bound, the crawler's file downloads wait for room (pages and
catalogue answers do not: they are small and say what there is to fetch).
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING

from twisted.internet import defer

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["ScanBacklog"]


class ScanBacklog:
    """Counts files waiting for (or in) their scan; tells downloads when there is room.

    ``add`` and ``room`` run on the reactor thread; ``done`` may run on any thread
    and hands the wake-up to the reactor through ``call_in_reactor``.
    """

    def __init__(
        self,
        max_files: int,
        max_bytes: int,
        call_in_reactor: Callable[[Callable[[], None]], None] | None = None,
    ) -> None:
        self.max_files = max_files
        self.max_bytes = max_bytes
        self._files = 0
        self._bytes = 0
        self._lock = threading.Lock()
        self._waiting: list[defer.Deferred[None]] = []
        self._call = call_in_reactor or _from_thread
        self._released = False

    @property
    def files(self) -> int:
        """Return how many files are waiting for or in their scan."""
        return self._files

    @property
    def bytes(self) -> int:
        """Return the bytes of those files."""
        return self._bytes

    def full(self) -> bool:
        """Say whether a new download must wait (one file over the byte bound still goes)."""
        with self._lock:
            return self._files >= self.max_files or (
                self._files > 0 and self._bytes >= self.max_bytes
            )

    def room(self) -> defer.Deferred[None] | None:
        """Return None when a download may start now, else a Deferred fired when it may."""
        if self._released or not self.full():
            return None
        waiter: defer.Deferred[None] = defer.Deferred()
        self._waiting.append(waiter)
        return waiter

    def add(self, size: int) -> None:
        """Count a file handed to the scanner."""
        with self._lock:
            self._files += 1
            self._bytes += max(size, 0)

    def done(self, size: int) -> None:
        """Count a file finished (scanned, skipped or dropped); wake waiting downloads."""
        with self._lock:
            self._files = max(self._files - 1, 0)
            self._bytes = max(self._bytes - max(size, 0), 0)
        self._call(self._wake)

    def release(self) -> None:
        """Let every waiting and future download go (the daemon is stopping: polls must end)."""
        self._released = True
        self._call(self._wake)

    def _wake(self) -> None:
        # Reactor thread. One waiter per free place, in the order they came.
        while self._waiting and (self._released or not self.full()):
            self._waiting.pop(0).callback(None)


def _from_thread(call: Callable[[], None]) -> None:
    # Not importing twisted.internet.reactor: that would install one. With none
    # running (a daemon used in process, without run()), nothing can be waiting.
    reactor = sys.modules.get("twisted.internet.reactor")
    if reactor is None or not getattr(reactor, "running", False):
        call()
        return
    reactor.callFromThread(call)
