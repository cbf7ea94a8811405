"""The HTML spider against saved portal pages: which links are data files, pages, or neither.

No network and no reactor: responses are built from ``tests/data/portals/html/``
and the spider's callbacks are called directly.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, Response, TextResponse

from monitor.crawl.items import SAME_DEPTH, DatasetItem
from spiders.html import HtmlSpider
from spiders.pagination import is_pagination

PAGES = Path(__file__).resolve().parents[1] / "data" / "portals" / "html"
SITE = "https://data.example.gov"


def _spider(**overrides: Any) -> HtmlSpider:
    args: dict[str, Any] = {
        "target": "county",
        "start_urls": [SITE + "/"],
        "allowed_domains": ["example.gov"],
    }
    return HtmlSpider(**(args | overrides))


def _page(name: str, url: str) -> HtmlResponse:
    return HtmlResponse(url=url, body=(PAGES / name).read_bytes(), encoding="utf-8")


def _split(output: Any) -> tuple[list[DatasetItem], list[Request]]:
    results = list(output)
    items = [r for r in results if isinstance(r, DatasetItem)]
    requests = [r for r in results if isinstance(r, Request)]
    assert len(items) + len(requests) == len(results)
    return items, requests


def _paths(urls: list[str]) -> list[str]:
    return [u.removeprefix(SITE) for u in urls]


def test_index_reports_files_by_extension_any_case() -> None:
    items, _ = _split(_spider().parse(_page("index.html", SITE + "/")))
    assert _paths([i["url"] for i in items]) == [
        "/files/budget-2024.csv",
        "/files/annual-report.PDF",
        "/catalog.json",
    ]


def test_index_follows_site_pages_only() -> None:
    _, requests = _split(_spider().parse(_page("index.html", SITE + "/")))
    assert _paths([r.url for r in requests]) == ["/", "/catalog/", "/about", "/dataset/roster"]


def test_assets_feeds_mailto_javascript_and_anchors_are_ignored() -> None:
    items, requests = _split(_spider().parse(_page("index.html", SITE + "/")))
    urls = [i["url"] for i in items] + [r.url for r in requests]
    for unwanted in (
        "site.css",
        "favicon",
        "app.js",
        "logo.png",
        "feed.xml",
        "mailto:",
        "javascript:",
    ):
        assert not [u for u in urls if unwanted in u], unwanted
    assert not [u for u in urls if "#" in u]


def test_dataset_page_reports_extension_format_and_download_links_once() -> None:
    items, _ = _split(_spider().parse(_page("dataset.html", SITE + "/dataset/roster")))
    assert _paths([i["url"] for i in items]) == [
        "/dataset/roster/rows.csv",
        "/dataset/roster/resource/1/download/roster.xlsx",
        "/api/views/roster?format=json",
        "/api/download/v1/items/abc123/csv",
        "/dataset/roster/export",
        "https://files.example.gov/roster/roster-2023.zip",
        "/dataset/roster/map.geojson",
    ]


def test_dataset_page_follows_pages_frames_and_non_data_formats() -> None:
    _, requests = _split(_spider().parse(_page("dataset.html", SITE + "/dataset/roster")))
    assert _paths([r.url for r in requests]) == [
        "/api/views/roster?format=html",
        "/dataset/roster/downloads",
        "/embed/roster",
        "/dataset/roster/resource/1",
        "/",
    ]
    assert {(r.callback.__name__, r.errback.__name__) for r in requests} == {("parse", "failed")}


def test_file_links_on_other_domains_are_counted_not_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    spider = _spider()
    items, requests = _split(spider.parse(_page("dataset.html", SITE + "/dataset/roster")))
    assert not [
        u for u in [i["url"] for i in items] + [r.url for r in requests] if "example.net" in u
    ]
    assert spider.offsite_files == {"https://cdn.example.net/roster/roster-2022.csv"}
    with caplog.at_level(logging.INFO):
        spider.closed("finished")
    assert "1 file link(s) on other domains" in caplog.text


def test_without_allowed_domains_everything_is_in_scope() -> None:
    items, _ = _split(
        _spider(allowed_domains=[]).parse(_page("dataset.html", SITE + "/dataset/roster"))
    )
    assert "https://cdn.example.net/roster/roster-2022.csv" in [i["url"] for i in items]


def test_items_carry_target_portal_dataset_title_and_referer() -> None:
    items, _ = _split(_spider().parse(_page("dataset.html", SITE + "/dataset/roster")))
    xlsx = next(i for i in items if i["url"].endswith("roster.xlsx"))
    assert dict(xlsx) == {
        "url": SITE + "/dataset/roster/resource/1/download/roster.xlsx",
        "target": "county",
        "portal": "html",
        "dataset": "Staff roster | Example County Open Data",
        "title": "Roster (Excel)",
        "referer": SITE + "/dataset/roster",
    }
    geo = next(i for i in items if i["url"].endswith(".geojson"))
    assert geo["title"] == "Map data"


def test_a_file_is_reported_once_per_poll_across_pages() -> None:
    spider = _spider()
    first, _ = _split(spider.parse(_page("index.html", SITE + "/")))
    again, _ = _split(spider.parse(_page("index.html", SITE + "/index.html")))
    assert len(first) == 3
    assert again == []


def test_base_href_is_respected() -> None:
    items, requests = _split(_spider().parse(_page("base.html", SITE + "/releases/")))
    assert _paths([i["url"] for i in items]) == ["/releases/2024/q1.csv", "/top.csv"]
    assert _paths([r.url for r in requests]) == ["/releases/2024/notes/"]


def test_configured_extensions_decide_what_a_file_is() -> None:
    spider = _spider(file_extensions=[".pdf"])
    items, requests = _split(spider.parse(_page("index.html", SITE + "/")))
    assert _paths([i["url"] for i in items]) == ["/files/annual-report.PDF"]
    assert "/files/budget-2024.csv" in _paths([r.url for r in requests])


# -- followed links that turn out not to be pages ----------------------------------------


def _followed(
    url: str,
    headers: dict[str, str],
    cls: type[Response] = Response,
    redirected_from: str | None = None,
) -> Response:
    meta = {"redirect_urls": [redirected_from]} if redirected_from else {}
    request = Request(redirected_from or url, meta=meta)
    return cls(url=url, headers=headers, body=b"", request=request)


def test_followed_link_answering_csv_is_reported_under_the_linked_url() -> None:
    via = {"title": "Roster", "dataset": "Staff roster", "referer": SITE + "/dataset/roster"}
    response = _followed(
        SITE + "/store/roster-3f9a.csv",
        {"Content-Type": "text/csv"},
        TextResponse,
        redirected_from=SITE + "/get/42",
    )
    items, requests = _split(_spider().parse(response, via=via))
    assert requests == []
    assert [dict(i) for i in items] == [
        {
            "url": SITE + "/get/42",
            "target": "county",
            "portal": "html",
            "dataset": "Staff roster",
            "title": "Roster",
            "referer": SITE + "/dataset/roster",
        }
    ]


def test_attachment_is_a_file_even_when_it_says_html() -> None:
    response = _followed(
        SITE + "/export/7",
        {"Content-Type": "text/html", "Content-Disposition": 'attachment; filename="roster.xls"'},
        HtmlResponse,
    )
    items, _ = _split(_spider().parse(response))
    assert [(i["url"], i["title"]) for i in items] == [(SITE + "/export/7", "roster.xls")]


@pytest.mark.parametrize("media", ["application/octet-stream", "application/zip", "text/plain"])
def test_unknown_binary_answers_are_files(media: str) -> None:
    items, _ = _split(_spider().parse(_followed(SITE + "/blob/1", {"Content-Type": media})))
    assert [i["url"] for i in items] == [SITE + "/blob/1"]


@pytest.mark.parametrize("media", ["image/png", "text/css", "application/javascript", "font/woff2"])
def test_page_furniture_answers_are_not_files(media: str) -> None:
    items, requests = _split(_spider().parse(_followed(SITE + "/x", {"Content-Type": media})))
    assert items == []
    assert requests == []


def test_start_requests_are_the_start_urls_as_pages() -> None:
    spider = _spider(start_urls=[SITE + "/", SITE + "/catalog/"])

    async def collect() -> list[Request]:
        return [r async for r in spider.start()]

    requests = asyncio.run(collect())
    assert [r.url for r in requests] == [SITE + "/", SITE + "/catalog/"]
    assert all(not r.dont_filter for r in requests)  # the offsite filter applies to them too


# -- pagination --------------------------------------------------------------------------


def test_pages_of_a_listing_are_followed_without_counting_as_a_hop() -> None:
    listing = _page("listing.html", SITE + "/catalog/?q=&page=2")
    _, requests = _split(_spider().parse(listing))
    same = {r.url.removeprefix(SITE) for r in requests if r.meta.get(SAME_DEPTH)}
    hops = {r.url.removeprefix(SITE) for r in requests if not r.meta.get(SAME_DEPTH)}
    assert same == {"/catalog/?q=&page=1", "/catalog/?q=&page=3", "/catalog/?q=&page=40"}
    assert hops == {
        "/dataset/permits",
        "/dataset/arrests",
        "/catalog/?q=&sort=title",  # a different listing, not another page of this one
        "/catalog/?q=parks&page=2",
        "/news/",
        "/news/page/2/",
        "/search?offset=40",
    }


@pytest.mark.parametrize(
    ("url", "page", "rel", "label", "expected"),
    [
        ("/c/?page=3", "/c/?page=2", "", "3", True),
        ("/c/?page=3", "/c/", "", "3", True),
        ("/c/?q=x&offset=40", "/c/?q=x&offset=20", "", "", True),
        ("/c/?page%5Bnumber%5D=2", "/c/", "", "", True),
        ("/news/page/3/", "/news/page/2/", "", "", True),
        ("/news/page/2/", "/news/", "", "", True),
        ("/anything", "/c/", "next", "", True),
        ("/anything", "/c/", "prev nofollow", "", True),
        ("/anything", "/c/", "", "Next page", True),
        ("/anything", "/c/", "", "›", True),
        ("/anything", "/c/", "", "Older posts »", True),
        ("/anything", "/c/", "", "« Previous", True),
        # Near misses.
        ("/c/?page=all", "/c/", "", "", False),
        ("/c/?sort=title", "/c/?page=2", "", "", False),
        ("/c/?q=y&page=2", "/c/?q=x&page=1", "", "", False),
        ("/d/?page=2", "/c/?page=1", "", "", False),
        ("/other/page/2/", "/news/", "", "", False),
        ("/anything", "/c/", "nofollow", "Next steps for open data", False),
        ("/anything", "/c/", "", "Read more", False),
        ("https://other.example.gov/c/?page=2", "/c/?page=1", "", "", False),
    ],
)
def test_pagination_links(url: str, page: str, rel: str, label: str, expected: bool) -> None:
    absolute = url if url.startswith("http") else SITE + url
    assert is_pagination(absolute, SITE + page, rel=rel, label=label) is expected


def test_a_pages_parsed_tree_is_let_go_before_its_files_are_fetched() -> None:
    # Scrapy holds the response while the page's items are fetched (a whole poll for
    # an index of 100,000 files): its cached tree must not be held with it.
    page = _page("index.html", SITE + "/")
    produced = _spider().parse(page)
    first = next(produced)
    assert page._cached_selector is None
    rest = list(produced)
    items, _ = _split([first, *rest])
    assert _paths([i["url"] for i in items]) == [
        "/files/budget-2024.csv",
        "/files/annual-report.PDF",
        "/catalog.json",
    ]


def test_a_large_page_trims_the_c_heap_and_a_small_one_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    trimmed: list[bool] = []
    monkeypatch.setattr("spiders.links.trim", lambda: trimmed.append(True) or True)
    monkeypatch.setattr("spiders.links.TRIM_FROM_LINKS", 5)
    list(_spider().parse(_page("index.html", SITE + "/")))
    assert trimmed  # the saved index has more than 5 links
    trimmed.clear()
    monkeypatch.setattr("spiders.links.TRIM_FROM_LINKS", 10_000)
    list(_spider().parse(_page("index.html", SITE + "/")))
    assert not trimmed
