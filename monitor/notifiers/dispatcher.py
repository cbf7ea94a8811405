"""Deliver the durable outbox to the notifiers: at least once, in order per incident.

The store writes each alert event into the outbox in the same transaction that
opens or resolves the finding. The dispatcher only reads what is due, sends it,
and records the outcome. Delivery is at least once: if the process dies between a
successful send and ``Outbox.delivered``, the event is sent again, and receivers
drop the repeat by its delivery id (``X-Leakmon-Delivery`` for webhooks,
``dedup_key`` for PagerDuty). Pruning delivered rows is the store's job, not
this module's: the dispatcher never deletes anything.

An event is never dropped because a receiver is down or misconfigured (5xx, 429,
401, 403, 404, timeouts): it is retried until the receiver is back. An event whose
*body* the receiver refuses (HTTP 400, 413, 415, 422: "not this body") is tried
``max_refusals`` times, then parked: kept in the outbox with its error, counted in
``leakmon_alerts_parked_total``, and no longer in the way of the incident's later
events or of other notifiers.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from monitor.errors import NotifyError, NotifyRefused, StoreError
from monitor.models import utcnow

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from monitor.metrics import Metrics
    from monitor.models import Alert
    from monitor.notifiers.base import Notifier

__all__ = ["Dispatcher", "Outbox", "OutboxItem"]

logger = logging.getLogger(__name__)

#: How often an idle ``run_forever`` looks at its stop and wake events.
_POLL_SLICE = 0.1
#: ``due`` is asked again after a round of deliveries, so that the next event of a
#: finding goes out in the same pass; this bounds the rounds if the outbox misbehaves.
_MAX_ROUNDS = 1000
_MAX_ERROR_CHARS = 500


class OutboxItem(Protocol):
    """One queued alert event for one notifier (the store's row type satisfies this)."""

    @property
    def id(self) -> int:
        """Return the row id."""
        ...

    @property
    def notifier(self) -> str:
        """Return the configured notifier name the event is for."""
        ...

    @property
    def alert(self) -> Alert:
        """Return the event to send."""
        ...

    @property
    def attempts(self) -> int:
        """Return how many deliveries have failed so far."""
        ...

    @property
    def created_at(self) -> dt.datetime:
        """Return when the event was queued (UTC)."""
        ...


class Outbox(Protocol):
    """The durable queue of alert events, kept by the store."""

    def due(self, now: dt.datetime, limit: int = 100) -> Sequence[OutboxItem]:
        """Return the oldest undelivered event per (notifier, finding key), if due at ``now``.

        A later event of a finding must not be returned while an earlier one is
        undelivered: that is what keeps ``opened`` before ``resolved``. (``Sequence``
        rather than ``list``: ``list`` is invariant, so the store's
        ``list[its dataclass]`` would not match ``list[this protocol]``.)
        """
        ...

    def delivered(self, item_id: int, at: dt.datetime) -> None:
        """Record a successful delivery."""
        ...

    def failed(
        self, item_id: int, at: dt.datetime, error: str, next_attempt_at: dt.datetime
    ) -> None:
        """Record a failed attempt and when to try again; the row stays queued."""
        ...

    def park(self, item_id: int, at: dt.datetime, error: str) -> None:
        """Give up on an event the receiver refused for good; the incident's next one goes on."""
        ...

    def outbox_depth(self) -> int:
        """Return how many events are undelivered."""
        ...


@dataclass(frozen=True)
class _Pause:
    """A notifier that is failing: how often in a row, until when to hold it, and why."""

    failures: int
    until: dt.datetime
    error: str


class Dispatcher:
    """Sends due outbox events with exponential backoff and jitter, per event and per notifier.

    A failed event is tried again after ``base_delay * 2**(failures - 1)`` seconds
    (half of it fixed, half random, so that many failed events do not retry in
    lockstep), capped at ``max_delay``. The cap is low on purpose: a receiver
    that comes back after ten minutes of outage gets everything within about
    ``max_delay``. While a notifier is failing, the dispatcher also pauses that
    notifier for the same kind of delay: its other due events are not sent but
    rescheduled to the end of the pause (recorded through ``Outbox.failed`` with a
    ``deferred`` error, so the store's attempt count includes deferrals). One dead
    receiver then costs one probe per pause instead of one timeout per queued
    event, and the notifiers queued behind it keep flowing.

    An event for a notifier this process does not know (removed from the config,
    or switched off) is failed with a clear error and retried later, never dropped.

    An event the receiver refuses (``NotifyRefused``) does not pause its notifier
    (the receiver is up; it is this body it will not take): it is retried with its
    own backoff, and parked at its ``max_refusals``-th refusal.

    Args:
        outbox: the store's outbox.
        notifiers: the configured notifiers by name.
        metrics: where to count attempts and report the outbox depth.
        base_delay: seconds before the first retry.
        max_delay: the longest wait between two attempts, in seconds.
        clock: returns the current UTC time; tests inject a fake one.
        rng: the jitter source; tests inject a seeded one.
        max_refusals: refusals of one event before it is parked.
    """

    def __init__(
        self,
        outbox: Outbox,
        notifiers: Mapping[str, Notifier],
        metrics: Metrics | None = None,
        *,
        base_delay: float = 1.0,
        max_delay: float = 60.0,
        clock: Callable[[], dt.datetime] = utcnow,
        rng: random.Random | None = None,
        max_refusals: int = 3,
    ) -> None:
        if base_delay <= 0 or max_delay < base_delay:
            raise ValueError(
                f"need 0 < base_delay <= max_delay, got base_delay={base_delay} "
                f"max_delay={max_delay}"
            )
        self._outbox = outbox
        self._notifiers = dict(notifiers)
        self._metrics = metrics
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._wake = threading.Event()
        self._paused: dict[str, _Pause] = {}
        self._max_refusals = max(1, max_refusals)
        # Refusals per outbox row, in memory: a restart gives a refused event at most
        # max_refusals more tries (the store's attempt count includes deferrals).
        self._refusals: dict[int, int] = {}
        self._lock = threading.Lock()

    def set_notifiers(self, notifiers: Mapping[str, Notifier]) -> None:
        """Use new notifiers from the next event on (the configuration was reloaded)."""
        with self._lock:
            self._notifiers = dict(notifiers)
            self._paused = {n: p for n, p in self._paused.items() if n in self._notifiers}
        logger.info("dispatcher now uses notifiers: %s", ", ".join(notifiers) or "none")

    def backoff(self, failures: int) -> float:
        """Return seconds to wait after the ``failures``-th consecutive failure."""
        exponent = min(max(failures, 1) - 1, 60)  # 2**60 s is forever; avoid float overflow
        ceiling = min(self._max_delay, self._base_delay * 2.0**exponent)
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def wake(self) -> None:
        """Ask ``run_forever`` to look at the outbox now (new events were queued)."""
        self._wake.set()

    def run_once(self) -> int:
        """Deliver every due event and return how many were delivered.

        Raises:
            StoreError: the outbox could not be read or updated; nothing is lost,
                the events stay queued.
        """
        return self._run(None)

    def run_forever(
        self,
        stop: threading.Event,
        interval: float = 1.0,
        gate: Callable[[], bool] | None = None,
    ) -> None:
        """Deliver due events every ``interval`` seconds (or on ``wake``) until ``stop`` is set.

        Returns within about ``_POLL_SLICE`` of ``stop`` being set while idle; a send
        under way is finished first (it is bounded by the notifier's timeout). With
        ``gate``, a pass delivers only while it returns True: in cluster mode, only the
        elected replica delivers, so each event goes out from one replica in order.
        """
        logger.info("dispatcher started with notifiers: %s", ", ".join(self._notifiers) or "none")
        while not stop.is_set():
            self._wake.clear()
            try:
                if gate is None or gate():
                    self._run(stop)
            except StoreError as exc:
                logger.warning("outbox unavailable, will retry in %g s: %s", interval, exc)
            deadline = time.monotonic() + interval
            while not stop.is_set() and not self._wake.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                stop.wait(min(left, _POLL_SLICE))
        logger.info("dispatcher stopped")

    # -- one pass ------------------------------------------------------------------------

    def _run(self, stop: threading.Event | None) -> int:
        sent = 0
        seen: set[int] = set()
        for _ in range(_MAX_ROUNDS):
            now = self._clock()
            fresh = [item for item in self._outbox.due(now) if item.id not in seen]
            if not fresh:
                break
            for item in fresh:
                if stop is not None and stop.is_set():
                    self._report_depth()
                    return sent
                seen.add(item.id)
                sent += self._handle(item)
        self._report_depth()
        return sent

    def _handle(self, item: OutboxItem) -> int:
        """Try one event; return 1 when it was delivered."""
        name = item.notifier
        with self._lock:
            notifier = self._notifiers.get(name)
        if notifier is None:
            error = (
                f"notifier {name!r} is not configured in this process (removed from the config "
                "or switched off); the event stays queued"
            )
            self._fail(item, "failed", error)
            return 0
        pause = self._paused.get(name)
        at = self._clock()
        if pause is not None and at < pause.until:
            self._defer(item, pause, at)
            return 0
        alert = item.alert
        try:
            notifier.send(alert)
        except NotifyRefused as exc:
            self._refused(item, str(exc))
            return 0
        except NotifyError as exc:
            self._fail(item, "failed", str(exc))
            return 0
        except Exception as exc:
            # The per-alert broad catch (STYLE): a plugin bug costs one attempt, not delivery.
            logger.exception(
                "notifier %r raised unexpectedly for target=%s key=%s event=%s",
                name,
                alert.target,
                alert.key,
                alert.event,
            )
            self._fail(item, "error", f"unexpected {type(exc).__name__}: {exc}")
            return 0
        self._outbox.delivered(item.id, self._clock())
        self._paused.pop(name, None)
        self._refusals.pop(item.id, None)
        self._count(name, "delivered")
        logger.info(
            "delivered %s alert target=%s key=%s seq=%d via notifier %r",
            alert.event,
            alert.target,
            alert.key,
            alert.sequence,
            name,
        )
        return 1

    def _fail(self, item: OutboxItem, outcome: str, error: str) -> None:
        at = self._clock()
        error = error[:_MAX_ERROR_CHARS]
        retry_at = at + dt.timedelta(seconds=self.backoff(item.attempts + 1))
        if item.notifier in self._notifiers:  # (reads a dict reference: no lock needed)
            previous = self._paused.get(item.notifier)
            failures = previous.failures + 1 if previous is not None else 1
            pause = _Pause(failures, at + dt.timedelta(seconds=self.backoff(failures)), error)
            self._paused[item.notifier] = pause
            # Not before the pause ends, or the event would only be deferred then.
            retry_at = max(retry_at, pause.until)
        self._outbox.failed(item.id, at, error, retry_at)
        self._count(item.notifier, outcome)
        logger.warning(
            "delivery failed target=%s key=%s event=%s attempt=%d, retry at %s: %s",
            item.alert.target,
            item.alert.key,
            item.alert.event,
            item.attempts + 1,
            retry_at.isoformat(timespec="seconds"),
            error,
        )

    def _refused(self, item: OutboxItem, error: str) -> None:
        """Retry a refused event on its own backoff, or park it at its last refusal."""
        at = self._clock()
        error = error[:_MAX_ERROR_CHARS]
        refusals = self._refusals.get(item.id, 0) + 1
        self._count(item.notifier, "failed")
        alert = item.alert
        if refusals >= self._max_refusals:
            self._refusals.pop(item.id, None)
            self._outbox.park(item.id, at, error)
            if self._metrics is not None:
                self._metrics.alerts_parked.labels(item.notifier).inc()
            logger.error(
                "parked %s alert target=%s key=%s seq=%d for notifier %r after %d refusals "
                "(later events go on; the event stays in the outbox): %s",
                alert.event,
                alert.target,
                alert.key,
                alert.sequence,
                item.notifier,
                refusals,
                error,
            )
            return
        self._refusals[item.id] = refusals
        retry_at = at + dt.timedelta(seconds=self.backoff(refusals))
        self._outbox.failed(item.id, at, error, retry_at)
        logger.warning(
            "delivery refused target=%s key=%s event=%s refusal=%d of %d, retry at %s: %s",
            alert.target,
            alert.key,
            alert.event,
            refusals,
            self._max_refusals,
            retry_at.isoformat(timespec="seconds"),
            error,
        )

    def _defer(self, item: OutboxItem, pause: _Pause, at: dt.datetime) -> None:
        """Move an event of a paused notifier to the pause's end, without trying it.

        Leaving it due instead would let a dead notifier's backlog fill every
        ``due`` page and starve the notifiers queued behind it.
        """
        error = f"deferred, notifier is failing: {pause.error}"[:_MAX_ERROR_CHARS]
        self._outbox.failed(item.id, at, error, pause.until)
        logger.debug(
            "deferred %s alert target=%s key=%s for notifier %r until %s",
            item.alert.event,
            item.alert.target,
            item.alert.key,
            item.notifier,
            pause.until.isoformat(timespec="seconds"),
        )

    def _count(self, notifier: str, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.notifications.labels(notifier, outcome).inc()

    def _report_depth(self) -> None:
        if self._metrics is not None:
            self._metrics.outbox_depth.set(self._outbox.outbox_depth())
