"""Portal-kind detection from a start page and well-known API answers (no network)."""

from __future__ import annotations

import asyncio
import json

import pytest
from scrapy.http import HtmlResponse, Request, TextResponse

from spiders.detect import DetectSpider

ROOT = "https://data.example.gov"


def _json(url: str, body: object) -> TextResponse:
    return TextResponse(url, body=json.dumps(body).encode(), encoding="utf-8", request=Request(url))


def _spider() -> DetectSpider:
    return DetectSpider(target="t", start_urls=[ROOT + "/"], allowed_domains=["example.gov"])


@pytest.mark.parametrize(
    ("kind", "url", "body"),
    [
        (
            "ckan",
            "/api/3/action/status_show",
            {"success": True, "result": {"ckan_version": "2.10"}},
        ),
        ("socrata", "/api/catalog/v1", {"results": [], "resultSetSize": 0}),
        (
            "arcgis",
            "/arcgis/rest/services",
            {"currentVersion": 11.1, "folders": [], "services": []},
        ),
        (
            "dcat",
            "/data.json",
            {
                "conformsTo": "https://project-open-data.cio.gov/v1.1/schema",
                "dataset": [{"title": "x"}],
            },
        ),
    ],
)
def test_an_api_answer_of_the_right_shape_is_evidence(kind: str, url: str, body: object) -> None:
    spider = _spider()
    spider.api(_json(ROOT + url, body), kind)
    assert spider.detected == kind


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("ckan", {"success": False, "error": {"message": "Not found"}}),
        ("socrata", {"error": "no such endpoint"}),
        ("arcgis", {"error": {"code": 404}}),
        ("dcat", {"title": "not a catalogue"}),
        ("ckan", ["a", "list"]),
    ],
)
def test_answers_of_the_wrong_shape_are_not_evidence(kind: str, body: object) -> None:
    spider = _spider()
    spider.api(_json(ROOT + "/x", body), kind)
    assert spider.detected == "html"


def test_an_embedded_dashboard_makes_a_tableau_portal() -> None:
    page = (
        b"<html><body><div class='tableauPlaceholder'><object class='tableauViz'>"
        b"<param name='name' value='Firearms/Dashboard'/></object></div></body></html>"
    )
    spider = _spider()
    spider.page(HtmlResponse(ROOT + "/", body=page, request=Request(ROOT + "/")))
    assert spider.detected == "tableau"


def test_dashboards_win_over_an_api_on_the_same_host() -> None:
    spider = _spider()
    spider.api(_json(ROOT + "/data.json", {"dataset": []}), "dcat")
    spider.page(
        HtmlResponse(
            ROOT + "/",
            body=b"<tableau-viz src='https://public.tableau.com/views/A/B'>",
            request=Request(ROOT + "/"),
        )
    )
    assert spider.detected == "tableau"


def test_plain_pages_are_html() -> None:
    spider = _spider()
    spider.page(
        HtmlResponse(
            ROOT + "/", body=b"<html><a href='a.csv'>a</a></html>", request=Request(ROOT + "/")
        )
    )
    assert spider.detected == "html"
    assert spider.evidence == {}


def _page(body: bytes, url: str = ROOT + "/", media: bytes = b"text/html") -> HtmlResponse:
    return HtmlResponse(url, body=body, headers={"Content-Type": media}, request=Request(url))


@pytest.mark.parametrize(
    "body",
    [
        b"<html><a href='https://public.tableau.com/views/Crime/Map'>our dashboard</a></html>",
        b"<html><a href='/views/list'>saved views</a></html>",  # not even Tableau
    ],
)
def test_a_page_that_merely_links_a_view_is_html(body: bytes) -> None:
    spider = _spider()
    spider.page(_page(body))
    assert spider.detected == "html"


def test_a_json_body_mentioning_views_is_not_tableau() -> None:
    spider = _spider()
    body = json.dumps({"links": {"self": "/api/views/abcd-1234", "tableauplaceholder": 1}})
    spider.page(
        TextResponse(ROOT + "/", body=body.encode(), encoding="utf-8", request=Request(ROOT + "/"))
    )
    assert spider.detected == "html"


def test_a_dcat_us_1_0_list_with_a_bom_is_dcat() -> None:
    # DCAT-US 1.0 (project-open-data schema/1_0_final/catalog.json): "type": "array".
    catalogue = [
        {
            "title": "Permits",
            "identifier": "agency-permits",
            "accessLevel": "public",
            "distribution": [{"accessURL": ROOT + "/permits.csv", "format": "text/csv"}],
        }
    ]
    body = b"\xef\xbb\xbf" + json.dumps(catalogue).encode()
    spider = _spider()
    spider.api(
        TextResponse(
            ROOT + "/data.json", body=body, encoding="utf-8", request=Request(ROOT + "/data.json")
        ),
        "dcat",
    )
    assert spider.detected == "dcat"
    assert "DCAT-US 1.0" in spider.evidence["dcat"]


def test_a_list_that_is_not_a_catalogue_is_not_dcat() -> None:
    spider = _spider()
    spider.api(_json(ROOT + "/data.json", [{"name": "x"}, {"name": "y"}]), "dcat")
    assert spider.detected == "html"


def test_an_arcgis_hub_feed_is_arcgis_not_plain_dcat() -> None:
    feed = {
        "dataset": [
            {
                "title": "Parcels",
                "distribution": [
                    {
                        "title": "ArcGIS Hub Dataset",
                        "format": "Web page",
                        "accessURL": ROOT + "/datasets/x",
                    },
                    {
                        "title": "CSV",
                        "format": "CSV",
                        "accessURL": ROOT + "/api/download/v1/items/x/csv?layers=0",
                    },
                ],
            }
        ]
    }
    spider = _spider()
    spider.api(_json(ROOT + "/data.json", feed), "dcat")
    assert spider.detected == "arcgis"
    assert "Hub" in spider.evidence["arcgis"]


def test_probes_follow_the_start_url_path() -> None:
    spider = DetectSpider(target="t", start_urls=["https://data.gov.au/data/"], allowed_domains=[])

    async def collect() -> list[str]:
        return [r.url async for r in spider.start()]

    urls = asyncio.run(collect())
    assert "https://data.gov.au/data/api/3/action/status_show" in urls
    assert "https://data.gov.au/api/3/action/status_show" in urls
    assert "https://data.gov.au/data/data.json" in urls
    assert "https://data.gov.au/api/feed/dcat-us/1.1.json" in urls
