"""PagerDuty: Events API v2 trigger and resolve, one incident per finding."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from pydantic import SecretStr

from monitor.config import NotifierConfig
from monitor.errors import ConfigError, NotConfigured, NotifyError
from monitor.models import Severity
from monitor.notifiers import PagerDutyNotifier
from monitor.notifiers.pagerduty import EVENTS_URL, MAX_EVENT_BYTES

ROUTING_KEY = "R0UTING-KEY-0123456789abcdef"


def _pd(url: str = "http://127.0.0.1:9/v2/enqueue") -> PagerDutyNotifier:
    return PagerDutyNotifier(ROUTING_KEY, url=url)


def test_opened_event_triggers(make_alert):
    alert = make_alert()
    body = _pd().event(alert)

    assert body["routing_key"] == ROUTING_KEY
    assert body["event_action"] == "trigger"
    assert body["dedup_key"] == alert.key
    payload = body["payload"]
    assert payload["source"] == "openjustice"
    assert payload["severity"] == "error"
    assert payload["timestamp"] == alert.occurred_at.isoformat()
    assert payload["component"] == "ccw_permits.csv"
    assert payload["group"] == "openjustice"
    assert "US_SSN" in payload["summary"]
    assert "ccw_permits.csv" in payload["summary"]
    details = payload["custom_details"]
    assert details["columns"] == ["first_name", "last_name", "ssn"]
    assert details["entities"] == ["PERSON", "US_SSN"]
    assert details["evidence"] == ["J*** S****", "***-**-6789"]
    assert details["resource_url"] == alert.resource_url
    assert details["open_findings"] == 2
    assert [f["entity"] for f in details["findings"]] == ["PERSON", "US_SSN"]
    assert "truncated" not in details
    assert {"href": alert.link, "text": "leakmon incident"} in body["links"]
    assert {"href": alert.resource_url, "text": "Published file"} in body["links"]


def test_resolved_event_resolves_the_same_incident(make_alert):
    opened = _pd().event(make_alert(key="f-77", sequence=1))
    resolved = _pd().event(make_alert(key="f-77", sequence=2, event="resolved"))

    assert resolved == {
        "routing_key": ROUTING_KEY,
        "event_action": "resolve",
        "dedup_key": "f-77",
    }
    assert opened["dedup_key"] == resolved["dedup_key"] == "f-77"


def test_dedup_key_is_stable_across_redeliveries_and_reopen(make_alert):
    keys = {
        _pd().event(
            make_alert(key="f-9", sequence=n, occurred_at=dt.datetime(2026, 1, n, tzinfo=dt.UTC))
        )["dedup_key"]
        for n in (1, 3, 5)
    }
    assert keys == {"f-9"}


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        (Severity.CRITICAL, "critical"),
        (Severity.HIGH, "error"),
        (Severity.MEDIUM, "warning"),
        (Severity.LOW, "info"),
    ],
)
def test_severity_mapping(make_alert, severity, expected):
    assert _pd().event(make_alert(severity=severity))["payload"]["severity"] == expected


def test_summary_is_capped_below_1024_chars(make_alert):
    body = _pd().event(make_alert(reason="x" * 5000, entities=tuple(["PERSON"] * 300)))
    summary = body["payload"]["summary"]
    assert len(summary) < 1024
    assert summary.endswith("…")


def test_short_summary_is_untouched(make_alert):
    summary = _pd().event(make_alert())["payload"]["summary"]
    assert summary == (
        "[high] 2 findings (PERSON, US_SSN) published in ccw_permits.csv (openjustice): "
        "Column ssn holds US social security numbers."
    )


def test_update_triggers_again_under_the_same_key(make_alert):
    body = _pd().event(make_alert(event="updated", sequence=2))

    assert (body["event_action"], body["dedup_key"]) == ("trigger", "f-0001")
    assert body["payload"]["summary"].startswith("Updated: [high] 2 findings")


def test_event_over_pagerdutys_size_limit_is_cut_with_counts(make_alert):
    """Thousands of long column names: the event is cut under 512 KB, saying how much."""
    columns = tuple(f"column_{n:05d}_" + "x" * 200 for n in range(5000))
    alert = make_alert(entities=("SCHEMA_DRIFT",), columns=columns, reason="columns added")
    assert len(json.dumps(alert.to_dict())) > 1_000_000

    body = _pd().body(alert)
    details = json.loads(body)["payload"]["custom_details"]

    assert len(body) <= MAX_EVENT_BYTES < 512 * 1000
    assert details["truncated"]["columns"] > 0
    shown = details["columns"]
    assert shown[-1] == f"… and {5000 - (len(shown) - 1):,} more columns"


def test_send_accepts_202(receiver, make_alert):
    receiver.respond(202, b'{"status":"success","message":"Event processed","dedup_key":"f-0001"}')
    notifier = _pd(receiver.url + "/v2/enqueue")
    alert = make_alert()
    notifier.send(alert)

    [got] = receiver.requests
    assert got.path == "/v2/enqueue"
    assert got.headers["Content-Type"] == "application/json"
    assert got.json() == notifier.event(alert)


@pytest.mark.parametrize("status", [400, 429, 500])
def test_rejection_raises_without_the_routing_key(receiver, make_alert, status):
    # An error body that echoes the key must not carry it into our logs.
    receiver.fail(1, status, body=f'{{"status":"invalid event","key":"{ROUTING_KEY}"}}'.encode())

    with pytest.raises(NotifyError, match=f"'pagerduty'.*HTTP {status}") as caught:
        _pd(receiver.url + "/v2/enqueue").send(make_alert())
    assert ROUTING_KEY not in str(caught.value)


def test_url_defaults_to_the_events_api():
    cfg = NotifierConfig(name="pd", kind="pagerduty", routing_key=SecretStr(ROUTING_KEY))
    notifier = PagerDutyNotifier.from_config(cfg)
    assert notifier._url == EVENTS_URL == "https://events.pagerduty.com/v2/enqueue"


def test_url_is_configurable(receiver, make_alert):
    receiver.respond(202)
    cfg = NotifierConfig(
        name="pd",
        kind="pagerduty",
        routing_key=SecretStr(ROUTING_KEY),
        url=SecretStr(receiver.url + "/v2/enqueue"),
    )
    PagerDutyNotifier.from_config(cfg).send(make_alert())
    assert receiver.requests[0].json()["routing_key"] == ROUTING_KEY


def test_from_config_without_routing_key_names_notifier_and_field():
    with pytest.raises(ConfigError, match=r"notifier 'pd' \(pagerduty\): routing_key: required"):
        PagerDutyNotifier.from_config(NotifierConfig(name="pd", kind="pagerduty"))


def test_from_config_with_empty_routing_key_is_switched_off():
    cfg = NotifierConfig(name="pd", kind="pagerduty", routing_key=SecretStr(""))
    with pytest.raises(NotConfigured):
        PagerDutyNotifier.from_config(cfg)


def test_repr_hides_routing_key():
    assert ROUTING_KEY not in repr(_pd())
