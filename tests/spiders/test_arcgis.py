"""The ArcGIS spider against saved REST and Hub answers: what it lists, pages and reports.

No network and no reactor: answers are built from ``tests/data/portals/arcgis/``
(a services directory, a folder, a service's ``/layers``, a Hub DCAT-US feed) or
inline, and the callbacks are called directly.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.http import TextResponse
from twisted.python.failure import Failure

from monitor.crawl.items import API_REQUEST, DatasetItem
from spiders.arcgis import ArcgisSpider
from spiders.arcgis_rest import Layer, locate

SAVED = Path(__file__).resolve().parents[1] / "data" / "portals" / "arcgis"
ROOT = "https://gis.example.gov/arcgis/rest/services"
HUB = "https://data-exampledoj.hub.arcgis.com"
CCW = ROOT + "/Justice/CCW_Permits/FeatureServer"


def _spider(**overrides: Any) -> ArcgisSpider:
    args: dict[str, Any] = {
        "target": "gis",
        "start_urls": [ROOT],
        "allowed_domains": ["example.gov"],
    }
    return ArcgisSpider(**(args | overrides))


def _answer(url: str, data: Any) -> TextResponse:
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    return TextResponse(url=url, body=body, encoding="utf-8", request=Request(url))


def _saved(name: str, url: str) -> TextResponse:
    return _answer(url, (SAVED / name).read_bytes())


def _split(output: Any) -> tuple[list[DatasetItem], list[Request]]:
    results = list(output)
    items = [r for r in results if isinstance(r, DatasetItem)]
    requests = [r for r in results if isinstance(r, Request)]
    assert len(items) + len(requests) == len(results)
    return items, requests


def _start(spider: ArcgisSpider) -> tuple[list[DatasetItem], list[Request]]:
    async def collect() -> list[Any]:
        return [r async for r in spider.start()]

    return _split(asyncio.run(collect()))


# -- start ---------------------------------------------------------------------------------


def test_start_requests_the_listings_as_api_requests() -> None:
    spider = _spider(start_urls=[ROOT, ROOT + "/Justice?f=json", HUB, HUB + "/data.json"])
    items, requests = _start(spider)
    assert items == []
    assert [(r.url, r.callback.__name__) for r in requests] == [
        (ROOT + "?f=json", "directory"),
        (ROOT + "/Justice?f=json", "directory"),
        (HUB + "/api/feed/dcat-us/1.1.json", "feed"),
        (HUB + "/data.json", "feed"),
    ]
    assert all(r.meta[API_REQUEST] and r.errback == spider.listing_failed for r in requests)


def test_service_and_layer_start_urls_are_walked_at_once() -> None:
    _, requests = _start(_spider(start_urls=[CCW, ROOT + "/Parcels/MapServer/3"]))
    assert [(r.url, r.callback.__name__) for r in requests] == [
        (CCW + "/layers?f=json", "layers"),
        (ROOT + "/Parcels/MapServer/3?f=json", "layer"),
    ]


# -- directories and folders -------------------------------------------------------------


def test_directory_lists_folders_and_waits_for_them_before_walking() -> None:
    spider = _spider()
    _start(spider)
    _, requests = _split(spider.directory(_saved("directory.json", ROOT + "?f=json")))
    assert [r.url for r in requests] == [ROOT + "/Justice?f=json", ROOT + "/Utilities?f=json"]
    _, requests = _split(spider.directory(_saved("folder.json", ROOT + "/Justice?f=json")))
    assert requests == []  # Utilities has not answered yet
    _, requests = _split(spider.directory(_answer(ROOT + "/Utilities?f=json", {"services": []})))
    # Image, geocode, GP and scene services hold no rows; Basemap and Justice/Stops are
    # MapServers with feature access, read once as FeatureServers.
    assert [r.url for r in requests] == [
        ROOT + "/Basemap/FeatureServer/layers?f=json",
        ROOT + "/Justice/CCW_Permits/FeatureServer/layers?f=json",
        ROOT + "/Justice/Stops/FeatureServer/layers?f=json",
        ROOT + "/Parcels/MapServer/layers?f=json",
    ]
    assert [r.cb_kwargs["at"] for r in requests] == ["0", "1", "2", "3"]
    assert spider.progress == (4, 4)
    assert spider.next_cursor is None


def test_a_failed_folder_still_lets_the_rest_be_walked() -> None:
    spider = _spider()
    _start(spider)
    _, folders = _split(spider.directory(_saved("directory.json", ROOT + "?f=json")))
    _split(spider.listing_failed(Failure(ValueError("HTTP 503"), exc_tb=None)))
    _, requests = _split(spider.listing_failed(Failure(ValueError("HTTP 503"))))
    assert len(folders) == 2
    assert [r.url.removeprefix(ROOT) for r in requests] == [
        "/Basemap/FeatureServer/layers?f=json",
        "/Parcels/MapServer/layers?f=json",
    ]


def test_walk_takes_max_datasets_services_from_the_cursor() -> None:
    spider = _spider(cursor="1", max_datasets=2)
    _start(spider)
    _split(spider.directory(_saved("directory.json", ROOT + "?f=json")))
    _split(spider.directory(_saved("folder.json", ROOT + "/Justice?f=json")))
    _, requests = _split(spider.directory(_answer(ROOT + "/Utilities?f=json", {})))
    assert [r.url.removeprefix(ROOT) for r in requests] == [
        "/Justice/CCW_Permits/FeatureServer/layers?f=json",
        "/Justice/Stops/FeatureServer/layers?f=json",
    ]
    assert [r.cb_kwargs["at"] for r in requests] == ["1", "2"]
    assert spider.progress == (3, 4)
    assert spider.next_cursor == "3"


# -- layers, counts and pages ------------------------------------------------------------


def test_layers_of_a_service_are_counted_or_listed_by_id() -> None:
    spider = _spider()
    place = locate(CCW)
    _, requests = _split(spider.layers(_saved("layers.json", CCW + "/layers?f=json"), place, "1"))
    assert [(r.url.removeprefix(CCW), r.callback.__name__) for r in requests] == [
        ("/0/query?where=1%3D1&returnCountOnly=true&f=json", "count"),
        ("/2/query?where=1%3D1&returnCountOnly=true&f=json", "count"),
        ("/5/query?where=1%3D1&returnIdsOnly=true&f=json", "ids"),  # no paging: object IDs
    ]
    # Skipped: a group layer, a raster layer, a layer that cannot be queried.
    layers = [r.cb_kwargs["layer"] for r in requests]
    assert [(x.name, x.page, x.oid, x.paged) for x in layers] == [
        ("Permit Holders", 2000, "OBJECTID", True),
        ("County Boundaries", 2000, "FID", True),  # maxRecordCount 5000, capped
        ("Applications", 1000, "APPL_ID", False),  # object-ID field from the fields list
    ]
    assert {x.service for x in layers} == {"Justice/CCW_Permits"}
    assert spider.failures == []


def _layer(page: int = 2000, paged: bool = True) -> Layer:
    return Layer(CCW + "/0", "Justice/CCW_Permits", "Permit Holders", page, "OBJECTID", paged)


def test_count_gives_one_item_per_page_in_row_order() -> None:
    spider = _spider()
    items, _ = _split(spider.count(_answer(CCW + "/0/query", {"count": 4500}), _layer(), "1"))
    assert [i["url"].removeprefix(CCW + "/0/query?") for i in items] == [
        f"where=1%3D1&outFields=*&orderByFields=OBJECTID&resultOffset={o}"
        "&resultRecordCount=2000&f=json"
        for o in (0, 2000, 4000)
    ]
    assert [i["title"] for i in items] == [
        "Permit Holders rows 1–2000",
        "Permit Holders rows 2001–4000",
        "Permit Holders rows 4001–4500",
    ]
    assert dict(items[0]) | {"url": "", "title": ""} == {
        "url": "",
        "target": "gis",
        "portal": "arcgis",
        "dataset": "Justice/CCW_Permits",
        "title": "",
        "referer": CCW + "/0",
    }


def test_an_empty_layer_gives_no_page() -> None:
    items, _ = _split(_spider().count(_answer(CCW + "/0/query", {"count": 0}), _layer(), "1"))
    assert items == []


def test_ids_give_object_id_ranges_of_a_page_each() -> None:
    found = {"objectIdFieldName": "OBJECTID", "objectIds": [9, 3, 1, 12, 5]}
    items, _ = _split(
        _spider().ids(_answer(CCW + "/0/query", found), _layer(page=2, paged=False), "1")
    )
    assert [i["url"].removeprefix(CCW + "/0/query?") for i in items] == [
        "where=OBJECTID%3E%3D1%20AND%20OBJECTID%3C%3D3&outFields=*&f=json",
        "where=OBJECTID%3E%3D5%20AND%20OBJECTID%3C%3D9&outFields=*&f=json",
        "where=OBJECTID%3E%3D12%20AND%20OBJECTID%3C%3D12&outFields=*&f=json",
    ]
    assert [i["title"] for i in items] == [
        "Permit Holders rows 1–2",
        "Permit Holders rows 3–4",
        "Permit Holders rows 5–5",
    ]


def test_no_object_ids_no_pages() -> None:
    items, _ = _split(
        _spider().ids(_answer(CCW + "/0/query", {"objectIds": None}), _layer(paged=False), "1")
    )
    assert items == []


# -- errors inside HTTP 200 --------------------------------------------------------------


@pytest.mark.parametrize("code", [499, 498, 403])
def test_secured_resources_are_skipped_without_failing_the_poll(code: int) -> None:
    spider = _spider()
    answer = _answer(CCW + "/layers?f=json", {"error": {"code": code, "message": "Token Required"}})
    _, requests = _split(spider.layers(answer, locate(CCW), "1"))
    assert requests == []
    assert spider.failures == []


@pytest.mark.parametrize(
    "body",
    [
        b'{"error": {"code": 500, "message": "Error performing query operation", "details": []}}',
        b'{"error": {"code": 400, "message": "Invalid URL", "details": ["Invalid URL"]}}',
        b"<html><body>Proxy error</body></html>",
        b"[1, 2]",
        b'{"counted": 3}',
    ],
)
def test_other_errors_make_the_poll_incomplete_and_resume_there(body: bytes) -> None:
    spider = _spider()
    items, _ = _split(spider.count(_answer(CCW + "/0/query", body), _layer(), "3"))
    assert items == []
    assert len(spider.failures) == 1
    assert spider.next_cursor == "3"


# -- the request budget ------------------------------------------------------------------


def test_pages_that_fit_the_budget_are_reported() -> None:
    spider = _spider(max_requests=10)
    items, _ = _split(spider.count(_answer(CCW + "/0/query", {"count": 4500}), _layer(), "1"))
    assert len(items) == 3
    assert spider.next_cursor is None


def test_a_service_whose_pages_would_overflow_the_budget_waits_for_the_next_poll() -> None:
    spider = _spider(max_requests=10)
    spider.reported = {f"{CCW}/9/query?page={i}" for i in range(6)}  # 1 + 6 + 3 >= 9
    items, _ = _split(spider.count(_answer(CCW + "/0/query", {"count": 4500}), _layer(), "4"))
    assert items == []
    assert spider.next_cursor == "4"
    assert spider.failures == []  # partial, not failed


def test_a_layer_larger_than_the_budget_is_reported_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    spider = _spider(max_requests=10)
    spider.reported = {"https://gis.example.gov/other"}
    answer = _answer(CCW + "/0/query", {"count": 40_000})
    items, _ = _split(spider.count(answer, _layer(), "4"))
    assert len(items) == 20
    assert "raise it to watch all of them" in caplog.text
