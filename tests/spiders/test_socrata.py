"""The Socrata spider on saved catalogue answers: exports, paging, the window and fallbacks.

No network and no reactor: answers are built from ``tests/data/portals/socrata/``
and the spider's callbacks are called directly.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from scrapy import Request
from scrapy.http import TextResponse

from monitor.crawl.items import API_REQUEST, DatasetItem
from spiders.socrata import SocrataSpider

PAGES = Path(__file__).resolve().parents[1] / "data" / "portals" / "socrata"
SITE = "https://data.example.gov/"


def _spider(**overrides: Any) -> SocrataSpider:
    args: dict[str, Any] = {
        "target": "city",
        "start_urls": [SITE],
        "allowed_domains": ["example.gov"],
    }
    return SocrataSpider(**(args | overrides))


def _answer(name: str, path: str, status: int = 200) -> TextResponse:
    url = SITE + path
    body = (PAGES / name).read_bytes() if name else b'{"error": true}'
    request = Request(url, meta={API_REQUEST: True})
    return TextResponse(url, status=status, body=body, encoding="utf-8", request=request)


def _split(output: Any) -> tuple[list[DatasetItem], list[Request]]:
    results = list(output)
    items = [r for r in results if isinstance(r, DatasetItem)]
    requests = [r for r in results if isinstance(r, Request)]
    assert len(items) + len(requests) == len(results)
    return items, requests


def _starts(spider: SocrataSpider) -> list[Request]:
    async def collect() -> list[Request]:
        return [r async for r in spider.start()]

    return asyncio.run(collect())


def _query(request: Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}


def _export(fxf: str) -> str:
    return f"{SITE}api/views/{fxf}/rows.csv?accessType=DOWNLOAD"


def test_first_request_probes_the_discovery_api_for_this_domain() -> None:
    (request,) = _starts(_spider())
    assert request.url.startswith(SITE + "api/catalog/v1?")
    assert _query(request) == {
        "domains": "data.example.gov",  # every asset type: no "only"
        "limit": "1000",
        "offset": "0",
    }
    assert request.meta[API_REQUEST] is True
    assert request.meta["handle_httpstatus_list"] == [400, 404]


def test_resumed_walk_asks_from_its_cursor_without_probing() -> None:
    (request,) = _starts(_spider(cursor="3000", max_datasets=500))
    assert (_query(request)["offset"], _query(request)["limit"]) == ("3000", "500")
    assert "handle_httpstatus_list" not in request.meta  # a 404 here is a failure


@pytest.mark.parametrize(
    ("cursor", "path"),
    [("views:2000", "api/views.json?limit=1000&page=3"), ("datajson:7", "data.json")],
)
def test_walk_in_a_fallback_mode_resumes_in_it(cursor: str, path: str) -> None:
    (request,) = _starts(_spider(cursor=cursor))
    assert request.url == SITE + path


def test_reports_each_datasets_csv_export() -> None:
    items, _ = _split(_spider().parse_catalogue(_answer("catalog.json", "api/catalog/v1"), SITE, 0))
    assert [i["url"] for i in items] == [
        _export("ccwp-2022"),
        SITE + "api/geospatial/mapx-1234?method=export&format=GeoJSON",  # a map: its GeoJSON
        _export("bdgt-2024"),
    ]
    first = items[0]
    assert (first["portal"], first["dataset"], first["title"]) == (
        "socrata",
        "ccwp-2022",
        "CCW permit applicants",
    )
    assert first["referer"] == SITE + "d/ccwp-2022"
    assert items[2]["referer"] == SITE + "d/bdgt-2024"  # no permalink given


def test_ids_that_are_not_four_by_four_are_skipped() -> None:
    items, _ = _split(_spider().parse_catalogue(_answer("catalog.json", "api/catalog/v1"), SITE, 0))
    assert not [i for i in items if "passwd" in i["url"]]


def test_next_page_until_result_set_size() -> None:
    spider = _spider()
    _, (following,) = _split(
        spider.parse_catalogue(_answer("catalog.json", "api/catalog/v1"), SITE, 0)
    )
    assert _query(following)["offset"] == "4"
    assert (spider.progress, spider.next_cursor) == ((4, 9), "4")
    last = _spider(cursor="5")
    _, requests = _split(last.parse_catalogue(_answer("catalog.json", "api/catalog/v1"), SITE, 5))
    assert requests == []
    assert (last.progress, last.next_cursor) == ((9, 9), None)


def test_cap_stops_the_walk_for_this_poll() -> None:
    spider = _spider(max_datasets=1)
    items, requests = _split(
        spider.parse_catalogue(_answer("catalog.json", "api/catalog/v1"), SITE, 0)
    )
    assert [i["dataset"] for i in items] == ["ccwp-2022"]
    assert requests == []
    assert (spider.progress, spider.next_cursor) == ((1, 9), "1")


def test_domain_deeper_than_the_discovery_window_is_a_failure() -> None:
    spider = _spider()
    spider.window = 8
    list(spider.parse_catalogue(_answer("catalog.json", "api/catalog/v1"), SITE, 4))
    assert spider.next_cursor is None
    assert "first 8 of 9" in spider.failures[0]


@pytest.mark.parametrize("status", [400, 404])
def test_no_discovery_api_falls_back_to_views_json(status: int) -> None:
    spider = _spider()
    _, (request,) = _split(spider.parse_catalogue(_answer("", "api/catalog/v1", status), SITE, 0))
    assert request.url == SITE + "api/views.json?limit=1000&page=1"
    assert spider.failures == []


def test_views_json_reports_original_tables_only() -> None:
    spider = _spider()
    answer = _answer("views.json", "api/views.json?limit=1000&page=1")
    items, requests = _split(spider.parse_views(answer, SITE, 0, 1000))
    assert [i["dataset"] for i in items] == ["ccwp-2022", "old1-0001"]
    assert requests == []  # fewer than a page: the listing is through
    assert (spider.progress, spider.next_cursor) == ((4, 4), None)


def test_views_json_walks_page_by_page() -> None:
    spider = _spider(max_datasets=4)
    answer = _answer("views.json", "api/views.json?limit=4&page=1")
    _, requests = _split(spider.parse_views(answer, SITE, 0, 4))
    assert requests == []  # this poll's room is used up
    assert spider.next_cursor == "views:4"


def test_no_views_json_falls_back_to_data_json() -> None:
    spider = _spider()
    _, (request,) = _split(spider.parse_views(_answer("", "api/views.json", 404), SITE, 0, 1000))
    assert request.url == SITE + "data.json"


def test_data_json_gives_the_dataset_ids() -> None:
    spider = _spider()
    items, _ = _split(spider.parse_datajson(_answer("data.json", "data.json"), SITE))
    assert [(i["url"], i["referer"]) for i in items] == [
        (_export("ccwp-2022"), SITE + "d/ccwp-2022"),
        (_export("bdgt-2024"), SITE + "d/bdgt-2024"),
    ]
    assert (spider.progress, spider.next_cursor) == ((3, 3), None)


def test_no_catalogue_endpoint_at_all_is_a_failure() -> None:
    spider = _spider()
    assert list(spider.parse_datajson(_answer("", "data.json", 404), SITE)) == []
    assert "no catalogue endpoint answered" in spider.failures[0]


def test_catalogue_answer_that_is_not_json_is_a_failure() -> None:
    spider = _spider(cursor="8")
    answer = TextResponse(SITE + "api/catalog/v1", body=b"<html>", encoding="utf-8")
    assert list(spider.parse_catalogue(answer, SITE, 8)) == []
    assert "not JSON" in spider.failures[0]
    assert spider.next_cursor == "8"
