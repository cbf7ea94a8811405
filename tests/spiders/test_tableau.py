"""The Tableau spider against saved embed codes: which views a page shows, and their exports.

No network and no reactor: responses are built from ``tests/data/portals/tableau/``
(Tableau Public's share code, Tableau Server's embed code, Embedding API v3,
iframes, links and a JavaScript API v2 script) and the callbacks are called directly.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, TextResponse

from monitor.crawl.items import API_REQUEST, SAME_DEPTH, DatasetItem, ViewItem
from spiders.tableau import TableauSpider

PAGES = Path(__file__).resolve().parents[1] / "data" / "portals" / "tableau"
SITE = "https://data.example.gov"
PUBLIC = "https://public.tableau.com"


def _spider(**overrides: Any) -> TableauSpider:
    args: dict[str, Any] = {
        "target": "justice",
        "start_urls": [SITE + "/"],
        "allowed_domains": ["example.gov"],
    }
    return TableauSpider(**(args | overrides))


def _page(name: str, url: str = SITE + "/dashboards/ccw") -> HtmlResponse:
    return HtmlResponse(url=url, body=(PAGES / name).read_bytes(), encoding="utf-8")


def _split(output: Any) -> tuple[list[DatasetItem], list[Request]]:
    results = list(output)
    items = [r for r in results if isinstance(r, DatasetItem)]
    requests = [r for r in results if isinstance(r, Request)]
    views = [r for r in results if isinstance(r, ViewItem)]
    assert len(items) + len(requests) + len(views) == len(results)
    # Every view reported by its export is handed to the crawler for its viz session too.
    exported = {
        i["url"].removesuffix(".csv?:showVizHome=no") for i in items if "/views/" in i["url"]
    }
    assert {v["url"] for v in views} == exported
    return items, requests


def _exports(items: list[DatasetItem]) -> list[tuple[str, str, str]]:
    return [(i["url"], i["dataset"], _sheet_title(i)) for i in items if "/views/" in i["url"]]


def _sheet_title(item: DatasetItem) -> str:
    """Return the sheet's part of an export's title (``Summary data of view <wb>/<sheet>``)."""
    prefix = f"Summary data of view {item['dataset']}/"
    assert item["title"].startswith(prefix)
    return str(item["title"]).removeprefix(prefix)


# -- embed codes -------------------------------------------------------------------------


def test_tableau_public_share_code_gives_the_view_export_and_asks_for_its_sheets() -> None:
    items, requests = _split(_spider().parse(_page("public_embed.html")))
    assert _exports(items) == [
        (
            PUBLIC + "/views/CCWApplicants/Applicants.csv?:showVizHome=no",
            "CCWApplicants",
            "Applicants",
        )
    ]
    api = [r for r in requests if "/profile/api/" in r.url]
    assert [r.url for r in api] == [PUBLIC + "/profile/api/workbook/CCWApplicants"]
    assert api[0].meta[API_REQUEST]
    assert api[0].meta[SAME_DEPTH]
    assert api[0].meta["handle_httpstatus_list"] == [404]


def test_page_files_and_links_are_still_reported_and_followed() -> None:
    items, requests = _split(_spider().parse(_page("public_embed.html")))
    assert SITE + "/files/ccw-counts-by-county.csv" in [i["url"] for i in items]
    pages = [r.url for r in requests if "/profile/api/" not in r.url]
    assert pages == [SITE + "/", SITE + "/dashboards/"]


def test_export_item_carries_workbook_sheet_and_the_embedding_page() -> None:
    items, _ = _split(_spider().parse(_page("public_embed.html")))
    export = next(i for i in items if "/views/" in i["url"])
    assert dict(export) == {
        "url": PUBLIC + "/views/CCWApplicants/Applicants.csv?:showVizHome=no",
        "target": "justice",
        "portal": "tableau",
        "dataset": "CCWApplicants",
        "title": "Summary data of view CCWApplicants/Applicants",
        "referer": SITE + "/dashboards/ccw",
    }


def test_tableau_server_embed_code_with_a_site_and_the_default_site() -> None:
    items, requests = _split(_spider().parse(_page("server_embed.html")))
    server = "https://dashboards.doj.example.gov"
    assert _exports(items) == [
        (
            server + "/t/OpenJustice/views/Firearms/CCWbyCounty.csv?:showVizHome=no",
            "Firearms",
            "CCWbyCounty",
        ),
        (server + "/views/Budget/Spending.csv?:showVizHome=no", "Budget", "Spending"),
    ]
    assert requests == []  # no profile API off Tableau Public


def test_trusted_ticket_and_incomplete_embeds_are_skipped() -> None:
    items, _ = _split(_spider().parse(_page("server_embed.html")))
    urls = " ".join(i["url"] for i in items)
    assert "Staff" not in urls
    assert "OnlyAWorkbook" not in urls


def test_embedding_api_v3_tableau_viz_elements() -> None:
    items, _ = _split(_spider().parse(_page("v3_embed.html")))
    assert _exports(items) == [
        (
            PUBLIC + "/views/ArrestDispositions/Dashboard1.csv?:showVizHome=no",
            "ArrestDispositions",
            "Dashboard1",
        ),
        (
            "https://tableau.courts.example.gov/t/Courts/views/Caseload/Summary.csv?:showVizHome=no",
            "Caseload",
            "Summary",
        ),
    ]


def test_iframes_links_and_javascript_api_urls() -> None:
    items, requests = _split(_spider().parse(_page("links.html")))
    assert [(d, t) for _, d, t in _exports(items)] == [
        ("HateCrimes", "Overview"),  # iframe, and again as a direct .csv link: once
        ("DeathsInCustody", "Trends"),
        ("UseOfForce", "Incidents"),
        ("Stops", "ByBeat"),
        ("Budget", "Spending"),
        ("Arrests", "ByRace"),  # new tableau.Viz(div, url) in a script
    ]
    followed = [r.url for r in requests if "/profile/api/" not in r.url]
    # Not views: CMS "views" on a host that loads no Tableau API. Not followed: the
    # Tableau server's home page that the /#/views/ links leave without their fragment.
    assert followed == [
        SITE + "/views/news/latest",
        "https://www.example.gov/views/archive/2021",
        SITE + "/dashboards/page/2/",
    ]


def test_embedded_tableau_host_is_allowed_for_exports_but_not_crawled() -> None:
    spider = _spider()
    _split(spider.parse(_page("public_embed.html")))
    assert spider.allowed_domains == ["example.gov", "public.tableau.com"]
    assert spider.tableau_hosts == {"public.tableau.com"}
    assert spider.configured_domains == ["example.gov"]
    assert not spider._allowed(PUBLIC + "/app/discover")


def test_no_allowed_domains_means_every_host_and_nothing_is_added() -> None:
    spider = _spider(allowed_domains=[])
    _split(spider.parse(_page("public_embed.html")))
    assert spider.allowed_domains == []


def test_a_view_is_reported_once_per_poll_across_pages() -> None:
    spider = _spider()
    first, _ = _split(spider.parse(_page("public_embed.html")))
    again, requests = _split(spider.parse(_page("public_embed.html", SITE + "/other")))
    assert len(_exports(first)) == 1
    assert _exports(again) == []
    assert not [r for r in requests if "/profile/api/" in r.url]  # asked once per workbook


def test_start_url_that_is_a_view_is_reported_without_fetching_it() -> None:
    spider = _spider(
        start_urls=[SITE + "/", PUBLIC + "/app/profile/example.doj/viz/CCWApplicants/Applicants"],
        allowed_domains=["example.gov", "tableau.com"],
    )

    async def collect() -> list[Any]:
        return [r async for r in spider.start()]

    items, requests = _split(asyncio.run(collect()))
    assert [r.url for r in requests] == [SITE + "/", PUBLIC + "/profile/api/workbook/CCWApplicants"]
    assert [i["url"] for i in items] == [
        PUBLIC + "/views/CCWApplicants/Applicants.csv?:showVizHome=no"
    ]
    assert items[0]["referer"] is None


# -- Tableau Public's profile API --------------------------------------------------------


def _api(body: bytes, status: int = 200) -> TextResponse:
    url = PUBLIC + "/profile/api/workbook/CCWApplicants"
    return TextResponse(url=url, body=body, status=status, encoding="utf-8")


def test_profile_api_lists_every_visible_sheet_of_the_workbook() -> None:
    spider = _spider()
    _split(spider.parse(_page("public_embed.html")))  # the embedded view is reported first
    items, requests = _split(spider.sheets(_api((PAGES / "workbook.json").read_bytes()), PUBLIC))
    assert requests == []
    assert [(i["url"], i["dataset"], _sheet_title(i)) for i in items] == [
        (
            PUBLIC + "/views/CCWApplicants/ByCounty.csv?:showVizHome=no",
            "CCWApplicants",
            "By County",
        ),
        (
            PUBLIC + "/views/CCWApplicants/ApplicantDetail.csv?:showVizHome=no",
            "CCWApplicants",
            "Applicant Detail",
        ),
    ]
    assert {i["referer"] for i in items} == {PUBLIC + "/profile/api/workbook/CCWApplicants"}


def test_profile_api_404_is_no_sheets_and_no_failure() -> None:
    spider = _spider()
    items, _ = _split(spider.sheets(_api(b"", status=404), PUBLIC))
    assert items == []
    assert spider.failures == []


@pytest.mark.parametrize("body", [b"<html>Maintenance</html>", b'{"viewInfos": "none"}', b"[]"])
def test_profile_api_answers_that_are_not_its_json(body: bytes) -> None:
    spider = _spider()
    items, _ = _split(spider.sheets(_api(body), PUBLIC))
    assert items == []
    assert len(spider.failures) == (1 if body.startswith(b"<") else 0)


def test_closing_logs_the_views_and_hosts(caplog: pytest.LogCaptureFixture) -> None:
    spider = _spider()
    _split(spider.parse(_page("links.html")))
    with caplog.at_level(logging.INFO):
        spider.closed("finished")
    assert "6 Tableau view(s) found" in caplog.text
    assert "analytics.example.gov, public.tableau.com" in caplog.text


def test_a_relative_link_on_a_page_under_views_is_still_found() -> None:
    # The link itself names no view; it takes "/views/Stops/" from the page's URL.
    page = HtmlResponse(
        url="https://tableau.example.gov/views/Stops/ByBeat",
        body=b'<html><body><a href="ByRace">by race</a></body></html>',
        encoding="utf-8",
    )
    items, _ = _split(_spider(allowed_domains=["example.gov"]).parse(page))
    assert ("Stops", "ByRace") in [(d, t) for _, d, t in _exports(items)]


def test_a_relative_shared_link_under_a_base_href_is_resolved() -> None:
    page = HtmlResponse(
        url=SITE + "/dashboards/ccw",
        body=(
            b'<html><head><base href="https://public.tableau.com/shared/">'
            b'</head><body><a href="ABC123XYZ">dashboard</a></body></html>'
        ),
        encoding="utf-8",
    )
    _, requests = _split(_spider().parse(page))
    assert PUBLIC + "/shared/ABC123XYZ" in [r.url for r in requests]
