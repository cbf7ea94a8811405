"""The HTML spider's sitemaps: declared in robots.txt or a page, their pages, files and indexes.

No network and no reactor: sitemaps are read from ``tests/data/portals/html/``.
"""

from __future__ import annotations

import asyncio
import gzip
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, Response

from monitor.crawl.items import API_REQUEST, SAME_DEPTH
from tests.spiders.test_html import SITE, _page, _paths, _spider, _split

PAGES = Path(__file__).resolve().parents[1] / "data" / "portals" / "html"


def _xml(name: str, url: str, gzipped: bool = False) -> Response:
    body = (PAGES / name).read_bytes()
    if gzipped:
        body = gzip.compress(body)
    return Response(url=url, body=body, headers={"Content-Type": "application/xml"})


def test_sitemap_reports_files_and_follows_pages_as_if_linked_from_a_start_page() -> None:
    spider = _spider()
    items, requests = _split(spider.sitemap(_xml("sitemap.xml", SITE + "/sitemap.xml")))
    assert _paths([i["url"] for i in items]) == [
        "/files/unlinked-roster.xlsx",
        "/api/views/abcd-1234/rows.csv?accessType=DOWNLOAD",
    ]
    assert {i["referer"] for i in items} == {SITE + "/sitemap.xml"}
    assert _paths([r.url for r in requests]) == [
        "/dataset/permits",
        "/dataset/unlinked-roster",
        "/dataset/relative",
        "/dataset/permits",  # duplicates are Scrapy's dupefilter's to drop
    ]
    assert all(r.meta[SAME_DEPTH] and r.callback == spider.parse for r in requests)
    assert spider.offsite_files == set()  # a sitemap's offsite entries are simply not ours
    assert spider.failures == []


def test_sitemap_entries_outside_the_start_urls_directory_are_ignored() -> None:
    spider = _spider(start_urls=[SITE + "/dataset/permits"])  # scope: /dataset/
    items, requests = _split(spider.sitemap(_xml("sitemap.xml", SITE + "/sitemap.xml")))
    assert items == []
    assert _paths([r.url for r in requests]) == [
        "/dataset/permits",
        "/dataset/unlinked-roster",
        "/dataset/relative",
        "/dataset/permits",
    ]


@pytest.mark.parametrize("gzipped", [False, True])
def test_sitemap_index_requests_its_sitemaps_once(gzipped: bool) -> None:
    spider = _spider()
    index = _xml("sitemap_index.xml", SITE + "/sitemap_index.xml.gz", gzipped=gzipped)
    items, requests = _split(spider.sitemap(index))
    again, more = _split(spider.sitemap(index))
    assert items == again == more == []
    assert _paths([r.url for r in requests]) == [
        "/sitemaps/datasets-1.xml",
        "/sitemaps/datasets-2.xml.gz",
    ]
    assert all(r.meta[API_REQUEST] and r.meta[SAME_DEPTH] for r in requests)
    assert all(r.callback == spider.sitemap for r in requests)


@pytest.mark.parametrize(
    "body",
    [
        b"<!doctype html><html><body>Not found</body></html>",
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>News</title></channel></rss>',
        b"\x1f\x8b\x08broken gzip",
        b"",
    ],
)
def test_an_answer_that_is_not_a_sitemap_makes_the_poll_incomplete(body: bytes) -> None:
    spider = _spider()
    response = Response(url=SITE + "/sitemap.xml", body=body)
    items, requests = _split(spider.sitemap(response))
    assert items == requests == []
    assert len(spider.failures) == 1
    assert spider.failures[0].startswith(f"sitemap {SITE}/sitemap.xml: ")


def test_robots_txt_sitemaps_are_requested_with_the_first_page_of_that_host() -> None:
    spider = _spider()
    robots = Response(
        url=SITE + "/robots.txt",
        body=b"User-agent: *\nDisallow: /private/\nSitemap: https://data.example.gov/sitemap.xml\n"
        b"Sitemap: /sitemaps/extra.xml.gz\nSitemap: https://cdn.example.net/sitemap.xml\n",
    )
    spider.robots_received(robots, Request(robots.url, meta={"dont_obey_robotstxt": True}))
    ignored = Response(url="https://other.example.gov/robots.txt", body=b"Sitemap: /s.xml\n")
    spider.robots_received(ignored, Request(ignored.url))  # a page, not the crawler's robots
    _, requests = _split(spider.parse(_page("index.html", SITE + "/")))
    sitemaps = [r for r in requests if r.callback == spider.sitemap]
    assert _paths([r.url for r in sitemaps]) == ["/sitemap.xml", "/sitemaps/extra.xml.gz"]
    assert all(r.meta[API_REQUEST] and r.meta[SAME_DEPTH] for r in sitemaps)
    _, later = _split(spider.parse(_page("dataset.html", SITE + "/dataset/roster")))
    assert not [r for r in later if r.callback == spider.sitemap]


def test_a_failed_robots_txt_declares_nothing() -> None:
    spider = _spider()
    robots = Response(url=SITE + "/robots.txt", status=500, body=b"Sitemap: /sitemap.xml\n")
    spider.robots_received(robots, Request(robots.url, meta={"dont_obey_robotstxt": True}))
    _, requests = _split(spider.parse(_page("index.html", SITE + "/")))
    assert not [r for r in requests if r.callback == spider.sitemap]


def test_link_rel_sitemap_on_a_page_is_read() -> None:
    page = HtmlResponse(
        url=SITE + "/",
        body=b'<html><head><link rel="sitemap" type="application/xml" href="/sitemap.xml">'
        b"</head><body></body></html>",
    )
    spider = _spider()
    _, requests = _split(spider.parse(page))
    assert [(r.url, r.callback) for r in requests] == [(SITE + "/sitemap.xml", spider.sitemap)]


def test_start_url_named_like_a_sitemap_is_read_as_one() -> None:
    spider = _spider(start_urls=[SITE + "/sitemap.xml", SITE + "/catalog/"])

    async def collect() -> list[Request]:
        return [r async for r in spider.start()]

    requests = asyncio.run(collect())
    assert [(r.url, r.callback) for r in requests] == [
        (SITE + "/sitemap.xml", spider.sitemap),
        (SITE + "/catalog/", spider.parse),
    ]
    assert requests[0].meta[API_REQUEST]
