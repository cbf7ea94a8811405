"""Slack: incoming-webhook messages with text and blocks; resolved events say so."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr

from monitor.config import NotifierConfig
from monitor.errors import ConfigError, NotConfigured, NotifyError
from monitor.models import Severity
from monitor.notifiers import SlackNotifier

HOOK_PATH = "/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"


def _all_text(message):
    """Return every string in the message, joined, to search in."""
    return json.dumps(message, ensure_ascii=False)


def test_message_has_text_and_blocks(make_alert):
    message = SlackNotifier("https://hooks.example.com/x").message(make_alert())

    assert set(message) == {"text", "blocks"}
    assert message["text"].startswith("[HIGH]")
    assert "ccw_permits.csv" in message["text"]
    types = [b["type"] for b in message["blocks"]]
    assert types[0] == "header"
    assert "section" in types
    assert "actions" in types


def test_message_carries_every_fact(make_alert):
    alert = make_alert()
    text = _all_text(SlackNotifier("https://hooks.example.com/x").message(alert))

    for fact in (
        "HIGH",
        "openjustice",
        alert.resource_url,
        "first_name",
        "last_name",
        "`ssn`",
        "PERSON",
        "US_SSN",
        "`J*** S****`",
        "`***-**-6789`",
        alert.reason,
        "120",
        "Open findings",
        "100 cells",
        alert.link,
    ):
        assert fact in text, fact


def test_a_table_is_named(make_alert):
    text = _all_text(
        SlackNotifier("https://hooks.example.com/x").message(make_alert(table="Sheet1"))
    )

    assert "`Sheet1`" in text


def test_updated_event_says_so_first(make_alert):
    message = SlackNotifier("https://hooks.example.com/x").message(
        make_alert(event="updated", sequence=2, reason="1 added; 2 finding(s) open")
    )

    assert message["blocks"][0]["text"]["text"].startswith("Updated, HIGH: 2 findings")


def test_huge_incident_fits_slacks_limits_with_counts(make_alert):
    columns = tuple(f"column_{n:05d}_" + "x" * 100 for n in range(5000))
    alert = make_alert(entities=tuple(["PERSON"] * 400), columns=columns)

    body = SlackNotifier("https://hooks.example.com/x").body(alert)
    message = json.loads(body)

    assert len(body) <= 12_000
    assert len(message["blocks"]) <= 50
    for block in message["blocks"]:
        for field in block.get("fields", []):
            assert len(field["text"]) <= 2000
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= 3000
    text = _all_text(message)
    assert "more columns" in text
    assert "more findings" in text


def test_resolved_event_says_resolved(make_alert):
    message = SlackNotifier("https://hooks.example.com/x").message(
        make_alert(event="resolved", sequence=2, reason="file removed (HTTP 404)")
    )

    assert message["text"].startswith("[RESOLVED]")
    assert message["blocks"][0]["text"]["text"].startswith("Resolved:")
    assert "file removed" in _all_text(message)


def test_opened_event_does_not_say_resolved(make_alert):
    message = SlackNotifier("https://hooks.example.com/x").message(make_alert())
    assert "resolved" not in message["text"].lower()


@pytest.mark.parametrize("severity", list(Severity))
def test_severity_shown_in_upper_case(make_alert, severity):
    message = SlackNotifier("https://hooks.example.com/x").message(make_alert(severity=severity))
    assert message["text"].startswith(f"[{str(severity).upper()}]")


def test_markup_in_values_is_escaped(make_alert):
    alert = make_alert(
        reason="Column <b>notes</b> & <!channel> hold names",
        columns=("a`b", "<x>"),
        resource_url="https://data.example.gov/get?id=1&fmt=csv|x",
    )
    message = SlackNotifier("https://hooks.example.com/x").message(alert)
    text = _all_text(message)

    assert "<!channel>" not in text
    assert "&lt;!channel&gt;" in text
    assert "&amp;" in text
    assert "`a'b`" in text
    file_block = next(
        b["text"]["text"]
        for b in message["blocks"]
        if "*File*" in b.get("text", {}).get("text", "")
    )
    assert "id=1&amp;fmt=csv%7Cx|" in file_block


def test_long_values_are_cut_to_slack_limits(make_alert):
    alert = make_alert(reason="r" * 10_000, evidence=tuple(f"J*** S{i}***" for i in range(5)))
    message = SlackNotifier("https://hooks.example.com/x").message(alert)

    assert len(message["text"]) <= 3000
    for block in message["blocks"]:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= 3000
        for f in block.get("fields", []):
            assert len(f["text"]) <= 2000


def test_no_link_no_button(make_alert):
    message = SlackNotifier("https://hooks.example.com/x").message(make_alert(link=None))
    assert "actions" not in [b["type"] for b in message["blocks"]]


def test_send_posts_the_message(receiver, make_alert):
    notifier = SlackNotifier(receiver.url + HOOK_PATH)
    alert = make_alert()
    notifier.send(alert)

    [got] = receiver.requests
    assert got.path == HOOK_PATH
    assert got.headers["Content-Type"] == "application/json"
    assert got.json() == notifier.message(alert)


def test_slack_error_raises_without_the_hook_path(receiver, make_alert):
    receiver.fail(1, 404, body=b"no_service")

    with pytest.raises(NotifyError, match=r"'alerts'.*HTTP 404: no_service") as caught:
        SlackNotifier(receiver.url + HOOK_PATH, name="alerts").send(make_alert())
    assert "XXXXXXXX" not in str(caught.value)
    assert "T00000000" not in str(caught.value)


def test_from_config(receiver, make_alert):
    cfg = NotifierConfig(name="alerts", kind="slack", url=SecretStr(receiver.url + HOOK_PATH))
    notifier = SlackNotifier.from_config(cfg)
    notifier.send(make_alert())

    assert notifier.name == "alerts"
    assert receiver.requests[0].path == HOOK_PATH


def test_from_config_without_url_names_notifier_and_field():
    with pytest.raises(ConfigError, match=r"notifier 'alerts' \(slack\): url: required"):
        SlackNotifier.from_config(NotifierConfig(name="alerts", kind="slack"))


def test_from_config_with_empty_url_is_switched_off():
    with pytest.raises(NotConfigured):
        SlackNotifier.from_config(NotifierConfig(name="alerts", kind="slack", url=SecretStr(" ")))
