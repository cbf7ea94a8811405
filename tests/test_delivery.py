"""Delivery through the real store: a receiver down ten minutes gets every event, once, in order."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pytest

from monitor.alerts import AlertRouter
from monitor.config import Settings
from monitor.metrics import Metrics
from monitor.models import Finding, Severity
from monitor.notifiers import Dispatcher, build_notifiers
from monitor.store import Store
from tests.faults.harness import HoldingReceiver
from tests.net import free_port

if TYPE_CHECKING:
    from pathlib import Path

T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
URL = "https://data.example.gov/files/export.csv"


def _finding(column: str, severity: Severity = Severity.HIGH) -> Finding:
    return Finding(
        file=URL,
        table=None,
        column=column,
        entity="PERSON",
        severity=severity,
        score=0.9,
        matched=5,
        scanned=5,
        evidence=("J*** S****",),
        reason="names",
    )


@pytest.mark.parametrize("outage", ["http_500", "connection_refused"])
def test_endpoint_down_ten_minutes_receives_everything_once_in_order(
    tmp_path: Path, outage: str
) -> None:
    """Ten minutes of a failing endpoint, then every event once, in order per finding.

    The receiver is a real HTTP server on 127.0.0.1 and the real webhook notifier
    sends to it; only the dispatcher's clock is simulated (each ``run_once`` is
    ten simulated seconds), so ten minutes of backoff take a second of real time.
    ``http_500``: the endpoint answers every POST with 500. ``connection_refused``:
    nothing listens on its port until it comes back, on the same port.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    # Refused: not even bound (a bound socket would accept into its backlog and time out).
    receiver = HoldingReceiver(port) if outage == "http_500" else None
    if receiver is not None:
        receiver.status = 500
        receiver.start()
    try:
        settings = Settings.model_validate(
            {
                "notify": [
                    {
                        "name": "hook",
                        "kind": "webhook",
                        "url": url,
                        "min_severity": "low",
                        "timeout": 2,
                    }
                ],
            }
        )
        store = Store(f"sqlite:///{tmp_path / 'state.db'}")
        store.migrate()
        router = AlertRouter(settings)
        now = [T0]
        metrics = Metrics()
        dispatcher = Dispatcher(
            store, build_notifiers(settings.notify), metrics, clock=lambda: now[0]
        )
        # Opened, escalated, resolved, reopened while the endpoint is down.
        store.apply_findings("t", URL, [_finding("a")], now[0], router)
        store.apply_findings("t", URL, [_finding("a"), _finding("b")], now[0], router)
        store.apply_findings("t", URL, [_finding("b")], now[0], router)
        store.apply_findings("t", URL, [_finding("a"), _finding("b")], now[0], router)
        sent = 0
        for _ in range(60):  # ten minutes of attempts, ten seconds apart
            now[0] += dt.timedelta(seconds=10)
            sent += dispatcher.run_once()
        assert sent == 0
        assert store.outbox_depth() == 4
        failed = metrics.notifications.labels("hook", "failed")._value.get()
        assert failed >= 10  # it kept trying (backoff capped at 60 s), not gave up
        if receiver is not None:
            assert len(receiver.posts) == failed  # every failed attempt was a real POST
            receiver.posts.clear()
            receiver.status = 200
        else:
            receiver = HoldingReceiver(port).start()
        errors = {item.last_error for item in store.due(now[0] + dt.timedelta(days=1))}
        assert all(("HTTP 500" if outage == "http_500" else "refused") in e for e in errors)
        for _ in range(30):  # the endpoint is back: within five simulated minutes
            now[0] += dt.timedelta(seconds=10)
            dispatcher.run_once()
        bodies = [p.json() for p in receiver.posts]
        assert store.outbox_depth() == 0
        deliveries = [p.headers["X-Leakmon-Delivery"] for p in receiver.posts]
        assert len(deliveries) == len(set(deliveries)) == 4
        events_a = [(b["event"], b["sequence"]) for b in bodies if b["columns"] == ["a"]]
        assert events_a == [("opened", 1), ("resolved", 2), ("opened", 3)]
        assert [b["event"] for b in bodies if b["columns"] == ["b"]] == ["opened"]
    finally:
        if receiver is not None:
            receiver.stop()
