"""Cluster mode's scheduler: poll the targets this replica claims from the shared store.

Single-process leakmon schedules each target with a timer. Several replicas must
not each do that, or every poll would run once per replica; instead each replica
asks the store, about once a second, for due polls nobody holds (``ClusterSeam.claim``,
``FOR UPDATE SKIP LOCKED`` underneath), renews the leases of the polls it runs every
third of a lease, and hands each back with its next due time when it ends. A
replica that dies stops renewing; its polls are claimed by another once the lease
runs out.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Protocol

from twisted.internet import defer, task
from twisted.internet.threads import deferToThread

from monitor.errors import FrontierError, StoreError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from twisted.python.failure import Failure

    from monitor.config import TargetConfig
    from monitor.crawl.seam import ClaimedPoll, ClusterSeam
    from monitor.metrics import Metrics

__all__ = ["ClaimedSchedule"]

logger = logging.getLogger(__name__)

#: How often a replica asks for due polls.
_TICK = 1.0
#: Never start a target's next poll sooner than this after its last one ended.
_MIN_GAP = 1.0


class _Poller(Protocol):
    def poll(self, name: str) -> defer.Deferred[bool]: ...
    def resume(self, name: str, cursor: str | None) -> None: ...
    def cursor(self, name: str) -> str | None: ...


class ClaimedSchedule:
    """Run the polls this replica claims, at most ``max_polls`` at once.

    Args:
        poller: the crawl service (runs one poll, keeps the catalogue cursors).
        seam: the cluster's leases.
        targets: the configured targets by name.
        metrics: where claims are counted.
        max_polls: polls this replica runs at once, so that others get a share.
    """

    def __init__(
        self,
        poller: _Poller,
        seam: ClusterSeam,
        targets: Mapping[str, TargetConfig],
        metrics: Metrics,
        *,
        max_polls: int = 4,
    ) -> None:
        self._poller = poller
        self._seam = seam
        self._targets = dict(targets)
        self._metrics = metrics
        self._max_polls = max_polls
        self._running: dict[str, float] = {}  # target -> when its poll began (monotonic)
        self._loop = task.LoopingCall(self._tick)
        self._synced = False
        self._busy = False
        self._stopping = False
        self._next_renew = 0.0
        self._failing: str | None = None  # the last claim error, until claims work again

    def start(self) -> None:
        """Start asking for due polls (on the reactor)."""
        logger.info(
            "cluster replica %s: claiming polls of %d target(s), lease %.0f s",
            self._seam.replica,
            len(self._targets),
            self._seam.lease,
        )
        self._loop.start(_TICK, now=True).addErrback(self._loop_failed)

    def stop(self) -> defer.Deferred[None]:
        """Stop claiming and hand back every lease, so another replica polls at once."""
        self._stopping = True
        if self._loop.running:
            self._loop.stop()
        d: defer.Deferred[None] = deferToThread(self._seam.release)
        return d.addErrback(
            lambda f: logger.warning(
                "could not hand back poll leases (they run out by themselves): %s",
                f.getErrorMessage(),
            )
        )

    @property
    def running(self) -> set[str]:
        """Return the targets this replica is polling now."""
        return set(self._running)

    # -- one tick ------------------------------------------------------------------------

    def _tick(self) -> None:
        if self._stopping or self._busy:
            return
        self._busy = True
        active = set(self._running)
        renew = bool(active) and time.monotonic() >= self._next_renew
        free = self._max_polls - len(active)
        idle = [n for n in self._targets if n not in active]
        d = deferToThread(self._ask, active if renew else set(), idle, free)
        d.addCallbacks(self._claimed, self._ask_failed, callbackArgs=(active, renew))
        d.addBoth(self._not_busy)

    def _ask(
        self, renew: set[str], idle: list[str], free: int
    ) -> tuple[set[str], Sequence[ClaimedPoll]]:
        # In the thread pool: both calls wait on the database.
        if not self._synced:
            self._seam.sync(self._targets)
            self._synced = True
        held = self._seam.renew(renew) if renew else set()
        claims = self._seam.claim(idle, free) if free > 0 and idle else []
        return held, claims

    def _claimed(
        self, result: tuple[set[str], Sequence[ClaimedPoll]], active: set[str], renewed: bool
    ) -> None:
        if self._failing is not None:
            logger.info("poll claims work again")
            self._failing = None
        held, claims = result
        if renewed:
            self._next_renew = time.monotonic() + self._seam.lease / 3
            for lost in sorted(active - held):
                logger.warning(
                    "target=%s: this replica's lease ran out while polling (the store was"
                    " out of reach?); another replica may poll it too",
                    lost,
                )
        for claim in claims:
            self._start(claim)

    def _start(self, claim: ClaimedPoll) -> None:
        name = claim.target
        if self._stopping or name in self._running:
            return
        self._metrics.poll_claims.labels(name).inc()
        self._poller.resume(name, claim.cursor)
        self._running[name] = time.monotonic()
        if not self._next_renew:
            self._next_renew = time.monotonic() + self._seam.lease / 3
        d = defer.maybeDeferred(self._poller.poll, name)
        d.addBoth(self._ended, name)

    def _ended(self, result: bool | Failure, name: str) -> None:
        began = self._running.pop(name, time.monotonic())
        if not isinstance(result, bool):
            logger.error("target=%s poll ended with an error: %s", name, result.getTraceback())
        if self._stopping:
            return  # released on stop: another replica polls it at once
        every = self._targets[name].every
        elapsed = time.monotonic() - began
        if elapsed > every:
            logger.warning(
                "target=%s poll took %.0f s, longer than its interval (every=%.0f s)",
                name,
                elapsed,
                every,
            )
        next_in = max(every - elapsed, _MIN_GAP)
        d = deferToThread(self._seam.finish, name, next_in, self._poller.cursor(name))
        d.addErrback(
            lambda f: logger.warning(
                "target=%s: could not record the end of its poll (its lease runs out and"
                " the poll is repeated): %s",
                name,
                f.getErrorMessage(),
            )
        )

    def _ask_failed(self, failure: Failure) -> None:
        if isinstance(failure.value, (StoreError, FrontierError)):
            error = failure.getErrorMessage()
            if error != self._failing:  # once per new failure, not every second
                logger.warning("cannot claim polls now, asking again every second: %s", error)
            self._failing = error
            return
        logger.error("claiming polls failed: %s", failure.getTraceback())

    def _not_busy(self, _: object) -> None:
        self._busy = False

    def _loop_failed(self, failure: Failure) -> None:
        logger.error("the poll-claim loop stopped: %s", failure.getTraceback())
