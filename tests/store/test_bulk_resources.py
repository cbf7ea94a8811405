"""A poll's bookkeeping over many files: batched touches, URL-only unlinked, bulk validators."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import event

from tests.store.fakes import T0, TARGET, minutes

if TYPE_CHECKING:
    from monitor.store import Store

BASE = "https://data.example.gov/files/"


def _urls(n: int, prefix: str = "f") -> list[str]:
    return [f"{BASE}{prefix}{i:04d}.csv" for i in range(n)]


def _fetched(store: Store, url: str, n: int) -> None:
    store.record_fetch(
        url,
        etag=f'"e{n}"',
        last_modified="Sun, 01 Nov 2026 12:00:00 GMT",
        sha256=f"{n:064x}",
        size=n,
        at=T0,
    )


def test_touch_resources_inserts_new_files_and_moves_known_ones_in_batches(store: Store) -> None:
    known = _urls(25)
    for url in known:
        store.touch_resource(TARGET, url, seen_at=T0, portal="ckan", dataset="roster")
    new = _urls(12, prefix="new")

    assert store.touch_resources(TARGET, known + new, seen_at=minutes(5), batch=7) == 37

    states = {s.url: s for s in store.resources(TARGET)}
    assert set(states) == set(known) | set(new)
    assert all(states[u].first_seen == T0 and states[u].last_seen == minutes(5) for u in known)
    assert all(states[u].first_seen == minutes(5) == states[u].last_seen for u in new)
    assert {states[u].portal for u in known} == {"ckan"}  # a bare touch keeps what is stored
    assert {(states[u].portal, states[u].dataset) for u in new} == {("html", None)}


def test_touch_resources_never_moves_last_seen_back(store: Store) -> None:
    urls = _urls(5)
    store.touch_resources(TARGET, urls, seen_at=minutes(9))
    store.touch_resources(TARGET, urls, seen_at=minutes(2))

    assert {s.last_seen for s in store.resources(TARGET)} == {minutes(9)}


def test_touch_resources_brings_gone_files_back_and_moves_them_to_the_listing_target(
    store: Store,
) -> None:
    urls = _urls(4)
    store.touch_resources("old", urls, seen_at=T0)
    store.mark_gone(urls[0], minutes(1))

    store.touch_resources(TARGET, urls, seen_at=minutes(2))

    states = store.resources(TARGET)
    assert [s.url for s in states] == urls
    assert all(s.gone_at is None for s in states)
    assert store.resources("old", include_gone=True) == []


def test_touch_resources_accepts_a_url_listed_twice(store: Store) -> None:
    urls = _urls(3)
    assert store.touch_resources(TARGET, [*urls, urls[0]], seen_at=T0) == 4
    assert [s.url for s in store.resources(TARGET)] == urls


def test_touch_resources_commits_each_batch_in_its_own_transaction(store: Store) -> None:
    # Short transactions: a scan result waiting for SQLite's write lock gets it
    # between two batches, not after the whole poll's bookkeeping.
    urls = _urls(25)
    store.touch_resources(TARGET, urls, seen_at=T0)
    commits: list[int] = []
    engine = store._db._engine
    listener = lambda conn: commits.append(1)  # noqa: E731
    event.listen(engine, "commit", listener)
    try:
        store.touch_resources(TARGET, urls, seen_at=minutes(1), batch=10)
    finally:
        event.remove(engine, "commit", listener)
    assert len(commits) == 3


def test_unlinked_returns_the_live_files_of_the_target_the_poll_did_not_see(store: Store) -> None:
    urls = _urls(10)
    store.touch_resources(TARGET, urls, seen_at=T0)
    store.touch_resources("other", _urls(3, prefix="o"), seen_at=T0)
    store.mark_gone(urls[9], minutes(1))

    seen = set(urls[:5]) | {BASE + "never-stored.csv"}

    assert store.unlinked(TARGET, seen) == urls[5:9]
    assert store.unlinked(TARGET, set(urls)) == []


def test_validators_stream_the_live_fetched_files_of_one_target(store: Store) -> None:
    urls = _urls(8)
    store.touch_resources(TARGET, urls, seen_at=T0)
    store.touch_resources("other", _urls(2, prefix="o"), seen_at=T0)
    for n, url in enumerate(urls[:6]):
        _fetched(store, url, n)
    _fetched(store, BASE + "o0000.csv", 99)
    store.mark_gone(urls[5], minutes(1))

    loaded = sorted(store.validators(TARGET))

    assert loaded == [
        (url, f'"e{n}"', "Sun, 01 Nov 2026 12:00:00 GMT", f"{n:064x}")
        for n, url in enumerate(urls[:5])
    ]  # never fetched (no sha256), gone, or another target's: not loaded


def test_validators_of_many_urls_are_read_in_one_call_as_a_single_read_would(store: Store) -> None:
    urls = _urls(9)
    store.touch_resources(TARGET, urls, seen_at=T0)
    for n, url in enumerate(urls[:6]):
        _fetched(store, url, n)
    store.mark_gone(urls[0], minutes(1))
    asked = [*urls, BASE + "never-stored.csv"]

    found = store.validators_of(asked, batch=4)

    # The same answer as one read per URL (cluster mode's per-file fallback).
    singles = {u: s for u in asked if (s := store.resource(u)) is not None}
    assert found == {u: (s.etag, s.last_modified, s.sha256) for u, s in singles.items()}
    assert found[urls[1]] == ('"e1"', "Sun, 01 Nov 2026 12:00:00 GMT", f"{1:064x}")
    assert found[urls[7]] == (None, None, None)  # listed, never fetched
    assert BASE + "never-stored.csv" not in found
    assert store.validators_of([]) == {}
