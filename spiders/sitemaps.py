"""Read sitemaps (sitemaps.org): the pages and files a site lists for crawlers."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from scrapy.utils.gz import gunzip, gzip_magic_number
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from spiders.links import BadURL, absolute_url

if TYPE_CHECKING:
    from scrapy.http import Response

__all__ = [
    "MAX_SITEMAP_BYTES",
    "SitemapError",
    "in_scope",
    "is_sitemap_url",
    "read_sitemap",
    "robots_sitemaps",
    "scope_of",
]

#: The protocol's limit for one sitemap, uncompressed; a gzipped one may not inflate past it.
MAX_SITEMAP_BYTES = 50 * 1024 * 1024
#: Sitemap entries read from one file at most (the protocol allows 50,000).
MAX_ENTRIES = 50_000


class SitemapError(ValueError):
    """A sitemap answer that is not a sitemap (an error page, broken gzip, another XML)."""


def is_sitemap_url(url: str) -> bool:
    """Say whether a URL names a sitemap by its file name (``sitemap.xml``, ``sitemap1.xml.gz``)."""
    name = PurePosixPath(urlsplit(url).path.lower()).name
    return "sitemap" in name and name.endswith((".xml", ".xml.gz"))


def robots_sitemaps(body: bytes, url: str, bad: list[str] | None = None) -> list[str]:
    """Return the sitemaps a robots.txt declares on its ``Sitemap:`` lines, absolute.

    A line that is no usable URL is skipped, its reason added to ``bad``.
    """
    out: list[str] = []
    for found in sitemap_urls_from_robots(body, base_url=None):
        try:
            absolute = absolute_url(url, found)
        except BadURL as exc:
            if bad is not None:
                bad.append(f"{found[:200]!a}: {exc}")
            continue
        if urlsplit(absolute).scheme in ("http", "https") and absolute not in out:
            out.append(absolute)
    return out


def read_sitemap(response: Response, bad: list[str] | None = None) -> tuple[bool, list[str]]:
    """Return (is an index of sitemaps, the absolute URLs it lists) for a sitemap answer.

    An entry that is no usable URL is skipped, its reason added to ``bad``.

    Raises:
        SitemapError: the body is not a sitemap or sitemap index, or inflates too far.
    """
    body = response.body
    if gzip_magic_number(response):
        try:
            body = gunzip(body, max_size=MAX_SITEMAP_BYTES)
        except (ValueError, OSError, EOFError) as exc:
            raise SitemapError(f"cannot gunzip the sitemap: {exc}") from exc
    try:
        sitemap = Sitemap(body)
        kind = sitemap.type
        urls: list[str] = []
        for entry in sitemap:
            loc = str(entry.get("loc") or "").strip()
            if loc:
                try:
                    urls.append(absolute_url(response.url, loc))
                except BadURL as exc:
                    if bad is not None:
                        bad.append(f"{loc[:200]!a}: {exc}")
            if len(urls) >= MAX_ENTRIES:
                break
    except (SyntaxError, StopIteration) as exc:  # lxml's XMLSyntaxError is a SyntaxError
        raise SitemapError(f"the answer is not XML: {exc}") from exc
    if kind not in ("urlset", "sitemapindex"):
        raise SitemapError(f"the answer is XML but not a sitemap (root element {kind!r})")
    web = [u for u in urls if urlsplit(u).scheme in ("http", "https")]
    return kind == "sitemapindex", web


def scope_of(url: str) -> str:
    """Return the part of a site a start URL stands for: its scheme, host and directory.

    ``https://city.gov/police/open-data/`` stands for everything under
    ``/police/open-data/``; ``https://city.gov/`` for the whole site.
    """
    parts = urlsplit(url)
    directory = parts.path[: parts.path.rfind("/") + 1] or "/"
    return f"{parts.scheme}://{parts.netloc.lower()}{directory}"


def in_scope(url: str, scopes: list[str]) -> bool:
    """Say whether a URL lies under one of the scopes (``scope_of`` of the start URLs)."""
    parts = urlsplit(url)
    here = f"{parts.scheme}://{parts.netloc.lower()}{parts.path or '/'}"
    return any(here.startswith(scope) for scope in scopes)
