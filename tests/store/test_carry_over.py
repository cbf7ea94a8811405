"""The HTML rotation's carry-over survives a restart: kept per target, replaced every poll."""

from __future__ import annotations

import datetime as dt

from monitor.store import Store

AT = dt.datetime(2026, 12, 4, 18, 0, tzinfo=dt.UTC)
BASE = "https://www.example.gov/data/"


def _entry(i: int) -> dict[str, str | None]:
    return {
        "url": f"{BASE}{i}.csv",
        "portal": "html",
        "dataset": None,
        "title": f"File {i}",
        "referer": BASE,
    }


def test_a_carry_over_is_read_back_after_a_restart(store: Store, store_url: str) -> None:
    store.save_carry_over("site", [_entry(1), _entry(2)], AT)
    store.save_carry_over("other", [_entry(3)], AT)
    store.close()
    again = Store(store_url)  # a new process on the same database
    try:
        assert again.carry_overs() == {"site": [_entry(1), _entry(2)], "other": [_entry(3)]}
    finally:
        again.close()


def test_each_poll_replaces_the_carry_over_and_an_empty_one_clears_it(store: Store) -> None:
    store.save_carry_over("site", [_entry(1), _entry(2)], AT)
    store.save_carry_over("site", [_entry(5)], AT + dt.timedelta(minutes=15))
    assert store.carry_overs() == {"site": [_entry(5)]}
    store.save_carry_over("site", [], AT + dt.timedelta(minutes=30))
    assert store.carry_overs() == {}


def test_only_the_carried_fields_are_kept(store: Store) -> None:
    odd = {**_entry(1), "body": "not kept", "dataset": "d1"}
    store.save_carry_over("site", [odd, {"url": "", "title": "no url"}], AT)
    assert store.carry_overs() == {"site": [{**_entry(1), "dataset": "d1"}]}


def test_a_late_save_of_an_older_poll_does_not_bring_its_tail_back(store: Store) -> None:
    # Two polls' saves run on worker threads: the second poll's may land first.
    store.save_carry_over("site", [], AT + dt.timedelta(minutes=15))
    store.save_carry_over("site", [_entry(1), _entry(2)], AT)
    assert store.carry_overs() == {}
    store.save_carry_over("site", [_entry(7)], AT + dt.timedelta(minutes=30))
    assert store.carry_overs() == {"site": [_entry(7)]}


def test_a_carry_over_saved_by_a_clock_that_ran_ahead_is_replaced(store: Store) -> None:
    now = dt.datetime.now(dt.UTC)
    store.save_carry_over("site", [_entry(1)], now + dt.timedelta(days=1))  # clock set back
    store.save_carry_over("site", [_entry(2)], now)
    assert store.carry_overs() == {"site": [_entry(2)]}
