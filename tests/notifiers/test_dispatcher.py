"""The dispatcher: ordered at-least-once delivery from the outbox, backoff, a loop that stops."""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

from monitor.errors import NotifyError, NotifyRefused, StoreError
from monitor.metrics import Metrics
from monitor.notifiers import Dispatcher, WebhookNotifier

if TYPE_CHECKING:
    from monitor.models import Alert


@dataclass
class Row:
    """An outbox row as the store keeps it."""

    id: int
    notifier: str
    alert: Alert
    created_at: dt.datetime
    next_attempt_at: dt.datetime
    attempts: int = 0
    delivered_at: dt.datetime | None = None
    parked_at: dt.datetime | None = None
    errors: list[str] = field(default_factory=list)
    gaps: list[float] = field(default_factory=list)


class FakeOutbox:
    """An in-memory outbox with the store's contract: per (notifier, key), oldest first."""

    def __init__(self, clock) -> None:
        self.clock = clock
        self.rows: list[Row] = []

    def add(self, notifier: str, alert: Alert) -> Row:
        now = self.clock()
        row = Row(len(self.rows) + 1, notifier, alert, created_at=now, next_attempt_at=now)
        self.rows.append(row)
        return row

    def due(self, now: dt.datetime, limit: int = 100) -> list[Row]:
        heads: dict[tuple[str, str], Row] = {}
        for row in self.rows:
            if row.delivered_at is None and row.parked_at is None:
                heads.setdefault((row.notifier, row.alert.key), row)
        return [r for r in heads.values() if r.next_attempt_at <= now][:limit]

    def delivered(self, item_id: int, at: dt.datetime) -> None:
        row = self.rows[item_id - 1]
        assert row.delivered_at is None, f"row {item_id} delivered twice"
        row.delivered_at = at

    def failed(
        self, item_id: int, at: dt.datetime, error: str, next_attempt_at: dt.datetime
    ) -> None:
        row = self.rows[item_id - 1]
        assert row.delivered_at is None
        assert next_attempt_at > at
        row.attempts += 1
        row.errors.append(error)
        row.gaps.append((next_attempt_at - at).total_seconds())
        row.next_attempt_at = next_attempt_at

    def park(self, item_id: int, at: dt.datetime, error: str) -> None:
        row = self.rows[item_id - 1]
        assert row.delivered_at is None
        assert row.parked_at is None
        row.attempts += 1
        row.errors.append(error)
        row.parked_at = at

    def outbox_depth(self) -> int:
        return sum(r.delivered_at is None and r.parked_at is None for r in self.rows)


class RecordingNotifier:
    """A notifier that keeps what it was sent; ``fail`` decides per alert whether to raise."""

    kind = "recording"

    def __init__(self, name: str = "rec", fail=None, delay: float = 0.0) -> None:
        self.name = name
        self.fail = fail
        self.delay = delay
        self.sent: list[Alert] = []
        self.calls = 0

    def send(self, alert: Alert) -> None:
        self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        error = self.fail(alert) if self.fail else None
        if error is not None:
            raise error
        self.sent.append(alert)


def _always(exc):
    return lambda alert: exc


