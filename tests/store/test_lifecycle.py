from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from monitor.models import Severity
from monitor.store import finding_key, incident_key
from tests.store.fakes import TARGET, URL, finding, minutes

if TYPE_CHECKING:
    from monitor.store import Store
    from tests.store.fakes import FakeRouter


def test_new_finding_opens_with_event_and_alert(store: Store, router: FakeRouter) -> None:
    f = finding()
    alerts = store.apply_findings(TARGET, URL, [f], minutes(0), router)

    key = finding_key(TARGET, URL, f)
    incident = incident_key(TARGET, URL)
    assert [(a.event, a.key, a.sequence, a.severity) for a in alerts] == [
        ("opened", incident, 1, Severity.HIGH)
    ]
    alert = alerts[0]
    assert alert.target == TARGET
    assert alert.resource_url == URL
    assert [(x.key, x.status, x.change) for x in alert.findings] == [(key, "open", "opened")]
    assert alert.columns == ("ssn",)
    assert alert.entities == ("US_SSN",)
    assert alert.evidence == ("***-**-9999",)
    assert alert.matched == 10
    assert alert.link == f"https://leakmon.example/findings/{incident}"
    [record] = store.findings()
    assert (record.key, record.status, record.opened_at) == (key, "open", minutes(0))
    assert record.resolved_at is None
    assert [(e.sequence, e.event, e.alert) for e in store.finding_events(key)] == [
        (1, "opened", "opened")
    ]


def test_apply_creates_the_resource_when_the_crawler_never_touched_it(
    store: Store, router: FakeRouter
) -> None:
    store.apply_findings(
        TARGET, URL, [finding(entity="FILE_LIMIT", column=None)], minutes(0), router
    )

    state = store.resource(URL)
    assert state is not None
    assert (state.target, state.first_seen) == (TARGET, minutes(0))


def test_open_finding_seen_again_is_updated_without_event(store: Store, router: FakeRouter) -> None:
    store.apply_findings(TARGET, URL, [finding()], minutes(0), router)

    again = finding(matched=25, scanned=40, evidence=("***-**-1111",), score=0.95)
    alerts = store.apply_findings(TARGET, URL, [again], minutes(5), router)

    assert alerts == []
    [record] = store.findings()
    assert (record.matched, record.scanned, record.evidence) == (25, 40, ("***-**-1111",))
    assert record.last_seen_at == minutes(5)
    assert record.opened_at == minutes(0)
    assert len(store.finding_events(record.key)) == 1


def test_rising_severity_updates_the_incident_with_next_sequence(
    store: Store, router: FakeRouter
) -> None:
    store.apply_findings(TARGET, URL, [finding(severity=Severity.MEDIUM)], minutes(0), router)

    alerts = store.apply_findings(
        TARGET, URL, [finding(severity=Severity.CRITICAL)], minutes(5), router
    )

    assert [(a.event, a.sequence, a.severity) for a in alerts] == [
        ("updated", 2, Severity.CRITICAL)
    ]
    assert [f.change for f in alerts[0].findings] == ["escalated"]


def test_severity_wobbling_below_the_announced_peak_pages_once(
    store: Store, router: FakeRouter
) -> None:
    store.apply_findings(TARGET, URL, [finding(severity=Severity.CRITICAL)], minutes(0), router)

    lower = store.apply_findings(TARGET, URL, [finding(severity=Severity.HIGH)], minutes(5), router)
    back = store.apply_findings(
        TARGET, URL, [finding(severity=Severity.CRITICAL)], minutes(10), router
    )

    assert (lower, back) == ([], [])
    [record] = store.findings()
    assert record.severity == Severity.CRITICAL


def test_finding_absent_from_the_scan_resolves_with_peak_severity(
    store: Store, router: FakeRouter
) -> None:
    f = finding(severity=Severity.CRITICAL)
    store.apply_findings(TARGET, URL, [f], minutes(0), router)
    store.apply_findings(TARGET, URL, [finding(severity=Severity.HIGH)], minutes(5), router)

    alerts = store.apply_findings(TARGET, URL, [], minutes(10), router)

    assert [(a.event, a.sequence, a.severity) for a in alerts] == [
        ("resolved", 2, Severity.CRITICAL)
    ]
    assert alerts[0].reason == "no longer found in the latest scan"
    [record] = store.findings()
    assert (record.status, record.resolved_at) == ("resolved", minutes(10))
    assert store.findings(open_only=True) == []


