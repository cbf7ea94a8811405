from __future__ import annotations

from typing import TYPE_CHECKING

from tests.store.fakes import TARGET, URL, finding, minutes

if TYPE_CHECKING:
    from monitor.store import Store
    from tests.store.fakes import FakeRouter

_REASON = "allow-listed: published on purpose (until 2027-01-01)"


def test_allowed_finding_raises_no_alert_and_is_audited_once(
    store: Store, router: FakeRouter
) -> None:
    router.allow["US_SSN"] = _REASON

    first = store.apply_findings(TARGET, URL, [finding()], minutes(0), router)
    second = store.apply_findings(TARGET, URL, [finding(matched=12)], minutes(5), router)

    assert (first, second) == ([], [])
    assert store.outbox_depth() == 0
    [record] = store.findings()
    assert (record.status, record.allow_reason, record.matched) == ("allowed", _REASON, 12)
    assert store.findings(open_only=True) == []
    assert store.open_counts() == {}
    [entry] = store.audit_log()
    assert (entry.actor, entry.action) == ("leakmon", "finding.allowed")
    assert entry.detail["key"] == record.key
    assert entry.detail["reason"] == _REASON
    assert entry.detail["entity"] == "US_SSN"


def test_open_finding_that_becomes_allowed_resolves_its_alert(
    store: Store, router: FakeRouter
) -> None:
    store.apply_findings(TARGET, URL, [finding()], minutes(0), router)
    router.allow["US_SSN"] = _REASON

    alerts = store.apply_findings(TARGET, URL, [finding()], minutes(5), router)

    assert [(a.event, a.sequence, a.reason) for a in alerts] == [("resolved", 2, _REASON)]
    [record] = store.findings()
    assert record.status == "allowed"
    assert [(e.event, e.alert) for e in store.finding_events(record.key)] == [
        ("opened", "opened"),
        ("allowed", "resolved"),
    ]


def test_allowed_finding_opens_when_its_rule_expires(store: Store, router: FakeRouter) -> None:
    router.allow["US_SSN"] = _REASON
    store.apply_findings(TARGET, URL, [finding()], minutes(0), router)
    router.allow.clear()

    alerts = store.apply_findings(TARGET, URL, [finding()], minutes(5), router)

    assert [(a.event, a.sequence) for a in alerts] == [("opened", 1)]
    assert [r.status for r in store.findings()] == ["open"]


def test_allowed_finding_that_disappears_resolves_silently(
    store: Store, router: FakeRouter
) -> None:
    router.allow["US_SSN"] = _REASON
    store.apply_findings(TARGET, URL, [finding()], minutes(0), router)

    assert store.apply_findings(TARGET, URL, [], minutes(5), router) == []
    assert [r.status for r in store.findings()] == ["resolved"]
    assert store.outbox_depth() == 0


def test_allow_list_covers_only_matching_findings(store: Store, router: FakeRouter) -> None:
    router.allow["PERSON"] = _REASON

    alerts = store.apply_findings(
        TARGET, URL, [finding(), finding(column="name", entity="PERSON")], minutes(0), router
    )

    assert [a.entities for a in alerts] == [("US_SSN",)]
