"""No raw matched value reaches a receiver or a log: notifiers send only what the Alert holds."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from monitor.masking import mask
from monitor.models import Severity
from monitor.notifiers import Dispatcher, PagerDutyNotifier, SlackNotifier, WebhookNotifier

# Synthetic values only: a made-up name, the reserved example.org domain, a 555-01xx
# fictional phone number, and an SSN from the never-issued 9xx area.
RAW = {
    "PERSON": "Jordan Testperson",
    "EMAIL_ADDRESS": "jordan.testperson@example.org",
    "US_SSN": "900-12-3456",
    "PHONE_NUMBER": "(555) 010-4477",
    "DATE_OF_BIRTH": "1984-07-19",
}
#: Pieces of the raw values that a careless notifier could leak on their own.
FRAGMENTS = ["Testperson", "jordan.testperson", "900-12", "010-44", "1984-07-19", "07-19"]


@pytest.fixture
def masked_alert(make_alert):
    def build(**overrides):
        values = {
            "entities": tuple(RAW),
            "evidence": tuple(mask(value, entity) for entity, value in RAW.items()),
            "severity": Severity.CRITICAL,
        }
        values.update(overrides)
        return make_alert(**values)

    return build


def _everything_received(receiver) -> str:
    parts = []
    for request in receiver.requests:
        parts.append(request.path)
        parts.extend(f"{k}: {v}" for k, v in request.headers.items())
        parts.append(request.body.decode("utf-8"))
    return "\n".join(parts)


def _assert_no_raw(text: str) -> None:
    for value in [*RAW.values(), *FRAGMENTS]:
        assert value not in text, f"raw value {value!r} leaked"


def test_masked_evidence_is_what_the_alert_holds(masked_alert):
    evidence = masked_alert().evidence
    _assert_no_raw(" ".join(evidence))
    assert "J***** T*********" in evidence


@pytest.mark.parametrize(
    "notifier",
    [
        lambda url: WebhookNotifier(url, secret="k"),
        lambda url: SlackNotifier(url),
        lambda url: PagerDutyNotifier("routing-key", url=url),
    ],
    ids=["webhook", "slack", "pagerduty"],
)
def test_receivers_get_only_masked_values(receiver, masked_alert, notifier):
    sender = notifier(receiver.url + "/in")
    sender.send(masked_alert())
    sender.send(masked_alert(event="resolved", sequence=2))

    received = _everything_received(receiver)
    _assert_no_raw(received)
    assert "J***** T*********" in received


def test_failures_and_logs_carry_no_raw_values(receiver, masked_alert, clock, caplog):
    class OneItemOutbox:
        def __init__(self, item):
            self.item = item
            self.errors = []

        def due(self, now, limit=100):
            return [] if self.errors else [self.item]

        def delivered(self, item_id, at):
            raise AssertionError("the receiver refused it")

        def failed(self, item_id, at, error, next_attempt_at):
            self.errors.append(error)

        def outbox_depth(self):
            return 1

    alert = masked_alert()
    item = SimpleNamespace(id=1, notifier="hook", alert=alert, attempts=0, created_at=clock())
    outbox = OneItemOutbox(item)
    # A receiver that echoes our body back in its error page.
    receiver.fail(1, 422, body=WebhookNotifier("http://x").body(alert))
    notifiers = {"hook": WebhookNotifier(receiver.url, name="hook")}

    with caplog.at_level(logging.DEBUG):
        Dispatcher(outbox, notifiers, clock=clock).run_once()

    assert outbox.errors
    assert "HTTP 422" in outbox.errors[0]
    _assert_no_raw("\n".join(outbox.errors))
    _assert_no_raw(caplog.text)
