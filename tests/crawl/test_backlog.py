"""Back-pressure: file downloads wait while the daemon's scan backlog is full."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from twisted.internet import defer

from monitor.crawl.backlog import ScanBacklog
from tests.crawl.backlog_scenarios import FILES, MANY, SLOTS

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.timeout(240)


def _now(call: Callable[[], None]) -> None:
    call()


def test_room_is_free_until_the_file_bound_then_a_finished_scan_lets_one_wait_go() -> None:
    backlog = ScanBacklog(2, 1 << 30, call_in_reactor=_now)
    assert backlog.room() is None
    backlog.add(10)
    backlog.add(10)
    waiting = backlog.room()
    assert isinstance(waiting, defer.Deferred)
    assert not waiting.called
    backlog.done(10)
    assert waiting.called
    assert (backlog.files, backlog.bytes) == (1, 10)


def test_the_byte_bound_holds_downloads_but_never_the_first_file() -> None:
    backlog = ScanBacklog(100, 1000, call_in_reactor=_now)
    backlog.add(5000)  # one file over the bound is scanned: nothing else could unblock it
    waiting = backlog.room()
    assert waiting is not None
    backlog.done(5000)
    assert waiting.called
    assert backlog.room() is None


def test_release_lets_every_waiting_download_go_when_the_daemon_stops() -> None:
    backlog = ScanBacklog(1, 1 << 30, call_in_reactor=_now)
    backlog.add(1)
    waits = [backlog.room(), backlog.room()]
    backlog.release()
    assert all(w is not None and w.called for w in waits)
    assert backlog.room() is None  # and no new one waits


@pytest.fixture(scope="module")
def bounded(scenario: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return scenario("tests.crawl.backlog_scenarios:bounded")


@pytest.fixture(scope="module")
def unbounded(scenario: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return scenario("tests.crawl.backlog_scenarios:unbounded")


def test_a_full_backlog_pauses_downloads_and_the_poll_still_fetches_every_file(
    bounded: dict[str, Any],
) -> None:
    assert bounded["ok"] is True
    assert bounded["files"] == FILES
    # The bound (3) plus the one download a single request slot may have in flight.
    assert bounded["most_queued"] <= 4


def test_without_a_backlog_bound_downloads_run_ahead_of_the_scans(
    unbounded: dict[str, Any],
) -> None:
    # The same portal and scan speed: the control that shows the bound above is what holds.
    assert unbounded["files"] == FILES
    assert unbounded["most_queued"] > 6


@pytest.fixture(scope="module")
def held_run(scenario: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return scenario("tests.crawl.backlog_scenarios:held_run")


@pytest.fixture(scope="module")
def budget_run(scenario: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return scenario("tests.crawl.backlog_scenarios:budget_run")


def test_a_long_run_of_held_files_ends_the_poll(held_run: dict[str, Any]) -> None:
    # Each held file ends at once; handing the file slot on inside the previous file's
    # stack once hit the recursion limit, lost a waiter, and the poll never ended.
    assert held_run["file_requests"] == SLOTS
    assert held_run["held"] == MANY - SLOTS  # counted as not checked, with the reason
    assert held_run["ok"] is True  # the whole index was seen: nothing is taken as gone


def test_a_budget_far_below_the_file_count_ends_the_poll(budget_run: dict[str, Any]) -> None:
    assert budget_run["ok"] is False
    assert budget_run["file_requests"] < 20
    assert budget_run["budget"] is not None
    assert budget_run["budget"] > MANY - 20
