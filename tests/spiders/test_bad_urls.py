"""One malformed URL or entry is skipped with its reason; the rest of the page or catalogue goes on.

A portal controls its links and catalogue entries: an unclosed IPv6 bracket, a
port of 99999 or ``8o``, a lone surrogate, a value of the wrong type. Each must
cost that one link or entry (counted and logged), never the rest of the page,
the rest of the catalogue page, the walk's cursor or the poll.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, TextResponse

from monitor.crawl.items import API_REQUEST, DatasetItem
from spiders.ckan import CkanSpider
from spiders.dcat import DcatSpider
from spiders.html import HtmlSpider
from spiders.links import BadURL, absolute_url
from spiders.sitemaps import read_sitemap, robots_sitemaps

if TYPE_CHECKING:
    from collections.abc import Iterable

SITE = "https://data.example.gov/"
BAD = [
    "http://[2001:db8::1/x.csv",
    "http://data.example.gov:99999/port.csv",
    "http://data.example.gov:8o/letter.csv",
    "http://data.example.gov/\udcff.csv",
    "http://data.exa mple.gov/space.csv",
]


@pytest.mark.parametrize("href", BAD)
def test_bad_urls_are_refused_with_a_reason(href: str) -> None:
    with pytest.raises(BadURL, match="not a usable URL"):
        absolute_url(SITE, href)


@pytest.mark.parametrize(
    ("href", "url"),
    [
        ("a.csv#top", SITE + "a.csv"),
        (
            "http://anonymous@data.example.gov/leak.csv",
            "http://anonymous@data.example.gov/leak.csv",
        ),
        ("http://[2001:db8::1]:8080/x.csv", "http://[2001:db8::1]:8080/x.csv"),
        ("mailto:x@example.gov", "mailto:x@example.gov"),  # the caller drops other schemes
    ],
)
def test_good_urls_pass(href: str, url: str) -> None:
    assert absolute_url(SITE, href) == url


def _items(output: Iterable[Any]) -> list[str]:
    return [str(o["url"]) for o in output if isinstance(o, DatasetItem)]


def test_a_page_with_bad_links_still_reports_every_good_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    links = ["first.csv", *[b for b in BAD if "\udcff" not in b], "last.csv", "page2.html"]
    body = "<html><body>" + "".join(f'<a href="{h}">x</a>' for h in links) + "</body></html>"
    # A hostile <base href> is ignored as browsers do.
    body = body.replace("<body>", '<head><base href="http://[broken/"></head><body>')
    spider = HtmlSpider(target="t", start_urls=[SITE], allowed_domains=["example.gov"])
    page = HtmlResponse(SITE, body=body.encode("utf-8"), encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        out = list(spider.parse(page))
    assert _items(out) == [SITE + "first.csv", SITE + "last.csv"]
    assert [r.url for r in out if isinstance(r, Request)] == [SITE + "page2.html"]
    skipped = [r for r in caplog.records if "skipped a link or entry" in r.getMessage()]
    assert len(skipped) == 4


def _ckan_answer(packages: list[Any], start: int = 0) -> TextResponse:
    body = json.dumps(
        {"success": True, "result": {"count": 50, "results": packages}}, ensure_ascii=True
    ).replace("LONE", "\\ud83d")
    url = SITE + f"api/3/action/package_search?start={start}"
    request = Request(url, meta={API_REQUEST: True})
    return TextResponse(url, body=body.encode(), encoding="utf-8", request=request)


def _package(name: Any, *urls: Any) -> dict[str, Any]:
    return {"name": name, "title": "T", "resources": [{"name": "r", "url": u} for u in urls]}


def test_a_catalogue_page_with_bad_entries_reports_the_rest_and_moves_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    spider = CkanSpider(target="t", start_urls=[SITE], allowed_domains=["example.gov"])
    packages = [
        _package("one", SITE + "one.csv"),
        _package("two", *BAD[:3], SITE + "two.csv"),
        _package({"a": "dict"}, 42, None, SITE + "three.csv"),
        {"name": "four", "resources": [{"id": "LONE", "url": SITE + "four.csv"}, "junk"]},
        _package("sur\\ud83drogate", SITE + "five.csv"),
        "not a package",
        _package("six", SITE + "six.csv"),
    ]
    with caplog.at_level(logging.WARNING):
        out = list(spider.parse_search(_ckan_answer(packages), root=SITE, start=0))
    assert _items(out) == [
        SITE + "one.csv",
        SITE + "two.csv",
        SITE + "three.csv",
        SITE + "four.csv",
        SITE + "five.csv",
        SITE + "six.csv",
    ]
    # The bad resource URLs are "not checked" resources with their reason (coverage).
    errors = [why for state, why in spider.unchecked.values() if state == "error"]
    assert len(errors) == 3
    assert all("not a usable URL" in why for why in errors)
    # The walk moved past the whole page and asks for the next one.
    assert [r for r in out if isinstance(r, Request)]
    assert spider.walked == len(packages)


def test_an_entry_that_breaks_is_skipped_not_the_page(caplog: pytest.LogCaptureFixture) -> None:
    spider = DcatSpider(
        target="t", start_urls=[SITE + "data.json"], allowed_domains=["example.gov"]
    )

    def broken() -> Any:
        yield DatasetItem(url=SITE + "before.csv", target="t")
        raise TypeError("unhashable type: 'dict'")

    with caplog.at_level(logging.WARNING):
        out = list(spider.isolated(broken(), "dataset 3"))
    assert _items(out) == [SITE + "before.csv"]
    assert "entry skipped (TypeError" in caplog.text


def test_sitemaps_and_robots_skip_bad_entries() -> None:
    robots = b"Sitemap: /good.xml\nSitemap: http://[broken/x.xml\nSitemap: /also.xml\n"
    bad: list[str] = []
    assert robots_sitemaps(robots, SITE + "robots.txt", bad) == [
        SITE + "good.xml",
        SITE + "also.xml",
    ]
    assert len(bad) == 1
    xml = (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<url><loc>https://data.example.gov/a.csv</loc></url>"
        "<url><loc>https://data.example.gov:99999/b.csv</loc></url>"
        "<url><loc>https://data.example.gov/c.csv</loc></url></urlset>"
    )
    bad = []
    answer = TextResponse(SITE + "sitemap.xml", body=xml.encode(), encoding="utf-8")
    assert read_sitemap(answer, bad) == (False, [SITE + "a.csv", SITE + "c.csv"])
    assert len(bad) == 1
