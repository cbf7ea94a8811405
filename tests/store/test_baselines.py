from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from monitor.models import ColumnSchema, TableSchema
from tests.store.fakes import TARGET, URL, minutes

if TYPE_CHECKING:
    from monitor.store import Store

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


@pytest.fixture
def watched(store: Store) -> Store:
    store.touch_resource(TARGET, URL, seen_at=minutes(0))
    return store


def test_no_baseline_until_one_is_set(watched: Store) -> None:
    assert watched.baseline(URL, None) is None
    assert watched.baseline("https://nowhere.example/x.csv", None) is None


def test_set_baseline_round_trips_and_is_audited(watched: Store) -> None:
    watched.set_baseline(URL, COUNTS, at=minutes(1), actor="leakmon", reason="first version seen")

    assert watched.baseline(URL, None) == COUNTS
    [entry] = watched.audit_log()
    assert (entry.actor, entry.action, entry.at) == ("leakmon", "baseline.accept", minutes(1))
    assert entry.detail["reason"] == "first version seen"
    assert entry.detail["resource_url"] == URL


def test_tables_of_one_file_have_separate_baselines(watched: Store) -> None:
    sheet = TableSchema("Sheet1", COUNTS.columns, row_level=False)
    blank = TableSchema("", WITH_NAMES.columns, row_level=True)
    for schema in (COUNTS, sheet, blank):
        watched.set_baseline(URL, schema, at=minutes(1), actor="leakmon", reason="first")

    assert watched.baseline(URL, "Sheet1") == sheet
    assert watched.baseline(URL, "") == blank
    assert watched.baseline(URL, None) == COUNTS


def test_accept_promotes_observed_schemas_that_changed(watched: Store) -> None:
    watched.set_baseline(URL, COUNTS, at=minutes(1), actor="leakmon", reason="first")
    watched.observed_schema(URL, COUNTS, minutes(2))
    watched.observed_schema(URL, WITH_NAMES, minutes(3))

    count = watched.accept_baselines(
        url=URL, actor="alice", reason="names are public", at=minutes(4)
    )

    assert count == 1
    assert watched.baseline(URL, None) == WITH_NAMES
    latest = watched.audit_log(limit=1)[0]
    assert (latest.actor, latest.detail["reason"]) == ("alice", "names are public")


def test_accept_skips_schemas_already_accepted(watched: Store) -> None:
    watched.set_baseline(URL, COUNTS, at=minutes(1), actor="leakmon", reason="first")
    watched.observed_schema(
        URL, TableSchema(None, COUNTS.columns, row_level=False, rows=99), minutes(2)
    )

    assert watched.accept_baselines(url=URL, actor="alice", reason="same", at=minutes(3)) == 0


def test_accept_by_target_covers_its_files_only(watched: Store) -> None:
    watched.touch_resource(TARGET, URL + "2", seen_at=minutes(0))
    watched.touch_resource("other", URL + "3", seen_at=minutes(0))
    for url in (URL, URL + "2", URL + "3"):
        watched.observed_schema(url, COUNTS, minutes(1))

    count = watched.accept_baselines(target=TARGET, actor="alice", reason="ok", at=minutes(2))

    assert count == 2
    assert watched.baseline(URL + "3", None) is None


def test_accept_without_url_or_target_is_refused(watched: Store) -> None:
    with pytest.raises(ValueError, match="url or a target"):
        watched.accept_baselines(actor="alice", reason="everything", at=minutes(1))


def test_audit_log_is_newest_first_and_limited(store: Store) -> None:
    for n in range(3):
        store.audit("alice", "test.action", {"n": n}, minutes(n))

    assert [e.detail["n"] for e in store.audit_log(limit=2)] == [2, 1]
