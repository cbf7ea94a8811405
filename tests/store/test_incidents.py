"""One incident per file: opened with every finding, updated, resolved with the last; re-applied."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, text

from monitor.models import Severity
from monitor.store import Store, finding_key, incident_key
from tests.store.fakes import TARGET, URL, FakeRouter, finding, minutes

if TYPE_CHECKING:
    from collections.abc import Sequence

    from monitor.models import Finding

_CCW = (
    ("first_name", "PERSON", Severity.HIGH),
    ("last_name", "PERSON", Severity.HIGH),
    ("dob", "DATE_OF_BIRTH", Severity.HIGH),
    ("address", "ADDRESS", Severity.HIGH),
    ("license", "US_DRIVER_LICENSE", Severity.CRITICAL),
    ("phone", "PHONE_NUMBER", Severity.MEDIUM),
)


def _ccw() -> list[Finding]:
    return [
        finding(column=column, entity=entity, severity=severity, evidence=(f"{column[0]}***",))
        for column, entity, severity in _CCW
    ]


def _sent(store: Store, at: dt.datetime) -> list[tuple[str, str, int]]:
    """Deliver everything due and return (notifier, event, sequence) in delivery order."""
    out = []
    while True:
        due = store.due(at)
        if not due:
            return out
        for item in due:
            out.append((item.notifier, item.alert.event, item.alert.sequence))
            store.delivered(item.id, at)


def _apply(store: Store, findings: Sequence[Finding], at: dt.datetime, router: FakeRouter) -> None:
    store.apply_findings(TARGET, URL, findings, at, router)


def test_six_findings_open_one_incident_one_event_per_notifier(store: Store) -> None:
    router = FakeRouter(floors={"hook": Severity.LOW, "pager": Severity.HIGH})

    [alert] = store.apply_findings(TARGET, URL, _ccw(), minutes(0), router)

    assert (alert.event, alert.key, alert.severity) == (
        "opened",
        incident_key(TARGET, URL),
        Severity.CRITICAL,
    )
    assert len(alert.findings) == 6
    assert alert.findings[0].entity == "US_DRIVER_LICENSE"  # most severe first
    assert alert.reason == (
        "6 findings in roster.csv: ADDRESS, DATE_OF_BIRTH, PERSON, PHONE_NUMBER, US_DRIVER_LICENSE"
    )
    assert sorted(_sent(store, minutes(0))) == [("hook", "opened", 1), ("pager", "opened", 1)]
    [incident] = store.open_incidents()
    assert (incident.key, incident.status, incident.severity) == (
        alert.key,
        "open",
        Severity.CRITICAL,
    )
    assert len(incident.open_findings) == 6
    assert incident.notified == ("hook", "pager")


def test_added_finding_sends_one_update_and_takedown_one_resolve(store: Store) -> None:
    router = FakeRouter(floors={"hook": Severity.LOW, "pager": Severity.HIGH})
    _apply(store, _ccw(), minutes(0), router)
    _sent(store, minutes(0))

    ssn = finding(column="ssn", entity="US_SSN", severity=Severity.CRITICAL)
    [update] = store.apply_findings(TARGET, URL, [*_ccw(), ssn], minutes(5), router)
    assert sorted(_sent(store, minutes(5))) == [("hook", "updated", 2), ("pager", "updated", 2)]
    assert [f.entity for f in update.changed("opened")] == ["US_SSN"]
    assert update.reason == "1 added; 7 finding(s) open in roster.csv"

    [gone] = store.resolve_resource(TARGET, URL, minutes(9), router, reason="file removed (404)")
    assert sorted(_sent(store, minutes(9))) == [("hook", "resolved", 3), ("pager", "resolved", 3)]
    assert (gone.event, gone.reason, len(gone.findings)) == ("resolved", "file removed (404)", 7)
    assert store.open_incidents() == []
    events = store.incident_events(gone.key)
    assert [(e.sequence, e.event, e.open_findings) for e in events] == [
        (1, "opened", 6),
        (2, "updated", 7),
        (3, "resolved", 0),
    ]


def test_a_rescan_that_changes_nothing_sends_nothing(store: Store, router: FakeRouter) -> None:
    _apply(store, _ccw(), minutes(0), router)
    _sent(store, minutes(0))

    assert store.apply_findings(TARGET, URL, _ccw(), minutes(5), router) == []
    assert _sent(store, minutes(5)) == []


def test_drift_and_leak_in_one_file_are_one_incident(store: Store, router: FakeRouter) -> None:
    drift = finding(column=None, columns=("a", "b"), entity="SCHEMA_DRIFT", severity=Severity.HIGH)

    store.apply_findings(TARGET, URL, [finding(), drift], minutes(0), router)

    [incident] = store.open_incidents()
    assert sorted(f.entity for f in incident.open_findings) == ["SCHEMA_DRIFT", "US_SSN"]
    assert _sent(store, minutes(0)) == [("hook", "opened", 1)]


def test_two_files_are_two_incidents(store: Store, router: FakeRouter) -> None:
    store.apply_findings(TARGET, URL, [finding()], minutes(0), router)
    store.apply_findings(TARGET, URL + "?v=2", [finding()], minutes(0), router)

    assert len({i.key for i in store.open_incidents()}) == 2


def test_a_severity_rise_reaches_a_notifier_that_did_not_want_the_incident(
    store: Store,
) -> None:
    router = FakeRouter(floors={"hook": Severity.LOW, "pager": Severity.CRITICAL})
    _apply(store, [finding(severity=Severity.HIGH)], minutes(0), router)
    assert _sent(store, minutes(0)) == [("hook", "opened", 1)]

    _apply(store, [finding(severity=Severity.CRITICAL)], minutes(5), router)

    assert sorted(_sent(store, minutes(5))) == [("hook", "updated", 2), ("pager", "opened", 2)]


def test_a_falling_severity_closes_no_page(store: Store) -> None:
    router = FakeRouter(floors={"pager": Severity.CRITICAL})
    _apply(store, [finding(severity=Severity.CRITICAL)], minutes(0), router)
    _sent(store, minutes(0))

    lower = store.apply_findings(TARGET, URL, [finding(severity=Severity.HIGH)], minutes(5), router)

    assert lower == []  # stored, not announced: the pager keeps its page
    [incident] = store.open_incidents()
    assert (incident.severity, incident.notified) == (Severity.HIGH, ("pager",))
    _apply(store, [], minutes(9), router)
    assert _sent(store, minutes(9)) == [("pager", "resolved", 2)]


def test_reapply_allow_rule_resolves_the_incident_without_a_rescan(
    store: Store, router: FakeRouter
) -> None:
    _apply(store, [finding(), finding(column="name", entity="PERSON")], minutes(0), router)
    _sent(store, minutes(0))
    router.allow["US_SSN"] = "allow-listed: published by law"

    [partial] = store.reapply(router, minutes(5))
    assert (partial.event, [f.entity for f in partial.changed("allowed")]) == (
        "updated",
        ["US_SSN"],
    )
    router.allow["PERSON"] = "allow-listed: published by law"
    [closed] = store.reapply(router, minutes(6))

    assert (closed.event, closed.reason) == ("resolved", "allow-listed: published by law")
    assert _sent(store, minutes(6)) == [("hook", "updated", 2), ("hook", "resolved", 3)]
    assert {r.status for r in store.findings()} == {"allowed"}
    assert store.reapply(router, minutes(7)) == []


def test_reapply_reopens_what_a_removed_rule_covered(store: Store, router: FakeRouter) -> None:
    router.allow["US_SSN"] = "allow-listed: published by law"
    assert store.apply_findings(TARGET, URL, [finding()], minutes(0), router) == []
    router.allow.clear()

    [alert] = store.reapply(router, minutes(5))

    assert (alert.event, alert.sequence) == ("opened", 1)
    assert _sent(store, minutes(5)) == [("hook", "opened", 1)]


def test_reapply_thresholds_opens_and_closes_per_notifier(store: Store) -> None:
    router = FakeRouter(floors={"hook": Severity.LOW, "pager": Severity.CRITICAL})
    _apply(store, [finding(severity=Severity.HIGH)], minutes(0), router)
    _sent(store, minutes(0))

    lowered = FakeRouter(floors={"hook": Severity.CRITICAL, "pager": Severity.HIGH})
    [alert] = store.reapply(lowered, minutes(5))

    assert alert.event == "updated"
    sent = store.due(minutes(5))
    assert sorted((i.notifier, i.alert.event) for i in sent) == [
        ("hook", "resolved"),
        ("pager", "opened"),
    ]
    [hook] = [i for i in sent if i.notifier == "hook"]
    assert "min_severity" in hook.alert.reason
    [incident] = store.open_incidents()
    assert incident.notified == ("pager",)


def test_parked_row_no_longer_holds_up_the_incident(store: Store, router: FakeRouter) -> None:
    _apply(store, [finding()], minutes(0), router)
    _apply(store, [], minutes(1), router)
    [opened] = store.due(minutes(1))

    store.park(opened.id, minutes(2), "HTTP 400: invalid event")

    assert [(i.alert.event, i.alert.sequence) for i in store.due(minutes(2))] == [("resolved", 2)]
    assert store.outbox_depth() == 1
    [parked] = store.parked()
    assert (parked.id, parked.parked_at, parked.attempts) == (opened.id, minutes(2), 1)
    assert parked.last_error == "HTTP 400: invalid event"


def test_incident_is_found_by_key_url_or_finding_key(store: Store, router: FakeRouter) -> None:
    f = finding()
    [alert] = store.apply_findings(TARGET, URL, [f], minutes(0), router)

    by_key = store.incident(alert.key)
    assert by_key is not None
    assert store.incident(URL) == by_key
    assert store.incident(finding_key(TARGET, URL, f)) == by_key
    assert store.incident("nothing") is None
    assert [i.key for i in store.incidents(target="other")] == []


def test_upgrade_from_per_finding_alerts_closes_old_pages_then_opens_incidents(
    store_url: str,
) -> None:
    """A database at 0004 with open per-finding pages: each gets a last resolve, in order."""
    old = Store(store_url)
    old.migrate("0004")
    engine = create_engine(store_url)
    at = minutes(0).replace(tzinfo=None).isoformat(sep=" ")
    payload = {
        "event": "opened",
        "key": "f" * 64,
        "severity": "high",
        "target": TARGET,
        "resource_url": URL,
        "table": None,
        "columns": ["ssn"],
        "entities": ["US_SSN"],
        "evidence": ["***-**-9999"],
        "reason": "ssn",
        "matched": 10,
        "occurred_at": minutes(0).isoformat(),
        "sequence": 1,
        "link": None,
        "portal": "html",
        "dataset": None,
    }
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO resources (id, url, target, portal, first_seen, last_seen) "
                "VALUES (1, :url, :target, 'html', :at, :at)"
            ),
            {"url": URL, "target": TARGET, "at": at},
        )
        conn.execute(
            text(
                "INSERT INTO findings (id, key, resource_id, target, column_name, columns, "
                "entity, severity, alerted_severity, score, matched, scanned, evidence, reason, "
                "fingerprint, status, sequence, opened_at, last_seen_at) VALUES (1, :key, 1, "
                ":target, 'ssn', '[]', 'US_SSN', 3, 3, 0.9, 10, 10, :evidence, 'ssn', '', "
                "'open', 1, :at, :at)"
            ),
            {"key": "f" * 64, "target": TARGET, "at": at, "evidence": '["***-**-9999"]'},
        )
        conn.execute(
            text(
                "INSERT INTO outbox (notifier, finding_id, sequence, payload, created_at, "
                "next_attempt_at, attempts, delivered_at) VALUES "
                "('hook', 1, 1, :payload, :at, :at, 0, :at)"
            ),
            {"payload": json.dumps(payload), "at": at},
        )
    engine.dispose()
    old.close()

    store = Store(store_url)
    store.migrate()  # queues the farewell at the real time of the upgrade
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    [farewell] = store.due(later)
    assert (farewell.alert.event, farewell.alert.key) == ("resolved", "f" * 64)
    assert "one incident per file" in farewell.alert.reason
    [alert] = store.reapply(FakeRouter(), later)

    assert (alert.event, alert.key, len(alert.findings)) == ("opened", incident_key(TARGET, URL), 1)
    assert _sent(store, later) == [("hook", "resolved", 2), ("hook", "opened", 1)]
    store.close()


def test_a_notifier_removed_from_the_config_is_forgotten_not_queued(store: Store) -> None:
    router = FakeRouter(floors={"hook": Severity.LOW, "gone": Severity.LOW})
    _apply(store, [finding()], minutes(0), router)
    _sent(store, minutes(0))

    store.resolve_resource(TARGET, URL, minutes(5), FakeRouter(), reason="file removed (404)")

    assert _sent(store, minutes(5)) == [("hook", "resolved", 2)]
    assert store.outbox_depth() == 0
