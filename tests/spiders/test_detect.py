"""Portal-kind detection from a start page and well-known API answers (no network)."""

from __future__ import annotations

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
