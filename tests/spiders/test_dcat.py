"""The DCAT spider on a saved ``data.json``: which distributions are data files, and walks.

No network and no reactor: the catalogue is ``tests/data/portals/dcat/data.json``
and the spider's callbacks are called directly.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.http import TextResponse

from monitor.crawl.items import API_REQUEST, DatasetItem
from spiders.dcat import DcatSpider, catalogue_url

PAGES = Path(__file__).resolve().parents[1] / "data" / "portals" / "dcat"
SITE = "https://www.agency.example.gov/"
CATALOGUE = SITE + "data.json"


def _spider(**overrides: Any) -> DcatSpider:
    args: dict[str, Any] = {
        "target": "agency",
        "start_urls": [SITE],
        "allowed_domains": ["agency.example.gov"],
    }
    return DcatSpider(**(args | overrides))


def _catalogue(body: bytes | None = None) -> TextResponse:
    body = (PAGES / "data.json").read_bytes() if body is None else body
    request = Request(CATALOGUE, meta={API_REQUEST: True})
    return TextResponse(CATALOGUE, body=body, encoding="utf-8", request=request)


def _items(spider: DcatSpider, response: TextResponse | None = None) -> list[DatasetItem]:
    return [i for i in spider.parse(response or _catalogue()) if isinstance(i, DatasetItem)]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.agency.gov/", "https://www.agency.gov/data.json"),
        ("https://www.agency.gov", "https://www.agency.gov/data.json"),
        ("https://www.agency.gov/open", "https://www.agency.gov/open/data.json"),
        (
            "https://www.agency.gov/digitalstrategy/data.json",
            "https://www.agency.gov/digitalstrategy/data.json",
        ),
        (
            "https://www.agency.gov/inventory/catalog.JSON",
            "https://www.agency.gov/inventory/catalog.JSON",
        ),
    ],
)
def test_catalogue_url(url: str, expected: str) -> None:
    assert catalogue_url(url) == expected


def test_requests_the_catalogue_as_an_api_page() -> None:
    async def collect() -> list[Request]:
        return [r async for r in _spider().start()]

    (request,) = asyncio.run(collect())
    assert request.url == CATALOGUE
    assert request.meta[API_REQUEST] is True


def test_reports_download_urls_and_access_urls_that_are_data() -> None:
    assert [i["url"] for i in _items(_spider())] == [
        SITE + "files/dealers.csv",  # once, though listed three times
        SITE + "files/export?id=dealers",  # accessURL with a spreadsheet mediaType
        SITE + "files/grants.xlsx",  # relative downloadURL; a lone distribution object
        "https://gis.agency.example.gov/inspections.geojson",  # accessURL by its extension
    ]


def test_landing_pages_and_services_are_not_reported() -> None:
    urls = [i["url"] for i in _items(_spider())]
    assert not [u for u in urls if u.endswith(("/search", "/MapServer"))]


def test_distribution_on_another_domain_is_counted_not_reported() -> None:
    spider = _spider()
    _items(spider)
    assert spider.offsite_files == {"https://cdn.example.net/inspections.zip"}


def test_provenance_is_the_dataset_identifier_title_and_landing_page() -> None:
    dealers, export, grants, _ = _items(_spider())
    assert dealers["portal"] == "dcat"
    assert dealers["dataset"] == "agency-dealers-2024"
    assert dealers["title"] == "Licensed firearm dealers: Dealers (CSV)"
    assert dealers["referer"] == SITE + "data/dealers"
    assert export["title"] == "Licensed firearm dealers: Dealers (Excel)"
    assert grants["dataset"] == SITE + "id/grants"
    assert grants["title"] == "Grant recipients: XLSX"
    assert grants["referer"] == CATALOGUE  # no landing page


def test_walks_its_share_of_the_datasets_and_says_where_it_stopped() -> None:
    first = _spider(max_datasets=2)
    assert {i["dataset"] for i in _items(first)} == {"agency-dealers-2024", SITE + "id/grants"}
    assert (first.next_cursor, first.progress) == ("2", (2, 3))
    last = _spider(max_datasets=2, cursor="2")
    assert {i["dataset"] for i in _items(last)} == {"inspections-map"}
    assert (last.next_cursor, last.progress) == (None, (3, 3))


def test_cursor_past_a_shrunken_catalogue_ends_the_walk() -> None:
    spider = _spider(cursor="40")
    assert _items(spider) == []
    assert (spider.next_cursor, spider.progress) == (None, (3, 3))


def test_legacy_catalogue_is_a_top_level_list() -> None:
    datasets = json.loads((PAGES / "data.json").read_bytes())["dataset"]
    items = _items(_spider(), _catalogue(json.dumps(datasets[:1]).encode()))
    assert [i["url"] for i in items] == [
        SITE + "files/dealers.csv",
        SITE + "files/export?id=dealers",
    ]


@pytest.mark.parametrize("body", [b"<html>Down for maintenance</html>", b'{"dataset": {}}', b"[1"])
def test_catalogue_that_cannot_be_read_is_a_failure(body: bytes) -> None:
    spider = _spider(cursor="1")
    assert _items(spider, _catalogue(body)) == []
    assert len(spider.failures) == 1
    assert spider.next_cursor == "1"  # the walk stays where it was


def test_walk_stops_between_datasets_before_the_request_budget_is_spent() -> None:
    spider = _spider(max_requests=4)  # plans for 3.6 requests: robots.txt and three files
    assert len(_items(spider)) == 3  # the first two datasets' files
    assert (spider.next_cursor, spider.progress) == ("2", (2, 3))


# -- Esri links: read as ArcGIS layers -----------------------------------------------------

ESRI = "https://gis.agency.example.gov/arcgis/rest/services/"


def _esri_catalogue(*distributions: dict[str, Any]) -> TextResponse:
    dataset = {"identifier": "permits", "title": "Permits", "distribution": list(distributions)}
    return _catalogue(json.dumps({"dataset": [dataset]}).encode())


def test_a_linked_map_service_is_read_as_layers_not_fetched_as_a_file() -> None:
    spider = _spider()
    out = list(spider.parse(_catalogue()))
    requests = [o for o in out if isinstance(o, Request)]
    assert [r.url for r in requests] == [ESRI + "Inspections/MapServer/layers?f=json"]
    assert requests[0].callback == spider.layers
    assert requests[0].cb_kwargs["at"] is None  # never moves the catalogue's walk
    assert not [u for u, (state, _) in spider.unchecked.items() if "MapServer" in u]


def test_a_linked_layer_is_described_then_counted() -> None:
    spider = _spider()
    layer = {"accessURL": ESRI + "Public/Permits/FeatureServer/3", "mediaType": "application/json"}
    (request,) = [o for o in spider.parse(_esri_catalogue(layer)) if isinstance(o, Request)]
    assert request.url == ESRI + "Public/Permits/FeatureServer/3?f=json"
    assert request.callback == spider.layer


def test_image_and_geoprocessing_services_are_reported_unsupported() -> None:
    spider = _spider()
    image = {"accessURL": ESRI + "Imagery/ImageServer", "mediaType": "application/json"}
    assert list(spider.parse(_esri_catalogue(image))) == []
    assert spider.unchecked[ESRI + "Imagery/ImageServer"][0] == "unsupported"


def test_an_esri_layer_on_another_host_is_not_checked_for_permission() -> None:
    spider = _spider()
    far = "https://services.arcgis.com/abc/arcgis/rest/services/Permits/FeatureServer/0"
    assert list(spider.parse(_esri_catalogue({"accessURL": far}))) == []
    assert spider.unchecked[far][0] == "permission"


def test_a_hub_dataset_page_is_read_as_its_csv_download_when_no_layer_is_linked() -> None:
    item = "0123456789abcdef0123456789abcdef"
    page = {"accessURL": f"https://data.agency.example.gov/datasets/{item}_2", "format": "Web page"}
    (found,) = _items(_spider(), _esri_catalogue(page))
    assert found["url"] == (
        f"https://data.agency.example.gov/api/download/v1/items/{item}/csv?layers=2"
    )
    layer = {"accessURL": ESRI + "Public/Permits/FeatureServer/2"}
    assert _items(_spider(), _esri_catalogue(page, layer)) == []  # the layer is read instead


def test_a_linked_layer_too_large_for_the_budget_is_not_checked_for_budget() -> None:
    spider = _spider(max_requests=12)
    layer_url = ESRI + "Public/Permits/FeatureServer/3"
    (describe,) = [
        o for o in spider.parse(_esri_catalogue({"accessURL": layer_url})) if isinstance(o, Request)
    ]
    description = {
        "id": 3,
        "name": "Permits",
        "type": "Feature Layer",
        "maxRecordCount": 100,
        "objectIdField": "OBJECTID",
        "advancedQueryCapabilities": {"supportsPagination": True},
    }
    answer = TextResponse(
        describe.url, body=json.dumps(description).encode(), encoding="utf-8", request=describe
    )
    (count,) = list(describe.callback(answer, **describe.cb_kwargs))
    rows = TextResponse(count.url, body=b'{"count": 1000}', encoding="utf-8", request=count)
    # 10 pages, with robots.txt and the two layer requests: over 90% of 12.
    assert list(count.callback(rows, **count.cb_kwargs)) == []
    assert spider.unchecked[layer_url][0] == "budget"
    assert spider.next_cursor is None  # the catalogue's walk is not held back by it
