"""A large page read without its whole tree gives the spider exactly what the tree gives.

``spiders.outline`` reads a page of ``LARGE_PAGE_BYTES`` or more with a parser target.
Each page here is parsed by ``HtmlSpider.parse`` twice, through the tree and through
the outline (the size threshold moved), and everything the spider makes of it (file
items, followed pages, Tableau views, sitemaps, titles) must be the same.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse

import spiders.html
from spiders.html import HtmlSpider
from spiders.outline import LinkElement, OutlineSelector

DATA = Path(__file__).resolve().parents[1] / "data" / "portals"
FIXTURES = sorted([*DATA.glob("html/*.html"), *DATA.glob("tableau/*.html")])
SITE = "https://data.example.gov"


def _spider() -> HtmlSpider:
    return HtmlSpider(
        target="county",
        start_urls=[SITE + "/"],
        allowed_domains=["example.gov"],
    )


def _made(output: Any) -> list[Any]:
    """Return what a callback gave, as comparable values."""
    made = []
    for out in output:
        if isinstance(out, Request):
            callback = getattr(out.callback, "__name__", out.callback)
            made.append(("request", out.url, callback, out.cb_kwargs, sorted(out.meta)))
        else:
            made.append((type(out).__name__, dict(out)))
    return made


def _parse(body: bytes, *, outlined: bool, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    monkeypatch.setattr(spiders.html, "LARGE_PAGE_BYTES", 0 if outlined else 10**12)
    response = HtmlResponse(url=SITE + "/portal/", body=body, encoding="utf-8")
    spider = _spider()
    made = _made(spider.parse(response))
    return [*made, ("offsite", sorted(spider.offsite_files))]


def _same(body: bytes, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    whole = _parse(body, outlined=False, monkeypatch=monkeypatch)
    assert _parse(body, outlined=True, monkeypatch=monkeypatch) == whole
    return whole


@pytest.mark.parametrize("page", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_fixture_page_gives_the_same_through_the_outline(
    page: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = _same(page.read_bytes(), monkeypatch)
    assert len(made) > 1  # the page gave something to compare


def test_link_text_split_by_entities_comments_and_tags_is_joined_as_in_the_tree(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = (
        b"<html><head><title>AT&amp;T <!-- x -->data</title></head><body>"
        b'<a href="a.csv">AT&amp;T<!-- c -->&#160;counts <b>by</b> <i>county</i>&lt;2024&gt;</a>'
        b'<a href="b.csv">   </a><a href="c.csv" title="T &amp; x"></a>'
        b'<a href="d.csv"><img alt="alt text"></a><a href="e.csv">one\ntwo\tthree</a>'
        b"</body></html>"
    )
    made = _same(body, monkeypatch)
    titles = [m[1]["title"] for m in made if m[0] == "DatasetItem"]
    assert titles[0] == "AT&T counts by county <2024>"  # itertext chunks, spaces collapsed


def test_tableau_embeds_and_sitemaps_inside_other_elements_are_found_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = (
        b"<html><head><base href='/base/'></head><body><div><p>"
        b'<h1>Crime <span>statistics</span></h1><link rel="sitemap" href="/s.xml">'
        b'<script src="https://public.tableau.com/javascripts/api/viz_v1.js"></script>'
        b"<div class='tableauPlaceholder'><object class='tableauViz'>"
        b"<param name='host_url' value='https%3A%2F%2Fpublic.tableau.com%2F'>"
        b"<param name='name' value='Firearms&#47;Dashboard'></object></div>"
        b'<tableau-viz src="https://public.tableau.com/views/Other/Sheet1"></tableau-viz>'
        b"<script>var u = 'https://public.tableau.com/views/Inline/Sheet2'; "
        b"document.write('</a><a href=x.csv>');</script>"
        b'<iframe src="https://public.tableau.com/views/Framed/Sheet3?:embed=y"></iframe>'
        b'<map><area href="area.csv"></map><frameset><frame src="/frame.html"></frameset>'
        b"</p></div></body></html>"
    )
    made = _same(body, monkeypatch)
    kinds = {m[0] for m in made}
    assert "ViewItem" in kinds
    assert "DatasetItem" in kinds


def _random_page(rng: random.Random) -> bytes:
    """A page of random, often malformed, nesting of the elements the spider reads."""
    hrefs = ["a.csv", "/d/b.xlsx", "page2", "#top", "", "javascript:x()", "?format=csv"]
    hrefs += ["https://other.example.org/c.csv", "mailto:x@y.z", "http://[bad/x.csv"]
    hrefs += ["https://public.tableau.com/views/W/S", "/export/7", "x.png", " spaced.csv "]
    texts = ["AT&amp;T", "files", "<!-- c -->", "&#160;", " ", "\n", "Next &raquo;", "data"]
    texts += ["<b>bold</b>", "<span>in <i>it</i></span>", "&lt;", "é", "2024"]
    opens = ["<div>", "<p>", "<li>", "<ul>", "<table><tr><td>", "<h1>", "<span>"]
    opens += ["<object>", "<map>", "<title>", "<nav>"]
    parts = ["<!doctype html><html><head>"]
    if rng.random() < 0.5:
        parts.append("<base href='/b/'>")
    parts.append("</head><body>")
    for _ in range(rng.randint(5, 60)):
        roll = rng.random()
        if roll < 0.45:
            tag = rng.choice(["a", "a", "a", "area", "link", "iframe", "frame"])
            attr = "src" if tag in ("iframe", "frame") else "href"
            extra = rng.choice(["", ' rel="next"', ' title="T"', ' rel="sitemap"', " aria-label=L"])
            extra += rng.choice(["", ' class="btn"', ' data-id="7" alt="A"', ' type="text/csv"'])
            value = rng.choice(hrefs)
            inner = "".join(rng.choice(texts) for _ in range(rng.randint(0, 3)))
            close = rng.choice([f"</{tag}>", f"</{tag}>", ""])
            parts.append(f'<{tag} {attr}="{value}"{extra}>{inner}{close}')
        elif roll < 0.75:
            parts.append(rng.choice(opens))
        elif roll < 0.9:
            parts.append(rng.choice(["</div>", "</p>", "</li>", "</ul>", "</h1>", "</object>"]))
        else:
            parts.append(rng.choice(texts))
    parts.append(rng.choice(["</body></html>", ""]))
    return "".join(parts).encode("utf-8")


@pytest.mark.parametrize("seed", range(200))
def test_random_malformed_pages_give_the_same_through_the_outline(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    _same(_random_page(random.Random(seed)), monkeypatch)


def test_a_large_page_is_read_without_its_tree() -> None:
    links = "".join(f'<li><a href="f/{i}.csv">file {i}</a></li>' for i in range(40_000))
    body = f"<html><head><title>Index</title></head><body><ul>{links}</ul></body></html>"
    response = HtmlResponse(url=SITE + "/", body=body.encode(), encoding="utf-8")
    assert len(response.body) >= spiders.html.LARGE_PAGE_BYTES
    spider = _spider()
    produced = spider.parse(response)
    first = next(produced)
    assert first["url"] == SITE + "/f/0.csv"
    selector = response._cached_selector  # set by parse: the outline's, not a whole tree
    assert isinstance(selector, OutlineSelector)
    assert len(selector.root.xpath("//*")) < 10  # html, head, title, body: no list items
    for _ in range(19_999):
        next(produced)
    # The link elements already turned into files are let go of as the poll goes on.
    assert len(selector.links) == 20_000
    assert 20_000 + sum(1 for _ in produced) == 40_000


def test_a_link_element_reads_like_the_tree_element_it_stands_for() -> None:
    link = LinkElement("a", (("href", "x.csv"), ("title", "T")))
    link._chunks = ["one", "two"]
    link._close()
    assert link.attrib == {"href": "x.csv", "title": "T"}
    assert link.get("title") == "T"
    assert link.get("rel") is None
    assert list(link.itertext()) == ["one two"]
