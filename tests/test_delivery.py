"""Delivery through the real store and notifiers: one incident per file, every event once, in order.

Receivers are real HTTP servers on 127.0.0.1 and the real webhook, Slack and
PagerDuty notifiers send to them; only the dispatcher's clock is simulated.
"""

from __future__ import annotations

import datetime as dt
import json
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
        # One incident (one file): opened with a, b added, a resolved, a back; in order.
        assert [(b["event"], b["sequence"]) for b in bodies] == [
            ("opened", 1),
            ("updated", 2),
            ("updated", 3),
            ("updated", 4),
        ]
        assert len({b["key"] for b in bodies}) == 1
        changes = [{f["columns"][0]: f["change"] for f in b["findings"]} for b in bodies]
        assert changes == [
            {"a": "opened"},
            {"a": None, "b": "opened"},
            {"a": "resolved", "b": None},
            {"a": "opened", "b": None},
        ]
    finally:
        if receiver is not None:
            receiver.stop()


_CCW_COLUMNS = (
    ("first_name", "PERSON", Severity.HIGH),
    ("last_name", "PERSON", Severity.HIGH),
    ("dob", "DATE_OF_BIRTH", Severity.HIGH),
    ("street", "ADDRESS", Severity.HIGH),
    ("license_no", "US_DRIVER_LICENSE", Severity.CRITICAL),
    ("phone", "PHONE_NUMBER", Severity.MEDIUM),
)


def _ccw(*extra: Finding) -> list[Finding]:
    return [
        Finding(
            file=URL,
            table=None,
            column=column,
            entity=entity,
            severity=severity,
            score=0.9,
            matched=300,
            scanned=300,
            evidence=(f"{column[:1].upper()}***",),
            reason=f"Column {column} holds {entity}.",
        )
        for column, entity, severity in _CCW_COLUMNS
    ] + list(extra)


def test_each_notifier_hears_one_event_per_incident_change(tmp_path: Path) -> None:
    """A CCW-like file with 6 findings: 1 open, 1 update for an added finding, 1 resolve.

    Counted at three real receivers (webhook, Slack, PagerDuty's Events API shape),
    each reached through its real notifier over HTTP on 127.0.0.1.
    """
    receivers = {name: HoldingReceiver().start() for name in ("hook", "chat", "pager")}
    receivers["pager"].status = 202
    try:
        settings = Settings.model_validate(
            {
                "notify": [
                    {"name": "hook", "kind": "webhook", "url": receivers["hook"].url},
                    {"name": "chat", "kind": "slack", "url": receivers["chat"].url},
                    {
                        "name": "pager",
                        "kind": "pagerduty",
                        "routing_key": "R0UTING-KEY-0123456789abcdef",
                        "url": receivers["pager"].url,
                    },
                ],
            }
        )
        store = Store(f"sqlite:///{tmp_path / 'state.db'}")
        store.migrate()
        router = AlertRouter(settings)
        dispatcher = Dispatcher(store, build_notifiers(settings.notify), Metrics())

        def counts() -> dict[str, int]:
            dispatcher.run_once()
            return {name: len(r.posts) for name, r in receivers.items()}

        store.apply_findings("openjustice", URL, _ccw(), T0, router)
        assert counts() == {"hook": 1, "chat": 1, "pager": 1}
        store.apply_findings("openjustice", URL, _ccw(), T0 + dt.timedelta(minutes=5), router)
        assert counts() == {"hook": 1, "chat": 1, "pager": 1}  # unchanged file: nothing
        ssn = Finding(
            file=URL,
            table=None,
            column="ssn",
            entity="US_SSN",
            severity=Severity.CRITICAL,
            score=1.0,
            matched=300,
            scanned=300,
            evidence=("***-**-1234",),
            reason="Column ssn holds US social security numbers.",
        )
        store.apply_findings("openjustice", URL, _ccw(ssn), T0 + dt.timedelta(minutes=10), router)
        assert counts() == {"hook": 2, "chat": 2, "pager": 2}
        store.resolve_resource(
            "openjustice",
            URL,
            T0 + dt.timedelta(minutes=15),
            router,
            reason="file removed (HTTP 404)",
        )
        assert counts() == {"hook": 3, "chat": 3, "pager": 3}

        hook = [p.json() for p in receivers["hook"].posts]
        assert [(b["event"], b["open_findings"]) for b in hook] == [
            ("opened", 6),
            ("updated", 7),
            ("resolved", 0),
        ]
        assert len(hook[0]["findings"]) == 6  # per-finding detail in the JSON payload
        pager = [json.loads(p.body) for p in receivers["pager"].posts]
        assert [e["event_action"] for e in pager] == ["trigger", "trigger", "resolve"]
        assert len({e["dedup_key"] for e in pager}) == 1  # one dedup_key per file
        assert pager[0]["dedup_key"] == hook[0]["key"]
        chat = [json.loads(p.body)["text"] for p in receivers["chat"].posts]
        assert chat[0].startswith("[CRITICAL]")
        assert "Updated" in chat[1]
        assert chat[2].startswith("[RESOLVED]")
        assert len(store.findings()) == 7  # per-finding detail stays in the database
    finally:
        for receiver in receivers.values():
            receiver.stop()