def _sample(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def outbox(clock) -> FakeOutbox:
    return FakeOutbox(clock)


def _sequence(alerts: list[Alert], key: str) -> list[int]:
    return [a.sequence for a in alerts if a.key == key]


def test_delivers_every_due_event_in_order_per_finding(outbox, clock, metrics, make_alert):
    for key, seq, event in [
        ("A", 1, "opened"),
        ("B", 1, "opened"),
        ("A", 2, "resolved"),
        ("A", 3, "opened"),
        ("B", 2, "resolved"),
    ]:
        outbox.add("rec", make_alert(key=key, sequence=seq, event=event))
    rec = RecordingNotifier()

    sent = Dispatcher(outbox, {"rec": rec}, metrics, clock=clock).run_once()

    assert sent == 5
    assert _sequence(rec.sent, "A") == [1, 2, 3]
    assert _sequence(rec.sent, "B") == [1, 2]
    assert outbox.outbox_depth() == 0
    assert _sample(metrics, "leakmon_notifications_total", notifier="rec", outcome="delivered") == 5
    assert _sample(metrics, "leakmon_outbox_depth") == 0


def test_later_event_waits_for_an_earlier_failed_one(outbox, clock, make_alert):
    outbox.add("rec", make_alert(key="A", sequence=1))
    outbox.add("rec", make_alert(key="A", sequence=2, event="resolved"))
    failures = iter([NotifyError("receiver said 503")])
    rec = RecordingNotifier(fail=lambda alert: next(failures, None))
    dispatcher = Dispatcher(outbox, {"rec": rec}, clock=clock)

    assert dispatcher.run_once() == 0
    assert rec.sent == []
    assert outbox.rows[0].errors == ["receiver said 503"]

    clock.advance(2)
    assert dispatcher.run_once() == 2
    assert _sequence(rec.sent, "A") == [1, 2]


def test_receiver_down_for_ten_minutes_gets_everything_once_in_order(
    outbox, clock, metrics, make_alert, receiver
):
    receiver.respond(500, b"down for maintenance")
    dispatcher = Dispatcher(
        outbox,
        {"hook": WebhookNotifier(receiver.url + "/hook", name="hook")},
        metrics,
        clock=clock,
        rng=random.Random(7),
    )
    expected: dict[str, list[int]] = {}

    def queue(key: str) -> None:
        seq = len(expected.setdefault(key, [])) + 1
        event = "opened" if seq % 2 else "resolved"
        outbox.add("hook", make_alert(key=key, sequence=seq, event=event))
        expected[key].append(seq)

    for key in ("A", "B", "C"):
        queue(key)
    for second in range(600):  # ten simulated minutes of outage, events keep coming
        if second % 100 == 50:
            queue("A")
            queue("D")
        dispatcher.run_once()
        clock.advance(1)
    failed_requests = len(receiver.requests)
    assert receiver.accepted == []
    assert outbox.outbox_depth() == sum(len(v) for v in expected.values())

    receiver.respond(200)
    recovered = clock()
    while outbox.outbox_depth() and clock() - recovered < dt.timedelta(minutes=5):
        dispatcher.run_once()
        clock.advance(1)

    assert outbox.outbox_depth() == 0
    # Everything arrived within about a minute of the receiver coming back.
    assert clock() - recovered <= dt.timedelta(seconds=62)
    deliveries = [r.headers["X-Leakmon-Delivery"] for r in receiver.accepted]
    assert len(deliveries) == len(set(deliveries)), "an event was delivered twice"
    got: dict[str, list[int]] = {}
    for request in receiver.accepted:
        body = request.json()
        got.setdefault(body["key"], []).append(body["sequence"])
    assert got == expected
    # Backoff: a dead receiver saw a probe every minute or so, not a request per second per event.
    assert failed_requests < 40
    assert _sample(metrics, "leakmon_notifications_total", notifier="hook", outcome="failed") == (
        failed_requests
    )


def test_backoff_grows_and_is_capped(outbox):
    dispatcher = Dispatcher(outbox, {}, base_delay=1.0, max_delay=60.0, rng=random.Random(3))

    for failures in range(1, 15):
        ceiling = min(60.0, 2.0 ** (failures - 1))
        for _ in range(20):
            assert ceiling / 2 <= dispatcher.backoff(failures) <= ceiling
    assert dispatcher.backoff(10_000) <= 60.0


def test_retry_gaps_grow_then_stay_at_the_cap(outbox, clock, make_alert):
    row = outbox.add("down", make_alert())
    down = RecordingNotifier("down", fail=_always(NotifyError("HTTP 503")))
    dispatcher = Dispatcher(outbox, {"down": down}, clock=clock, rng=random.Random(5))

    for _ in range(30 * 60):
        dispatcher.run_once()
        clock.advance(1)

    gaps = row.gaps
    assert len(gaps) >= 25
    assert gaps[:6] == sorted(gaps[:6])
    assert gaps[0] <= 1.0
    assert max(gaps) <= 60.0
    assert min(gaps[-10:]) >= 30.0
    assert row.delivered_at is None
    assert row.attempts == len(gaps)


def test_unexpected_exception_does_not_stop_the_loop(outbox, clock, metrics, make_alert, caplog):
    outbox.add("boom", make_alert(key="A", target="portal-a"))
    outbox.add("boom", make_alert(key="B"))
    outbox.add("rec", make_alert(key="A"))
    boom = RecordingNotifier(
        "boom", fail=lambda alert: KeyError("bug in a plugin") if alert.key == "A" else None
    )
    rec = RecordingNotifier("rec")
    dispatcher = Dispatcher(outbox, {"boom": boom, "rec": rec}, metrics, clock=clock)

    with caplog.at_level(logging.ERROR, logger="monitor.notifiers.dispatcher"):
        assert dispatcher.run_once() == 1
    # boom failed on A and sits out the rest of the pass; rec still delivered its A.
    assert [a.key for a in rec.sent] == ["A"]
    assert outbox.rows[0].attempts == 1
    assert "KeyError" in outbox.rows[0].errors[0]
    assert _sample(metrics, "leakmon_notifications_total", notifier="boom", outcome="error") == 1
    assert any("target=portal-a" in r.getMessage() for r in caplog.records)

    boom.fail = None  # the plugin is fixed; nothing was dropped meanwhile
    clock.advance(61)
    dispatcher.run_once()
    assert sorted(a.key for a in boom.sent) == ["A", "B"]
    assert outbox.outbox_depth() == 0


def test_unknown_notifier_is_failed_clearly_and_kept(outbox, clock, metrics, make_alert):
    row = outbox.add("retired", make_alert())
    dispatcher = Dispatcher(outbox, {"rec": RecordingNotifier()}, metrics, clock=clock)

    assert dispatcher.run_once() == 0
    clock.advance(61)
    assert dispatcher.run_once() == 0

    assert row.attempts == 2
    assert "'retired' is not configured" in row.errors[0]
    assert row.delivered_at is None
    assert outbox.outbox_depth() == 1
    assert _sample(metrics, "leakmon_outbox_depth") == 1
    assert (
        _sample(metrics, "leakmon_notifications_total", notifier="retired", outcome="failed") == 2
    )

    # Put back in the config, the notifier gets the event it missed.
    back = RecordingNotifier("retired")
    clock.advance(61)
    assert Dispatcher(outbox, {"retired": back}, clock=clock).run_once() == 1
    assert back.sent == [row.alert]


def test_failing_notifier_is_paused_and_others_keep_flowing(outbox, clock, metrics, make_alert):
    for key in "ABCDE":
        outbox.add("down", make_alert(key=key))
        outbox.add("up", make_alert(key=key))
    down = RecordingNotifier("down", fail=_always(NotifyError("timed out")))
    up = RecordingNotifier("up")
    dispatcher = Dispatcher(
        outbox, {"down": down, "up": up}, metrics, clock=clock, rng=random.Random(1)
    )

    assert dispatcher.run_once() == 5
    assert down.calls == 1  # one probe, not one timeout per queued event
    deferred = [r for r in outbox.rows if r.notifier == "down"][1:]
    assert all(r.errors == ["deferred, notifier is failing: timed out"] for r in deferred)
    assert _sample(metrics, "leakmon_notifications_total", notifier="down", outcome="failed") == 1

    clock.advance(0.1)
    dispatcher.run_once()
    assert down.calls == 1
    clock.advance(61)
    dispatcher.run_once()
    assert down.calls == 2

    down.fail = None
    clock.advance(61)
    assert dispatcher.run_once() == 5
    assert sorted(a.key for a in down.sent) == list("ABCDE")


def test_dead_notifiers_backlog_does_not_starve_the_others(outbox, clock, make_alert):
    for n in range(250):  # more than one page of ``due``
        outbox.add("down", make_alert(key=f"k{n}"))
    outbox.add("up", make_alert(key="k0"))
    down = RecordingNotifier("down", fail=_always(NotifyError("HTTP 503")))
    up = RecordingNotifier("up")

    assert Dispatcher(outbox, {"down": down, "up": up}, clock=clock).run_once() == 1
    assert [a.key for a in up.sent] == ["k0"]
    assert down.calls == 1


def test_failed_store_update_means_redelivery_not_loss(outbox, clock, make_alert):
    outbox.add("rec", make_alert())
    rec = RecordingNotifier()
    real_delivered = outbox.delivered
    calls = iter([StoreError("database is locked")])

    def flaky_delivered(item_id, at):
        error = next(calls, None)
        if error is not None:
            raise error
        real_delivered(item_id, at)

    outbox.delivered = flaky_delivered
    dispatcher = Dispatcher(outbox, {"rec": rec}, clock=clock)

    with pytest.raises(StoreError):
        dispatcher.run_once()
    assert dispatcher.run_once() == 1
    # At least once: the receiver saw the same event twice and drops it by its delivery id.
    assert [(a.key, a.sequence) for a in rec.sent] == [("f-0001", 1)] * 2


def test_pass_ends_even_if_the_outbox_ignores_failures(clock, make_alert):
    class StuckOutbox(FakeOutbox):
        def failed(self, item_id, at, error, next_attempt_at):
            pass  # a broken store that never moves next_attempt_at

    stuck = StuckOutbox(clock)
    stuck.add("rec", make_alert())
    rec = RecordingNotifier(fail=_always(NotifyError("HTTP 500")))
    assert Dispatcher(stuck, {"rec": rec}, clock=clock).run_once() == 0
    assert rec.calls == 1


def test_rejects_nonsense_delays(outbox):
    with pytest.raises(ValueError, match="base_delay"):
        Dispatcher(outbox, {}, base_delay=0)
    with pytest.raises(ValueError, match="max_delay"):
        Dispatcher(outbox, {}, base_delay=10, max_delay=5)


def _start(dispatcher: Dispatcher, stop: threading.Event, interval: float) -> threading.Thread:
    thread = threading.Thread(target=dispatcher.run_forever, args=(stop, interval), daemon=True)
    thread.start()
    return thread


def _wait_for(condition, timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_run_forever_stops_within_a_second_of_stop(outbox):
    stop = threading.Event()
    thread = _start(Dispatcher(outbox, {}), stop, interval=30.0)
    time.sleep(0.2)

    started = time.monotonic()
    stop.set()
    thread.join(timeout=2)

    assert not thread.is_alive()
    assert time.monotonic() - started < 1.0


def test_run_forever_stops_mid_pass_and_keeps_the_rest(outbox, make_alert):
    for n in range(50):
        outbox.add("slow", make_alert(key=f"k{n}"))
    slow = RecordingNotifier("slow", delay=0.05)
    stop = threading.Event()
    thread = _start(Dispatcher(outbox, {"slow": slow}), stop, interval=1.0)
    assert _wait_for(lambda: slow.sent)

    started = time.monotonic()
    stop.set()
    thread.join(timeout=2)

    assert not thread.is_alive()
    assert time.monotonic() - started < 1.0
    assert 0 < outbox.outbox_depth() < 50
    assert outbox.outbox_depth() + len(slow.sent) == 50


def test_wake_delivers_without_waiting_for_the_interval(outbox, make_alert):
    rec = RecordingNotifier()
    dispatcher = Dispatcher(outbox, {"rec": rec})
    stop = threading.Event()
    outbox.add("rec", make_alert(key="first"))
    thread = _start(dispatcher, stop, interval=30.0)
    try:
        assert _wait_for(lambda: len(rec.sent) == 1)
        outbox.add("rec", make_alert(key="second"))
        dispatcher.wake()
        assert _wait_for(lambda: len(rec.sent) == 2, timeout=1.0)
    finally:
        stop.set()
        thread.join(timeout=2)


def test_run_forever_survives_an_unavailable_store(outbox, make_alert, caplog):
    outbox.add("rec", make_alert())
    real_due = outbox.due
    errors = iter([StoreError("connection refused"), StoreError("connection refused")])

    def flaky_due(now, limit=100):
        error = next(errors, None)
        if error is not None:
            raise error
        return real_due(now, limit)

    outbox.due = flaky_due
    rec = RecordingNotifier()
    stop = threading.Event()
    with caplog.at_level(logging.WARNING, logger="monitor.notifiers.dispatcher"):
        thread = _start(Dispatcher(outbox, {"rec": rec}), stop, interval=0.01)
        try:
            assert _wait_for(lambda: len(rec.sent) == 1)
        finally:
            stop.set()
            thread.join(timeout=2)
    assert any("outbox unavailable" in r.getMessage() for r in caplog.records)


def test_a_closed_gate_delivers_nothing_until_it_opens(outbox, make_alert):
    outbox.add("rec", make_alert(key="k1"))
    rec = RecordingNotifier("rec")
    leading = threading.Event()
    stop = threading.Event()
    dispatcher = Dispatcher(outbox, {"rec": rec})
    thread = threading.Thread(
        target=dispatcher.run_forever,
        args=(stop, 0.05),
        kwargs={"gate": leading.is_set},
        daemon=True,
    )
    thread.start()
    time.sleep(0.3)
    assert rec.sent == []  # a follower replica: the event stays queued
    assert outbox.outbox_depth() == 1
    leading.set()
    assert _wait_for(lambda: len(rec.sent) == 1)
    stop.set()
    thread.join(timeout=2)


def test_refused_event_is_parked_after_its_retries_and_later_events_go_on(outbox, clock, metrics):
    """A receiver that refuses one body (HTTP 400) for good: parked, counted, not in the way."""
    refused = NotifyRefused("notifier 'rec': POST http://h/…: answered HTTP 400: invalid event")
    notifier = RecordingNotifier(
        fail=lambda a: refused if (a.key, a.sequence) == ("A", 1) else None
    )
    dispatcher = Dispatcher(
        outbox, {"rec": notifier}, metrics, clock=clock, rng=random.Random(1), max_refusals=3
    )
    first = outbox.add("rec", make_alert_for("A", 1))
    outbox.add("rec", make_alert_for("A", 2, "resolved"))
    outbox.add("rec", make_alert_for("B", 1))

    for _ in range(10):
        dispatcher.run_once()
        clock.advance(5)

    assert first.parked_at is not None
    assert len(first.errors) == 3  # tried three times, then parked
    assert [(a.key, a.sequence) for a in notifier.sent] == [("B", 1), ("A", 2)]
    assert _sample(metrics, "leakmon_alerts_parked_total", notifier="rec") == 1
    assert outbox.outbox_depth() == 0


def test_a_refusal_does_not_pause_the_notifier(outbox, clock, metrics):
    refused = NotifyRefused("answered HTTP 422")
    notifier = RecordingNotifier(fail=lambda a: refused if a.key == "bad" else None)
    dispatcher = Dispatcher(outbox, {"rec": notifier}, metrics, clock=clock)
    outbox.add("rec", make_alert_for("bad", 1))
    for n in range(5):
        outbox.add("rec", make_alert_for(f"ok{n}", 1))

    dispatcher.run_once()

    assert len(notifier.sent) == 5  # a server error would have paused "rec" for all of them


def test_server_errors_are_retried_and_never_parked(outbox, clock, metrics):
    notifier = RecordingNotifier(fail=_always(NotifyError("answered HTTP 503")))
    dispatcher = Dispatcher(outbox, {"rec": notifier}, metrics, clock=clock)
    row = outbox.add("rec", make_alert_for("A", 1))

    for _ in range(50):
        dispatcher.run_once()
        clock.advance(61)

    assert row.parked_at is None
    assert notifier.calls >= 40


def test_set_notifiers_swaps_them_for_the_next_event(outbox, clock, metrics):
    old, new = RecordingNotifier("rec"), RecordingNotifier("rec")
    dispatcher = Dispatcher(outbox, {"rec": old}, metrics, clock=clock)
    outbox.add("rec", make_alert_for("A", 1))
    dispatcher.run_once()

    dispatcher.set_notifiers({"rec": new})
    outbox.add("rec", make_alert_for("B", 1))
    dispatcher.run_once()

    assert ([a.key for a in old.sent], [a.key for a in new.sent]) == (["A"], ["B"])


def make_alert_for(key: str, sequence: int, event: str = "opened") -> Alert:
    from tests.notifiers.conftest import _alert

    return _alert(key=key, sequence=sequence, event=event)
