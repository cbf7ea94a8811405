"""Each target's walk cursor and last coverage outlive a restart (one process and cluster)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from monitor.models import COVERAGE_STATES, Coverage
from monitor.store import Store
from tests.store.fakes import minutes


def _coverage(target: str, robots: int) -> Coverage:
    counts = dict.fromkeys(COVERAGE_STATES, 0) | {"checked": 45, "robots": robots}
    verdict, why = (
        ("incomplete", f"{robots} of 46 resources not checked")
        if robots
        else (
            "complete",
            None,
        )
    )
    since = minutes(0) if robots else None
    notes = ("robots http://127.0.0.1/api/3/action/package_search: disallowed",) if robots else ()
    return Coverage(target, minutes(5), counts, verdict, why, notes, since)


def test_cursor_and_coverage_survive_a_new_store_on_the_same_database(store_url: str) -> None:
    first = Store(store_url)
    first.migrate()
    first.save_cursor("ckan", "page:2:5", minutes(1))
    first.save_coverage(_coverage("ckan", 1))
    first.save_coverage(_coverage("dcat", 0))
    first.close()

    again = Store(store_url)  # a restarted daemon
    walks = again.walks()
    again.close()
    assert walks["ckan"][0] == "page:2:5"
    assert walks["ckan"][1] == _coverage("ckan", 1)
    assert walks["dcat"] == (None, _coverage("dcat", 0))


def test_a_finished_walk_clears_the_cursor_and_keeps_the_coverage(store: Store) -> None:
    store.save_coverage(_coverage("ckan", 1))
    store.save_cursor("ckan", "40", minutes(1))
    store.save_cursor("ckan", None, minutes(2))
    assert store.walks()["ckan"] == (None, _coverage("ckan", 1))


def test_a_cluster_lease_row_keeps_its_cursor_when_coverage_is_saved(store: Store) -> None:
    store.sync_polls(["ckan"], minutes(0))
    store.claim_polls("a", ["ckan"], minutes(0), 30.0, limit=1)
    assert store.finish_poll("a", "ckan", next_due_at=minutes(5), cursor="7", at=minutes(1))
    store.save_coverage(_coverage("ckan", 0))
    assert store.walks()["ckan"] == ("7", _coverage("ckan", 0))
    assert [c.cursor for c in store.claim_polls("b", ["ckan"], minutes(6), 30.0, 1)] == ["7"]


def test_a_late_save_of_an_older_poll_does_not_move_the_walk_back(store: Store) -> None:
    # Two polls' saves run on worker threads: the second poll's may land first.
    store.save_cursor("ckan", "page:9", minutes(10))
    store.save_cursor("ckan", "page:4", minutes(5))
    assert store.walks()["ckan"][0] == "page:9"
    store.save_cursor("ckan", None, minutes(15))
    assert store.walks()["ckan"][0] is None


def test_a_late_save_of_an_older_poll_does_not_replace_the_newer_coverage(store: Store) -> None:
    newer = dataclasses.replace(_coverage("ckan", 3), at=minutes(10))
    store.save_coverage(newer)
    store.save_coverage(_coverage("ckan", 0))  # ended at minute 5: older, complete
    assert store.walks()["ckan"][1] == newer
    latest = dataclasses.replace(_coverage("ckan", 0), at=minutes(15))
    store.save_coverage(latest)
    assert store.walks()["ckan"][1] == latest


def test_a_walk_saved_by_a_clock_that_ran_ahead_does_not_block_later_saves(store: Store) -> None:
    now = dt.datetime.now(dt.UTC)
    store.save_cursor("ckan", "page:9", now + dt.timedelta(days=1))  # the clock was set back
    store.save_coverage(dataclasses.replace(_coverage("ckan", 3), at=now + dt.timedelta(days=1)))
    store.save_cursor("ckan", "page:2", now)
    store.save_coverage(dataclasses.replace(_coverage("ckan", 0), at=now))
    cursor, coverage = store.walks()["ckan"]
    assert cursor == "page:2"
    assert coverage is not None
    assert coverage.verdict == "complete"
