"""Delivery through the real store: a receiver down ten minutes gets every event, once, in order."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from monitor.alerts import AlertRouter
from monitor.config import Settings
from monitor.metrics import Metrics
from monitor.models import Finding, Severity
from monitor.notifiers import Dispatcher, build_notifiers
from monitor.standin import Receiver
from monitor.store import Store

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


def test_endpoint_down_ten_minutes_receives_everything_once_in_order(tmp_path: Path) -> None:
    receiver = Receiver().start()
    try:
        settings = Settings.model_validate(
            {
                "notify": [
                    {
                        "name": "hook",
                        "kind": "webhook",
                        "url": receiver.url,
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
        dispatcher = Dispatcher(
            store, build_notifiers(settings.notify), Metrics(), clock=lambda: now[0]
        )
        receiver.fail_with = 500
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
        receiver.fail_with = None
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
        receiver.stop()
