from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from monitor.models import Severity
from tests.store.fakes import TARGET, URL, FakeRouter, finding, minutes

if TYPE_CHECKING:
    from monitor.store import Store


def test_one_row_per_recipient_is_queued_with_the_change(store: Store) -> None:
    router = FakeRouter(floors={"hook": Severity.LOW, "pager": Severity.CRITICAL})

    store.apply_findings(TARGET, URL, [finding(severity=Severity.HIGH)], minutes(0), router)
    assert [i.notifier for i in store.due(minutes(0))] == ["hook"]

    store.apply_findings(TARGET, URL, [finding(severity=Severity.CRITICAL)], minutes(1), router)
    assert store.outbox_depth() == 3


def test_queued_alert_round_trips_exactly(store: Store, router: FakeRouter) -> None:
    [alert] = store.apply_findings(TARGET, URL, [finding(table="Sheet1")], minutes(0), router)

    [item] = store.due(minutes(0))

    assert item.alert == alert
    assert (item.notifier, item.attempts, item.created_at) == ("hook", 0, minutes(0))


def test_failure_mid_transaction_writes_nothing(store: Store) -> None:
    router = FakeRouter(explode_after=1)
    two = [finding(), finding(column="name", entity="PERSON")]

    with pytest.raises(RuntimeError, match="router failed"):
        store.apply_findings(TARGET, URL, two, minutes(0), router)

    assert store.findings() == []
    assert store.outbox_depth() == 0
    assert store.resource(URL) is None
    assert store.audit_log() == []


def test_rolled_back_resolution_leaves_the_finding_open(store: Store, router: FakeRouter) -> None:
    store.apply_findings(TARGET, URL, [finding()], minutes(0), router)
    [key] = [r.key for r in store.findings()]

    with pytest.raises(RuntimeError):
        store.apply_findings(TARGET, URL, [], minutes(5), FakeRouter(explode_after=0))

    assert [r.status for r in store.findings()] == ["open"]
    assert len(store.finding_events(key)) == 1
    assert store.outbox_depth() == 1


def test_due_hands_out_one_row_per_finding_and_the_next_after_delivery(
    store: Store, router: FakeRouter
) -> None:
    store.apply_findings(TARGET, URL, [finding()], minutes(0), router)
    store.apply_findings(TARGET, URL, [], minutes(1), router)
    store.apply_findings(TARGET, URL, [finding()], minutes(2), router)
    other = finding(column="email", entity="EMAIL_ADDRESS")
    store.apply_findings(TARGET, URL + "2", [other], minutes(3), router)

    first = store.due(minutes(10))
    assert [(i.alert.resource_url, i.alert.sequence) for i in first] == [(URL, 1), (URL + "2", 1)]

    store.delivered(first[0].id, minutes(11))
    second = store.due(minutes(11))
    assert [(i.alert.event, i.alert.sequence) for i in second] == [("resolved", 2), ("opened", 1)]

    store.delivered(second[0].id, minutes(12))
    store.delivered(second[1].id, minutes(12))
    assert [(i.alert.event, i.alert.sequence) for i in store.due(minutes(12))] == [("opened", 3)]


def test_each_notifier_has_its_own_queue(store: Store) -> None:
    router = FakeRouter(floors={"hook": Severity.LOW, "slack": Severity.LOW})
    store.apply_findings(TARGET, URL, [finding()], minutes(0), router)
    store.apply_findings(TARGET, URL, [], minutes(1), router)
    hook, _slack = store.due(minutes(1))

    store.delivered(hook.id, minutes(2))

    assert [(i.notifier, i.alert.sequence) for i in store.due(minutes(2))] == [
        ("slack", 1),
        ("hook", 2),
    ]


def test_failed_delivery_keeps_the_row_and_backs_off(store: Store, router: FakeRouter) -> None:
    store.apply_findings(TARGET, URL, [finding()], minutes(0), router)
    [item] = store.due(minutes(0))

    store.failed(item.id, minutes(1), "HTTP 503 " + "x" * 5000, next_attempt_at=minutes(3))

    assert store.due(minutes(2)) == []
    assert store.outbox_depth() == 1
    [retry] = store.due(minutes(3))
    assert (retry.id, retry.attempts) == (item.id, 1)
    assert retry.last_error is not None
    assert retry.last_error.startswith("HTTP 503 ")
    assert len(retry.last_error) <= 300


def test_later_events_wait_behind_a_backing_off_one(store: Store, router: FakeRouter) -> None:
    store.apply_findings(TARGET, URL, [finding()], minutes(0), router)
    [opened] = store.due(minutes(0))
    store.failed(opened.id, minutes(1), "timeout", next_attempt_at=minutes(30))
    store.apply_findings(TARGET, URL, [], minutes(2), router)

    assert store.due(minutes(5)) == []


def test_endpoint_down_for_ten_minutes_gets_every_event_once_in_order(
    store: Store, router: FakeRouter
) -> None:
    store.apply_findings(TARGET, URL, [finding()], minutes(0), router)
    store.apply_findings(TARGET, URL, [], minutes(1), router)
    store.apply_findings(TARGET, URL, [finding()], minutes(2), router)
    received: list[tuple[str, int]] = []

    for minute in range(21):  # the dispatcher polls every minute; the endpoint is down until 10
        now = minutes(minute)
        for item in store.due(now):
            if minute < 10:
                store.failed(
                    item.id, now, "connection refused", next_attempt_at=minutes(minute + 1)
                )
            else:
                received.append((item.alert.event, item.alert.sequence))
                store.delivered(item.id, now)

    assert received == [("opened", 1), ("resolved", 2), ("opened", 3)]
    assert store.outbox_depth() == 0


def test_delivering_twice_changes_nothing(store: Store, router: FakeRouter) -> None:
    store.apply_findings(TARGET, URL, [finding()], minutes(0), router)
    [item] = store.due(minutes(0))

    store.delivered(item.id, minutes(1))
    store.delivered(item.id, minutes(2))

    assert store.outbox_depth() == 0
    assert store.due(minutes(3)) == []


def test_due_respects_limit(store: Store, router: FakeRouter) -> None:
    for n in range(5):
        store.apply_findings(TARGET, f"{URL}?n={n}", [finding()], minutes(n), router)

    assert len(store.due(minutes(10), limit=3)) == 3


def test_prune_deletes_only_old_delivered_rows(store: Store, router: FakeRouter) -> None:
    store.apply_findings(TARGET, URL, [finding()], minutes(0), router)
    store.apply_findings(TARGET, URL, [], minutes(1), router)
    [opened] = store.due(minutes(1))
    store.delivered(opened.id, minutes(2))

    assert store.prune_outbox(delivered_before=minutes(2)) == 0
    assert store.prune_outbox(delivered_before=minutes(60)) == 1
    assert [(i.alert.event, i.alert.sequence) for i in store.due(minutes(60))] == [("resolved", 2)]
    assert store.outbox_depth() == 1
