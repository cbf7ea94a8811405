"""Cluster mode: calls to the shared frontier go in batches, not one per file.

A poll of 100,000 files offers 100,000 jobs, and a replica acknowledges as many.
Sent one at a time, each costs a hop to the thread pool and a round trip to
Redis, and the poll (or the replica) spends most of its time waiting on them.
``Batcher`` sends the first item at once and gathers the ones that arrive while
it is on its way into the next send (no timer, so a lone file is never delayed):
under load the batches grow by themselves, up to ``limit`` items per round trip.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, TypeVar

from twisted.internet import defer
from twisted.internet.threads import deferToThread

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from twisted.python.failure import Failure

__all__ = ["Batcher"]

#: Items per round trip at most: bounds one pipeline's size and one failure's reach.
_LIMIT = 500

Item = TypeVar("Item")
Answer = TypeVar("Answer")


class Batcher(Generic[Item, Answer]):
    """Sends items from the reactor thread, several per call, one call at a time.

    Args:
        send: sends a batch and answers each item, in order; blocking, so it runs
            in the reactor's thread pool. When it raises, every item of that
            batch fails with its error (the frontier's ``FrontierError``: each
            caller falls back as it would for one item).
        limit: items per call at most.
    """

    def __init__(
        self, send: Callable[[Sequence[Item]], Sequence[Answer]], limit: int = _LIMIT
    ) -> None:
        self._call = send
        self._limit = limit
        self._waiting: list[tuple[Item, defer.Deferred[Answer]]] = []
        self._sending = False

    def add(self, item: Item) -> defer.Deferred[Answer]:
        """Send ``item`` with the next call; fires with its answer (reactor thread)."""
        d: defer.Deferred[Answer] = defer.Deferred()
        self._waiting.append((item, d))
        if not self._sending:
            self._send()
        return d

    def _send(self) -> None:
        batch, self._waiting = self._waiting[: self._limit], self._waiting[self._limit :]
        if not batch:
            self._sending = False
            return
        self._sending = True
        sent = deferToThread(self._call, [item for item, _d in batch])

        def answered(answers: Sequence[Answer]) -> None:
            for (_item, d), answer in zip(batch, answers, strict=True):
                d.callback(answer)

        def failed(failure: Failure) -> None:
            for _item, d in batch:
                d.errback(failure)

        sent.addCallbacks(answered, failed)
        sent.addBoth(lambda _: self._send())
