"""``HopDepth``: the next page of a listing and a sitemap's pages are not hops; limits hold."""

from __future__ import annotations

import pytest
from scrapy import Request, Spider
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from monitor.crawl.depth import HopDepth
from monitor.crawl.items import SAME_DEPTH


def _middleware(limit: int) -> HopDepth:
    crawler = get_crawler(Spider, {"DEPTH_LIMIT": limit, "DEPTH_PRIORITY": 1})
    return HopDepth.from_crawler(crawler)


def _from(depth: int | None) -> Response:
    meta = {} if depth is None else {"depth": depth}
    return Response(
        "https://data.example.gov/p", request=Request("https://data.example.gov/p", meta=meta)
    )


@pytest.mark.parametrize(
    ("parent", "same", "expected"),
    [
        (0, False, 1),
        (2, False, 3),
        (0, True, 1),  # from a start page: depth 1, never taken for a start URL
        (2, True, 2),
        (3, True, 3),
    ],
)
def test_depth_of_followed_requests(parent: int, same: bool, expected: int) -> None:
    request = Request("https://data.example.gov/q", meta={SAME_DEPTH: True} if same else {})
    out = _middleware(limit=5).get_processed_request(request, _from(parent))
    assert out is request
    assert request.meta["depth"] == expected
    assert SAME_DEPTH not in request.meta
    assert request.priority == -expected


def test_the_limit_still_applies() -> None:
    middleware = _middleware(limit=2)
    same = Request("https://data.example.gov/q", meta={SAME_DEPTH: True})
    assert middleware.get_processed_request(same, _from(2)) is same  # page 7 of a depth-2 listing
    hop = Request("https://data.example.gov/r")
    assert middleware.get_processed_request(hop, _from(2)) is None


def test_max_depth_zero_drops_them_too() -> None:
    same = Request("https://data.example.gov/q", meta={SAME_DEPTH: True})
    assert _middleware(limit=-1).get_processed_request(same, _from(0)) is None


def test_start_requests_are_left_alone() -> None:
    start = Request("https://data.example.gov/", meta={SAME_DEPTH: True})
    assert _middleware(limit=1).get_processed_request(start, None) is start
    assert "depth" not in start.meta
