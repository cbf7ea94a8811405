"""Cluster mode: a poll's found files go to the shared frontier in batches, not one by one.

A poll of 100,000 files offers 100,000 jobs. Offered one at a time, each costs a
hop to the thread pool and a round trip to Redis, and the poll's item pipeline
spends most of its time waiting on them. ``OfferBatcher`` sends the first offer at
once and gathers the ones that arrive while it is on its way into the next send
(no timer, so a lone file is never delayed): under load the batches grow by
themselves, up to ``limit`` jobs per round trip.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twisted.internet import defer
from twisted.internet.threads import deferToThread

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from twisted.python.failure import Failure

    from monitor.models import DownloadJob

__all__ = ["OfferBatcher"]

#: Jobs per round trip at most: bounds one pipeline's size and one failure's reach.
_LIMIT = 500


class OfferBatcher:
    """Offers download jobs to the frontier from the reactor thread, several per round trip.

    Args:
        offer_many: queues jobs and says which were queued (False: already queued);
            blocking, so it runs in the reactor's thread pool. Raises
            ``FrontierError`` when the frontier does not answer: every offer of
            that batch fails with it, and each caller fetches its file itself.
        limit: jobs per call at most.
    """

    def __init__(
        self, offer_many: Callable[[Sequence[DownloadJob]], Sequence[bool]], limit: int = _LIMIT
    ) -> None:
        self._offer_many = offer_many
        self._limit = limit
        self._waiting: list[tuple[DownloadJob, defer.Deferred[bool]]] = []
        self._sending = False

    def offer(self, job: DownloadJob) -> defer.Deferred[bool]:
        """Queue ``job`` with the next send; fires with whether it was queued (reactor thread)."""
        d: defer.Deferred[bool] = defer.Deferred()
        self._waiting.append((job, d))
        if not self._sending:
            self._send()
        return d

    def _send(self) -> None:
        batch, self._waiting = self._waiting[: self._limit], self._waiting[self._limit :]
        if not batch:
            self._sending = False
            return
        self._sending = True
        sent = deferToThread(self._offer_many, [job for job, _d in batch])

        def answered(queued: Sequence[bool]) -> None:
            for (_job, d), was in zip(batch, queued, strict=True):
                d.callback(was)

        def failed(failure: Failure) -> None:
            for _job, d in batch:
                d.errback(failure)

        sent.addCallbacks(answered, failed)
        sent.addBoth(lambda _: self._send())
