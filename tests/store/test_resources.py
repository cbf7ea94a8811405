from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from monitor.errors import StoreError
from tests.store.fakes import T0, TARGET, URL, minutes

if TYPE_CHECKING:
    from sqlalchemy.engine import URL as DatabaseURL

    from monitor.store import Store


def test_touch_inserts_then_updates_last_seen(store: Store) -> None:
    first = store.touch_resource(TARGET, URL, seen_at=minutes(0), portal="ckan", dataset="roster")
    later = store.touch_resource(TARGET, URL, seen_at=minutes(5))

    assert (first.first_seen, first.last_seen) == (minutes(0), minutes(0))
    assert (later.first_seen, later.last_seen) == (minutes(0), minutes(5))
    assert (later.portal, later.dataset) == ("ckan", "roster")
    assert store.resource(URL) == later


def test_new_resource_defaults_to_html_portal(store: Store) -> None:
    assert store.touch_resource(TARGET, URL, seen_at=minutes(0)).portal == "html"


def test_out_of_order_touch_never_moves_last_seen_back(store: Store) -> None:
    store.touch_resource(TARGET, URL, seen_at=minutes(5))
    state = store.touch_resource(TARGET, URL, seen_at=minutes(1))

    assert state.last_seen == minutes(5)


def test_unknown_url_has_no_state(store: Store) -> None:
    assert store.resource(URL) is None


def test_record_fetch_reports_content_changes(store: Store) -> None:
    store.touch_resource(TARGET, URL, seen_at=minutes(0))

    fetch = {"etag": '"v1"', "last_modified": "Sun, 01 Nov 2026 12:00:00 GMT", "size": 10}
    assert store.record_fetch(URL, sha256="a" * 64, at=minutes(1), **fetch) is True
    assert store.record_fetch(URL, sha256="a" * 64, at=minutes(2), **fetch) is False
    assert store.record_fetch(URL, sha256="b" * 64, at=minutes(3), **fetch) is True

    state = store.resource(URL)
    assert state is not None
    assert (state.etag, state.sha256, state.size) == ('"v1"', "b" * 64, 10)
    assert state.last_modified == "Sun, 01 Nov 2026 12:00:00 GMT"
    assert state.last_changed == minutes(3)


def test_record_fetch_of_an_untouched_url_is_a_store_error(store: Store) -> None:
    with pytest.raises(StoreError, match="unknown resource"):
        store.record_fetch(URL, etag=None, last_modified=None, sha256="a", size=1, at=minutes(0))


def test_record_scan_sets_last_scanned(store: Store) -> None:
    store.touch_resource(TARGET, URL, seen_at=minutes(0))

    store.record_scan(
        URL,
        sha256="a" * 64,
        report_kind="csv",
        rows=100,
        tables=1,
        error="CorruptFile: " + "x" * 10_000,
        seconds=0.25,
        at=minutes(2),
    )

    state = store.resource(URL)
    assert state is not None
    assert state.last_scanned == minutes(2)


def test_gone_file_leaves_the_live_list_and_comes_back_when_seen(store: Store) -> None:
    store.touch_resource(TARGET, URL, seen_at=minutes(0))
    store.touch_resource(TARGET, URL + "2", seen_at=minutes(0))

    store.mark_gone(URL, minutes(5))
    store.mark_gone(URL, minutes(9))

    assert [r.url for r in store.resources(TARGET)] == [URL + "2"]
    gone = store.resources(TARGET, include_gone=True)
    assert [(r.url, r.gone_at) for r in gone] == [(URL, minutes(5)), (URL + "2", None)]

    back = store.touch_resource(TARGET, URL, seen_at=minutes(10))
    assert back.gone_at is None
    assert len(store.resources(TARGET)) == 2


def test_resources_filter_by_target(store: Store) -> None:
    store.touch_resource("a", URL, seen_at=minutes(0))
    store.touch_resource("b", URL + "2", seen_at=minutes(0))

    assert [r.target for r in store.resources("b")] == ["b"]
    assert len(store.resources()) == 2


def test_mark_gone_of_unknown_url_does_nothing(store: Store) -> None:
    store.mark_gone(URL, minutes(0))

    assert store.resources(include_gone=True) == []


def test_naive_datetime_is_refused(store: Store) -> None:
    with pytest.raises((StoreError, ValueError), match="naive datetime"):
        store.touch_resource(TARGET, URL, seen_at=minutes(0).replace(tzinfo=None))


def test_touch_resources_records_many_files_in_one_call(store: Store) -> None:
    urls = [f"https://data.example.gov/files/t{i}.csv" for i in range(50)]
    for url in urls:
        store.touch_resource(TARGET, url, seen_at=T0)
    assert store.touch_resources(TARGET, urls, seen_at=minutes(5)) == 50
    states = store.resources(TARGET)
    assert {s.url for s in states} == set(urls)
    assert all(s.last_seen == minutes(5) and s.first_seen == T0 for s in states)


@pytest.mark.postgres
def test_postgres_connections_detect_a_silent_server(postgres_database: DatabaseURL) -> None:
    # Keepalives and tcp_user_timeout: a server that stops answering fails the
    # connection in about 15 s instead of holding a store call for ever.
    from monitor.store.engine import build_engine

    engine = build_engine(postgres_database.render_as_string(hide_password=False))
    try:
        with engine.connect() as conn:
            params = conn.connection.dbapi_connection.info.get_parameters()  # type: ignore[union-attr]
    finally:
        engine.dispose()
    assert params["tcp_user_timeout"] == "15000"
    assert (params["keepalives"], params["keepalives_idle"]) == ("1", "10")
