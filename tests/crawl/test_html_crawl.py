"""A real poll of an html site: files found only through its sitemaps and a six-page listing."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def run(scenario: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return scenario("tests.crawl.dashboards:html_sitemaps_and_pages")


def test_files_behind_sitemaps_and_every_listing_page_are_seen(run: dict[str, Any]) -> None:
    assert run["ok"] is True
    assert run["seen"] == [
        "files/hidden.csv",  # on a page only the sitemap lists
        "files/hidden2.csv",  # ... in the gzipped sitemap of the index
        "files/listed.csv",  # listed by the sitemap itself
        *[f"files/page{n}.csv" for n in range(1, 7)],  # pages 2-6 of the listing: no hops
    ]


def test_depth_still_counts_links_between_pages(run: dict[str, Any]) -> None:
    hits = Counter(run["hits"])
    assert hits["/about/"] == 2  # depth 2, once per poll
    assert hits["/about/team/"] == 0  # depth 3, over max_depth=2
    assert "files/too-deep.csv" not in run["seen"]


def test_robots_txt_is_fetched_once_per_poll_for_rules_and_sitemaps(run: dict[str, Any]) -> None:
    assert Counter(run["hits"])["/robots.txt"] == 2  # two polls
    assert Counter(run["hits"])["/sitemap.xml"] == 0  # not guessed


def test_a_declared_sitemap_that_is_gone_makes_the_poll_incomplete(run: dict[str, Any]) -> None:
    assert run["broken_ok"] is False