def test_resolved_finding_that_reappears_reopens_with_next_sequence(
    store: Store, router: FakeRouter
) -> None:
    store.apply_findings(TARGET, URL, [finding()], minutes(0), router)
    store.apply_findings(TARGET, URL, [], minutes(5), router)

    alerts = store.apply_findings(TARGET, URL, [finding()], minutes(10), router)

    assert [(a.event, a.sequence) for a in alerts] == [("opened", 3)]
    [record] = store.findings()
    assert (record.status, record.opened_at, record.resolved_at) == ("open", minutes(10), None)
    events = store.finding_events(record.key)
    assert [(e.sequence, e.event, e.occurred_at) for e in events] == [
        (1, "opened", minutes(0)),
        (2, "resolved", minutes(5)),
        (3, "opened", minutes(10)),
    ]


def test_resolved_finding_stays_quiet_while_absent(store: Store, router: FakeRouter) -> None:
    store.apply_findings(TARGET, URL, [finding()], minutes(0), router)
    store.apply_findings(TARGET, URL, [], minutes(5), router)

    assert store.apply_findings(TARGET, URL, [], minutes(10), router) == []


def test_a_finding_that_leaves_an_open_incident_updates_it(
    store: Store, router: FakeRouter
) -> None:
    ssn = finding()
    email = finding(column="email", entity="EMAIL_ADDRESS", evidence=("j***@e***.org",))
    store.apply_findings(TARGET, URL, [ssn, email], minutes(0), router)

    alerts = store.apply_findings(TARGET, URL, [email], minutes(5), router)

    assert [(a.event, a.entities) for a in alerts] == [("updated", ("EMAIL_ADDRESS",))]
    assert [f.entity for f in alerts[0].changed("resolved")] == ["US_SSN"]
    assert {r.entity: r.status for r in store.findings()} == {
        "US_SSN": "resolved",
        "EMAIL_ADDRESS": "open",
    }


def test_resolve_resource_resolves_every_open_finding(store: Store, router: FakeRouter) -> None:
    store.apply_findings(
        TARGET, URL, [finding(), finding(column="name", entity="PERSON")], minutes(0), router
    )

    alerts = store.resolve_resource(
        TARGET, URL, minutes(5), router, reason="file removed (HTTP 404)"
    )

    assert [(a.event, a.reason) for a in alerts] == [("resolved", "file removed (HTTP 404)")]
    assert [f.change for f in alerts[0].findings] == ["resolved", "resolved"]
    assert store.findings(open_only=True) == []
    assert store.resolve_resource(TARGET, URL, minutes(6), router) == []


def test_resolve_resource_of_an_unknown_file_does_nothing(store: Store, router: FakeRouter) -> None:
    assert store.resolve_resource(TARGET, "https://nowhere.example/x.csv", minutes(0), router) == []


def test_same_key_twice_in_one_scan_keeps_the_worst(store: Store, router: FakeRouter) -> None:
    alerts = store.apply_findings(
        TARGET,
        URL,
        [finding(severity=Severity.MEDIUM), finding(severity=Severity.CRITICAL)],
        minutes(0),
        router,
    )

    assert [a.severity for a in alerts] == [Severity.CRITICAL]


def test_key_is_stable_and_separates_resource_column_and_entity() -> None:
    base = finding()
    assert finding_key(TARGET, URL, base) == finding_key(TARGET, URL, finding(matched=99))
    assert len(finding_key(TARGET, URL, base)) == 64
    variants = {
        finding_key(TARGET, URL, base),
        finding_key("other", URL, base),
        finding_key(TARGET, URL + "?v=2", base),
        finding_key(TARGET, URL, finding(table="Sheet1")),
        finding_key(TARGET, URL, finding(column="ssn2")),
        finding_key(TARGET, URL, finding(entity="PERSON")),
        finding_key(TARGET, URL, finding(column=None, columns=("a,b",), entity="REIDENTIFICATION")),
        finding_key(
            TARGET, URL, finding(column=None, columns=("a", "b"), entity="REIDENTIFICATION")
        ),
    }
    assert len(variants) == 7  # "a,b" and ("a", "b") are the same columns by contract


def test_findings_filter_by_target_and_count_open_per_severity(
    store: Store, router: FakeRouter
) -> None:
    store.apply_findings("a", URL, [finding()], minutes(0), router)
    store.apply_findings("b", URL + "2", [finding(severity=Severity.LOW)], minutes(1), router)
    store.apply_findings("b", URL + "3", [finding(severity=Severity.LOW)], minutes(2), router)
    store.apply_findings("b", URL + "3", [], minutes(3), router)

    assert [r.target for r in store.findings(target="b")] == ["b", "b"]
    assert [r.resource_url for r in store.findings()] == [URL + "3", URL + "2", URL]
    assert store.open_counts() == {("a", Severity.HIGH): 1, ("b", Severity.LOW): 1}


def test_times_come_back_as_aware_utc(store: Store, router: FakeRouter) -> None:
    local = dt.datetime(2026, 11, 1, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    store.apply_findings(TARGET, URL, [finding()], local, router)

    [record] = store.findings()
    assert record.opened_at == minutes(0)
    assert record.opened_at.utcoffset() == dt.timedelta(0)
