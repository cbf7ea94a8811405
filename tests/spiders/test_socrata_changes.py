"""Socrata's change feed on a Discovery API answer ordered by ``updatedAt``, newest first.

The answer (``tests/data/portals/socrata/changes.json``) is hand-made in the
shape the Discovery API documents (see tests/fixtures/SOURCES.md); the spider's
callbacks are called directly.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from scrapy import Request
from scrapy.http import TextResponse

from monitor.crawl.items import DatasetItem
from spiders.socrata import SocrataSpider

CHANGES = Path(__file__).resolve().parents[1] / "data" / "portals" / "socrata" / "changes.json"
SITE = "https://data.example.gov/"
#: Between the filter's data update (08:15) and its metadata update (June 1st).
SINCE = "2024-06-10T08:00:00+00:00"


def _spider(**overrides: Any) -> SocrataSpider:
    args: dict[str, Any] = {
        "target": "city",
        "start_urls": [SITE],
        "allowed_domains": ["example.gov"],
        "changed_since": SINCE,
        "cursor": "15",
    }
    return SocrataSpider(**(args | overrides))


def _start(spider: SocrataSpider) -> list[Request]:
    async def collect() -> list[Request]:
        return [r async for r in spider.start()]

    return asyncio.run(collect())


def _feed(spider: SocrataSpider, body: bytes | None = None, status: int = 200) -> list[Any]:
    (request,) = _start(spider)
    answer = TextResponse(
        request.url,
        status=status,
        body=CHANGES.read_bytes() if body is None else body,
        encoding="utf-8",
        request=request,
    )
    return list(request.callback(answer, **request.cb_kwargs))


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_the_feed_asks_for_the_domains_assets_newest_first_before_the_walk() -> None:
    (request,) = _start(_spider())
    assert _query(request.url) == {
        "domains": "data.example.gov",
        "order": "updatedAt DESC",
        "limit": "100",
        "offset": "0",
    }
    assert request.meta["handle_httpstatus_list"] == [400, 404]


def test_no_feed_on_the_first_poll_or_in_a_fallback_walk() -> None:
    (first,) = _start(_spider(changed_since=None))
    (views,) = _start(_spider(cursor="views:2000"))
    assert "order" not in _query(first.url)
    assert views.url.startswith(SITE + "api/views.json")


def test_assets_updated_since_the_last_poll_are_reported_then_the_walk_resumes() -> None:
    out = _feed(_spider())
    items = [o["url"] for o in out if isinstance(o, DatasetItem)]
    assert items == [
        SITE + "api/views/new1-2024/rows.csv?accessType=DOWNLOAD",
        SITE + "api/geospatial/map1-2024?method=export&format=GeoJSON",
        # Its metadata is older than the last poll, its data is not: data_updated_at counts.
        SITE + "api/views/fil1-2024/rows.csv?accessType=DOWNLOAD",
    ]
    (walk,) = [o for o in out if isinstance(o, Request)]
    assert out[-1] is walk
    assert "order" not in _query(walk.url)
    assert _query(walk.url)["offset"] == "15"  # where the last poll's walk stopped


def test_a_page_that_is_all_new_reads_the_next_page_of_the_feed() -> None:
    out = _feed(_spider(changed_since="2024-01-01T00:00:00+00:00"))
    assert len([o for o in out if isinstance(o, DatasetItem)]) == 5
    (more,) = [o for o in out if isinstance(o, Request)]
    assert _query(more.url)["order"] == "updatedAt DESC"
    assert _query(more.url)["offset"] == "5"


def test_the_feed_stops_at_the_request_budget_and_leaves_the_rest_to_the_walk() -> None:
    # 90% of 4 requests: robots.txt, the feed's page and the walk's leave room for 1 file.
    spider = _spider(max_requests=4)
    out = _feed(spider)
    assert len([o for o in out if isinstance(o, DatasetItem)]) == 1
    assert spider.feed_cut == 2
    assert isinstance(out[-1], Request)  # the walk still goes on


def test_a_discovery_api_that_refuses_the_feed_leaves_it_all_to_the_walk() -> None:
    spider = _spider()
    out = _feed(spider, json.dumps({"error": "Invalid order"}).encode(), status=400)
    (walk,) = out
    assert _query(walk.url)["offset"] == "15"
    assert spider.failures == []


def test_an_answer_of_another_shape_makes_the_poll_incomplete_and_the_walk_goes_on() -> None:
    spider = _spider()
    out = _feed(spider, b'{"results": "none"}')
    assert len(spider.failures) == 1
    assert isinstance(out[-1], Request)


def test_the_feed_counts_as_read_only_when_it_answered() -> None:
    read, broken, absent, cut = _spider(), _spider(), _spider(), _spider(max_requests=4)
    _feed(read)
    _feed(broken, b"<html>maintenance</html>")
    _feed(absent, b'{"error": "Invalid order"}', status=400)
    _feed(cut)
    assert (read.feed_through, broken.feed_through, absent.feed_through) == (True, False, True)
    assert cut.feed_through  # cut by the budget: the rest is the walk's, newest first again
    assert _spider(changed_since=None).feed_through  # the first poll has no feed
    assert not _spider().feed_through  # a feed never answered was not read


# -- a recorded Discovery API answer (data.transportation.gov; tests/fixtures/SOURCES.md) --

RECORDED = CHANGES.with_name("recorded_dtg.json")


def test_a_recorded_answer_updated_since_the_last_poll_is_read_first() -> None:
    # nm7w-nvbm: updatedAt 2020-05-21; gr7j-n2cj: metadata 2020-03-23, data 2017-09-12.
    out = _feed(_spider(changed_since="2020-04-01T00:00:00+00:00"), RECORDED.read_bytes())
    items = [o["url"] for o in out if isinstance(o, DatasetItem)]
    assert items == [SITE + "api/views/nm7w-nvbm/rows.csv?accessType=DOWNLOAD"]
    assert isinstance(out[-1], Request)
    assert "order" not in _query(out[-1].url)  # the walk, not another feed page


def test_a_recorded_metadata_update_counts_as_a_change() -> None:
    # Its data is from 2017, but updatedAt follows the later metadata update (a file
    # attached, a column renamed): the asset is read again.
    out = _feed(_spider(changed_since="2020-03-01T00:00:00+00:00"), RECORDED.read_bytes())
    items = [o["url"] for o in out if isinstance(o, DatasetItem)]
    assert SITE + "api/views/gr7j-n2cj/rows.csv?accessType=DOWNLOAD" in items
    assert len(items) == 2
    assert "order" not in _query(out[-1].url)  # resultSetSize reached: no next feed page
