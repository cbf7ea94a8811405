"""Slow-loris and silent servers: ``crawl.download_timeout`` bounds every page and file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.timeout(180)

#: download_timeout in the scenario; Scrapy tries each request 3 times (RETRY_TIMES=2).
TIMEOUT = 2.0
ATTEMPTS = 3


@pytest.fixture(scope="module")
def run(scenario: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return scenario("tests.crawl.hostile_scenarios:slow")


@pytest.mark.parametrize("name", ["loris-page", "silent-page"])
def test_a_start_page_that_never_finishes_ends_the_poll_incomplete_in_bounded_time(
    run: dict[str, Any], name: str
) -> None:
    assert run["ok"][name] is False
    assert run["polls"][name]["seen"] == []
    assert run["fetches"][name] == {"error": float(ATTEMPTS)}
    # Three attempts of at most download_timeout each, and a little for the rest.
    assert TIMEOUT * ATTEMPTS <= run["took"][name] < TIMEOUT * ATTEMPTS + 5


def test_the_trickling_server_was_hung_up_on_within_the_timeout(run: dict[str, Any]) -> None:
    assert run["hits"]["/loris/"] == ATTEMPTS
    assert run["open_for"]["/loris/"] < TIMEOUT + 1.5  # the last attempt's connection
    assert run["open_for"]["/silent/"] < TIMEOUT + 1.5


def test_slow_files_are_fetch_errors_and_the_rest_of_the_poll_goes_on(
    run: dict[str, Any],
) -> None:
    poll = run["polls"]["slow-files"]
    assert poll["ok"] is True  # a file that fails is reported; the portal was seen whole
    assert [u.rsplit("/", 1)[1] for u in poll["files"]] == ["ok.csv"]
    errors = {e["url"].rsplit("/", 1)[1]: e["error"] for e in poll["errors"]}
    assert set(errors) == {"loris.csv", "silent.csv", "headers.csv"}  # headers.csv: never ends them
    assert all(e.startswith("timeout: ") for e in errors.values())
    assert run["took"]["slow-files"] < TIMEOUT * ATTEMPTS + 5


def test_the_service_keeps_polling_beside_hostile_targets(
    scenario: Callable[..., dict[str, Any]],
) -> None:
    # Nine seconds of the scheduler with five hostile targets and a good one, every 1 s.
    run = scenario("tests.crawl.hostile_scenarios:keeps_going")
    polls = run["polls"]
    assert polls["good"].count(True) >= 5
    assert polls["good"].count(False) == 0
    for name in ("silent", "loris", "bomb", "loop", "cal"):
        assert len(polls[name]) >= 1, name  # each hostile poll ended, and was scheduled again
        assert not any(polls[name]), name  # ... and none passed for a complete one
    assert run["running_after"] is False
