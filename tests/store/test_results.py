"""Scan results recorded several files per transaction: one commit, all or nothing, same outcome."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import event

from monitor.errors import StoreError
from monitor.models import ColumnSchema, Finding, Severity, TableSchema
from monitor.store import FetchValidators, ScanResult
from monitor.store import baselines as _baselines
from monitor.store import resources as _resources
from tests.store.fakes import TARGET, finding, minutes

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterator

    from monitor.store import Store
    from tests.store.fakes import FakeRouter

BASE = "https://data.example.gov/files/"
COUNTS = TableSchema(
    table=None,
    columns=(ColumnSchema("county", "text"), ColumnSchema("count", "number")),
    row_level=False,
    rows=58,
)
WITH_NAMES = TableSchema(
    table=None,
    columns=(*COUNTS.columns, ColumnSchema("name", "text", "PERSON")),
    row_level=True,
    rows=58,
)


def _drift(url: str, baseline: TableSchema, schema: TableSchema) -> Finding | None:
    """A stand-in for monitor.drift: any change of columns is one HIGH finding."""
    if baseline.columns == schema.columns:
        return None
    return finding(file=url, column=None, entity="SCHEMA_DRIFT", evidence=(), reason="changed")


def _result(url: str, at: dt.datetime, **overrides: object) -> ScanResult:
    fields: dict[str, object] = {
        "target": TARGET,
        "url": url,
        "sha256": "ab" * 32,
        "report_kind": "csv",
        "rows": 58,
        "tables": 1,
        "error": None,
        "seconds": 0.01,
        "at": at,
        "schemas": (COUNTS,),
        "validators": FetchValidators('"v1"', None, "ab" * 32, 1500),
    }
    fields.update(overrides)
    return ScanResult(**fields)  # type: ignore[arg-type]


@pytest.fixture
def commits(store: Store) -> Iterator[list[int]]:
    """Count the store's commits (every transaction it opens, read or write)."""
    seen: list[int] = []
    engine = store._db._engine

    def count(conn: object) -> None:
        seen.append(1)

    event.listen(engine, "commit", count)
    yield seen
    event.remove(engine, "commit", count)


def _touched(store: Store, n: int) -> list[str]:
    urls = [f"{BASE}table-{i}.csv" for i in range(n)]
    store.touch_resources(TARGET, urls, seen_at=minutes(0))
    return urls


def test_results_of_several_files_are_written_in_one_transaction(
    store: Store, router: FakeRouter, commits: list[int]
) -> None:
    urls = _touched(store, 3)
    leak = _result(urls[1], minutes(1), findings=(finding(file=urls[1]),))
    batch = [
        (_result(urls[0], minutes(1)), router),
        (leak, router),
        (_result(urls[2], minutes(1)), router),
    ]
    commits.clear()

    alerts = store.record_results(batch, _drift)

    assert len(commits) == 1
    assert [len(a) for a in alerts] == [0, 1, 0]  # each result's own alerts, in order
    for url in urls:
        state = store.resource(url)
        assert state is not None
        assert (state.etag, state.sha256, state.size) == ('"v1"', "ab" * 32, 1500)
        assert state.last_scanned == minutes(1)
        assert store.baseline(url, None) == COUNTS  # the first version seen became the baseline
    assert [i.resource_url for i in store.open_incidents(TARGET)] == [urls[1]]


def test_a_result_that_cannot_be_written_writes_none_of_its_batch(
    store: Store, router: FakeRouter
) -> None:
    urls = _touched(store, 2)
    never_touched = f"{BASE}unknown.csv"
    batch = [(_result(u, minutes(1)), router) for u in (*urls, never_touched)]

    with pytest.raises(StoreError, match="unknown resource"):
        store.record_results(batch, _drift)

    for url in urls:
        state = store.resource(url)
        assert state is not None
        assert (state.sha256, state.last_scanned) == (None, None)
        assert store.baseline(url, None) is None


def test_a_changed_schema_against_its_baseline_is_a_drift_finding(
    store: Store, router: FakeRouter
) -> None:
    [url] = _touched(store, 1)
    store.record_results([(_result(url, minutes(1)), router)], _drift)

    [alerts] = store.record_results(
        [(_result(url, minutes(2), schemas=(WITH_NAMES,)), router)], _drift
    )

    assert [f.entity for f in store.findings(open_only=True)] == ["SCHEMA_DRIFT"]
    assert [a.event for a in alerts] == ["opened"]
    assert store.baseline(url, None) == COUNTS  # drift alerts until someone accepts the change


def test_an_incomplete_result_resolves_nothing_and_stores_no_validators(
    store: Store, router: FakeRouter
) -> None:
    [url] = _touched(store, 1)
    ssn = finding(file=url)
    store.record_results([(_result(url, minutes(1), findings=(ssn,)), router)], _drift)
    limit = finding(file=url, column=None, entity="FILE_LIMIT", severity=Severity.MEDIUM)

    store.record_results(
        [
            (
                _result(
                    url,
                    minutes(2),
                    sha256="cd" * 32,
                    error="time limit",
                    findings=(limit,),
                    schemas=(),
                    complete=False,
                    validators=None,
                ),
                router,
            )
        ],
        _drift,
    )

    assert sorted(f.entity for f in store.findings(open_only=True)) == ["FILE_LIMIT", "US_SSN"]
    state = store.resource(url)
    assert state is not None
    assert (state.sha256, state.last_scanned) == ("ab" * 32, minutes(2))  # the last complete one


def test_a_clean_rescan_resolves_what_the_last_scan_found(store: Store, router: FakeRouter) -> None:
    [url] = _touched(store, 1)
    store.record_results(
        [(_result(url, minutes(1), findings=(finding(file=url),)), router)], _drift
    )

    [alerts] = store.record_results([(_result(url, minutes(2)), router)], _drift)

    assert store.findings(open_only=True) == []
    assert [a.event for a in alerts] == ["resolved"]


def test_a_first_baseline_that_appeared_meanwhile_is_replaced_as_set_baseline_would(
    store: Store,
) -> None:
    # The fast path for a table's first version meets a baseline an operator accepted
    # between the read and the write: it replaces it, with history and audit, like before.
    [url] = _touched(store, 1)
    store.set_baseline(url, COUNTS, at=minutes(1), actor="alice", reason="reviewed")
    with store._session(write=True) as s:
        resource = _resources.require_resource(s, url, lock=True)
        _baselines.accept_schema(
            s, resource, WITH_NAMES, at=minutes(2), actor="leakmon", reason="first version seen"
        )

    assert store.baseline(url, None) == WITH_NAMES
    accepts = [e for e in store.audit_log() if e.action == "baseline.accept"]
    assert [(e.actor, e.detail["reason"]) for e in accepts] == [
        ("leakmon", "first version seen"),
        ("alice", "reviewed"),
    ]


def test_new_files_first_baselines_are_audited_in_the_store_but_not_logged_one_line_each(
    store: Store, router: FakeRouter, caplog: pytest.LogCaptureFixture
) -> None:
    # A first pass of 100,000 files once wrote 100,000 "audit: baseline.accept by
    # leakmon" INFO lines, none naming a file; the audit table keeps each entry.
    urls = _touched(store, 3)
    with caplog.at_level("INFO", logger="monitor.store.audit"):
        store.record_results([(_result(url, minutes(1)), router) for url in urls], _drift)

    accepted = [e for e in store.audit_log() if e.action == "baseline.accept"]
    assert len(accepted) == 3
    assert {e.actor for e in accepted} == {"leakmon"}
    assert not [r for r in caplog.records if r.name == "monitor.store.audit"]
