"""One replica's view of the cluster: the store's poll leases and locks, and the frontier.

``Cluster`` is what the crawler's ``ClusterSeam`` and the daemon need, built from
the ``cluster:`` configuration. It adds no protocol of its own: claims are rows
locked with ``FOR UPDATE SKIP LOCKED``, the leader and the scan claims are
PostgreSQL advisory locks, and downloads are Redis stream entries.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

from monitor.cluster.frontier import Frontier, Taken
from monitor.models import utcnow

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator, Sequence

    from monitor.config import ClusterConfig
    from monitor.models import DownloadJob
    from monitor.store import PollClaim, Store
    from monitor.store.locks import NamedLock

__all__ = ["Cluster", "default_replica_name"]

logger = logging.getLogger(__name__)


class _Held(Protocol):
    """A download this replica holds (``Taken``, or the crawler's view of it)."""

    @property
    def entry(self) -> str: ...

    @property
    def job(self) -> DownloadJob: ...


def default_replica_name() -> str:
    """Return ``host-pid``: unique on a machine, readable in logs."""
    return f"{socket.gethostname()}-{os.getpid()}"


class Cluster:
    """Poll leases, named locks and the download frontier of one replica.

    Args:
        config: the ``cluster:`` section.
        store: the shared store (PostgreSQL).
        frontier: the download frontier; built from ``config`` unless given (tests).
    """

    def __init__(
        self, config: ClusterConfig, store: Store, frontier: Frontier | None = None
    ) -> None:
        self.replica = config.replica or default_replica_name()
        self.lease = config.lease
        self._prefix = config.prefix
        self._store = store
        self.frontier = frontier or Frontier(
            config.redis.get_secret_value(),
            prefix=config.prefix,
            consumer=self.replica,
            lease=config.lease,
        )
        self._frontier_ready = False

    def __repr__(self) -> str:
        return f"Cluster(replica={self.replica!r}, {self.frontier!r})"

    def leader_lock(self) -> NamedLock:
        """Return the lock whose holder delivers alerts and exports cluster-wide gauges."""
        return self._store.lock(f"{self._prefix}:leader")

    @contextmanager
    def scan_claim(self, url: str) -> Iterator[bool]:
        """Hold the right to scan ``url``; yields False when another replica holds it."""
        lock = self._store.lock(f"{self._prefix}:scan:{url}")
        got = lock.try_acquire()
        try:
            yield got
        finally:
            if got:
                lock.release()

    # -- ClusterSeam: poll leases ----------------------------------------------------------

    def sync(self, targets: Collection[str]) -> None:
        """Give every configured target a lease row.

        The frontier is not needed for that: without Redis a replica still polls what
        it claims (and fetches those files itself).
        """
        self._store.sync_polls(targets, utcnow())

    def claim(self, targets: Collection[str], limit: int) -> Sequence[PollClaim]:
        """Claim up to ``limit`` due polls among ``targets`` for one lease."""
        return self._store.claim_polls(self.replica, targets, utcnow(), self.lease, limit)

    def renew(self, targets: Collection[str]) -> set[str]:
        """Extend this replica's leases by one lease from now."""
        until = utcnow() + dt.timedelta(seconds=self.lease)
        return self._store.renew_polls(self.replica, targets, until)

    def finish(self, target: str, next_in: float, cursor: str | None) -> None:
        """End a poll; the next one is due ``next_in`` seconds from now, on any replica."""
        now = utcnow()
        self._store.finish_poll(
            self.replica,
            target,
            next_due_at=now + dt.timedelta(seconds=next_in),
            cursor=cursor,
            at=now,
        )

    def release(self) -> None:
        """Hand back this replica's leases (it is stopping)."""
        count = self._store.release_polls(self.replica)
        if count:
            logger.info("replica %s handed back %d poll lease(s)", self.replica, count)

    # -- ClusterSeam: the frontier -----------------------------------------------------------

    def offer(self, jobs: Sequence[DownloadJob]) -> list[bool]:
        """Queue downloads for any replica (one round trip); say of each whether it was."""
        self._ensure_frontier()
        return self.frontier.offer_many(jobs)

    def take(self, count: int, block: float) -> Sequence[Taken]:
        """Take up to ``count`` downloads."""
        self._ensure_frontier()
        return self.frontier.take(count, block)

    def touch(self, entries: Sequence[str]) -> None:
        """Renew the downloads this replica holds."""
        self.frontier.touch(entries)

    def done(self, taken: Sequence[_Held]) -> None:
        """Acknowledge finished downloads, in one round trip."""
        self.frontier.done_many([(t.entry, t.job.url) for t in taken])

    def validators(
        self, urls: Collection[str]
    ) -> dict[str, tuple[str | None, str | None, str | None]]:
        """Return the stored validators of the files among ``urls`` the store has.

        Read for a whole take of jobs at once, from the shared store: another
        replica may have fetched any of these files since this one last did.
        """
        return self._store.validators_of(urls)

    def _ensure_frontier(self) -> None:
        if not self._frontier_ready:
            self.frontier.setup()
            self._frontier_ready = True
