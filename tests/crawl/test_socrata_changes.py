"""Socrata's change feed: assets updated since the last poll are read before the walk."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def run(scenario: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return scenario("tests.crawl.feeds:socrata_changes")


def _catalogue(poll: dict[str, Any]) -> list[dict[str, list[str]]]:
    return [parse_qs(urlsplit(h).query) for h in poll["hits"] if "/api/catalog/v1" in h]


def _downloads(poll: dict[str, Any]) -> list[str]:
    return [h.removeprefix("/") for h in poll["hits"] if "/api/catalog/v1" not in h][1:]


def test_the_first_poll_reads_no_change_feed(run: dict[str, Any]) -> None:
    assert all("order" not in q for q in _catalogue(run["first"]))
    assert run["first"]["cursor"] == "5"


def test_assets_updated_far_down_the_catalogue_are_read_first(run: dict[str, Any]) -> None:
    second = run["second"]
    feeds = [q for q in _catalogue(second) if "order" in q]
    assert len(feeds) == 1
    assert feeds[0]["order"] == ["updatedAt DESC"]
    downloads = _downloads(second)
    # Both changed assets (a dataset and a map) among the first downloads (4 run at once).
    assert set(run["changed"]) <= set(downloads[:4])
    assert len(set(downloads)) == 7  # the 2 changed assets and the walk's 5, no more


def test_the_walk_goes_on_after_the_feed(run: dict[str, Any]) -> None:
    walk = [q for q in _catalogue(run["second"]) if "order" not in q]
    assert walk[0]["offset"] == ["5"]
    assert run["second"]["cursor"] == "10"


@pytest.fixture(scope="module")
def failed(scenario: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return scenario("tests.crawl.feeds:socrata_feed_fails")


def test_a_failed_feed_is_asked_again_from_the_same_time_next_poll(
    failed: dict[str, Any],
) -> None:
    second, third = failed["second"], failed["third"]
    assert [q for q in _catalogue(second) if "order" in q]  # asked, and it failed
    assert failed["changed"] not in _downloads(second)  # not in the walk's share either
    assert second["coverage"]["verdict"] == "incomplete"
    # The change it missed, made before poll 2 started, is read first in poll 3.
    assert failed["changed"] in _downloads(third)[:4]
