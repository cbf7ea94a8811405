"""What a link or an answer is: a page to crawl, a data file, or page furniture."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import urldefrag, urljoin, urlsplit

import scrapy
from scrapy.utils.response import get_base_url

from monitor.crawl.heap import trim
from spiders.outline import OutlineSelector

if TYPE_CHECKING:
    from scrapy.http import Response

__all__ = [
    "ASSET_EXTENSIONS",
    "DEFAULT_EXTENSIONS",
    "DOWNLOAD_SEGMENTS",
    "FORMAT_PARAMS",
    "BadURL",
    "absolute_url",
    "attachment_name",
    "file_name",
    "is_asset",
    "is_data",
    "is_page",
    "link_targets",
    "linked_url",
    "media_type",
    "on_domains",
    "page_base",
    "page_title",
    "release_tree",
    "skip_bad_url",
    "usable_page",
    "wanted_link",
]

#: The crawler passes ``crawl.file_extensions``; this is for running the spider alone.
DEFAULT_EXTENSIONS: tuple[str, ...] = (".csv", ".tsv", ".txt", ".xlsx", ".xls", ".xlsm", ".ods")
DEFAULT_EXTENSIONS += (".json", ".geojson", ".ndjson", ".jsonl", ".zip", ".pdf")

#: Query parameters whose value names a file format (``?format=csv``, ``?_format=json``).
FORMAT_PARAMS = frozenset(
    {"format", "_format", "fmt", "filetype", "file_type", "outputformat", "output_format"}
)
#: Path segments that mark a download endpoint (``/api/download/v1/items/42/csv``).
DOWNLOAD_SEGMENTS = frozenset({"download", "export"})
#: Links to these are never followed: they are page furniture, not pages or data.
ASSET_EXTENSIONS = frozenset(
    {".css", ".js", ".mjs", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico", ".webp", ".bmp"}
    | {".woff", ".woff2", ".ttf", ".otf", ".eot", ".mp3", ".mp4", ".webm", ".avi", ".mov"}
)
#: ``<link rel=...>`` values worth following; the rest are styles, icons and hints.
LINK_RELS = frozenset({"alternate", "next", "prev", "previous", "enclosure", "describedby"})
#: ``<link type=...>`` values that are feeds or search plug-ins, not pages or data.
FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/opensearchdescription+xml"}
)
#: Response types that are page furniture when a followed link answers with them.
ASSET_MEDIA: tuple[str, ...] = ("image/", "font/", "audio/", "video/", "text/css")
ASSET_MEDIA += ("text/javascript", "application/javascript", "application/x-javascript")
PAGE_MEDIA = frozenset({"text/html", "application/xhtml+xml"})


#: A page with fewer links frees too little to pay for trimming the C heap (a few ms).
TRIM_FROM_LINKS = 10_000

_BASE_TAG = re.compile(rb"<base\b[^>]*>", re.IGNORECASE)
#: Unusable URLs logged per crawl; the rest are only counted (``leakmon/bad_urls``).
_BAD_URLS_LOGGED = 20
#: White space (Unicode's, as ``str.isspace``) or a control character: no host has one.
_BAD_HOST_CHAR = re.compile(r"[\s\x00-\x1f]")


class BadURL(ValueError):
    """A link or catalogue entry that cannot be a URL; the message says why."""


def absolute_url(base: str, href: str, keep_fragment: bool = False) -> str:
    """Return ``href`` made absolute against ``base``, without its fragment unless kept.

    Every URL a portal gives (a link, a redirect, a sitemap entry, a catalogue's
    resource) goes through here first, so one that cannot be parsed (an unclosed
    ``[`` of an IPv6 host, a port of 99999 or ``8o``, a lone surrogate) is one bad
    entry, skipped with its reason, not an exception that ends the page, the
    catalogue page or the poll. What passes can be split, has a port in range and
    encodes as UTF-8, so later ``urlsplit`` calls on it cannot fail.

    Raises:
        BadURL: with the reason.
    """
    try:
        url = urljoin(base, href.strip())
        url = url if keep_fragment else urldefrag(url)[0]
        parts = urlsplit(url)
        _ = parts.hostname, parts.port  # both raise on a malformed netloc or port
        url.encode("utf-8")
    except (ValueError, UnicodeError) as exc:
        raise BadURL(f"not a usable URL ({type(exc).__name__}: {exc})") from None
    if _BAD_HOST_CHAR.search(parts.netloc):
        raise BadURL("not a usable URL (white space or a control character in its host)")
    return url


def usable_page(response: Response) -> Response:
    """Return the page with a ``<base href>`` that is no URL removed (browsers ignore it).

    Scrapy resolves a page's base URL as soon as its selector is built, so one
    hostile ``<base href="http://[x">`` would make every ``response.css`` of that
    page raise and lose all of its links.
    """
    try:
        get_base_url(response)
    except ValueError:
        return response.replace(body=_BASE_TAG.sub(b"", response.body))
    return response


def link_targets(response: Response) -> list[str]:
    """Return the ``href`` of every ``<a>``, the ``src`` of every frame, in page order.

    Read from the parsed tree in one XPath query, without a Selector per link: on
    an index page of 100,000 files the Selectors cost more than the links' checks.
    """
    selector = response.selector
    if isinstance(selector, OutlineSelector):  # a large page, read without its tree
        wanted = {"a": "href", "iframe": "src", "frame": "src"}
        found = (link.get(wanted[link.tag]) for link in selector.links if link.tag in wanted)
        return [value for value in found if value is not None]
    root = selector.root
    return list(root.xpath("//a/@href | //iframe/@src | //frame/@src", smart_strings=False))


def page_base(response: Response) -> str:
    """Return the URL a page's relative links resolve against (its ``<base href>``).

    A ``<base href>`` that is no usable URL is ignored, as browsers do.
    """
    try:
        return get_base_url(response) if hasattr(response, "text") else response.url
    except ValueError:
        return response.url


def skip_bad_url(spider: scrapy.Spider, href: object, exc: Exception) -> None:
    """Count and log an unusable URL that a spider skips; the rest of the page goes on."""
    stats = spider.crawler.stats if getattr(spider, "crawler", None) else None
    count = 1
    if stats is not None:
        stats.inc_value("leakmon/bad_urls")
        count = int(stats.get_value("leakmon/bad_urls") or 1)
    if count <= _BAD_URLS_LOGGED:
        spider.logger.warning(
            "target=%s skipped a link or entry: %s: %s",
            getattr(spider, "target", spider.name),
            ascii(str(href)[:200]),
            exc,
        )
    elif count == _BAD_URLS_LOGGED + 1:
        spider.logger.warning(
            "target=%s: more than %d unusable URLs in this poll; the rest are only counted",
            getattr(spider, "target", spider.name),
            _BAD_URLS_LOGGED,
        )


def is_page(response: Response) -> bool:
    """Say whether an answer is an HTML page to crawl (an attachment never is)."""
    disposition = response.headers.get(b"Content-Disposition") or b""
    if disposition.split(b";")[0].strip().lower() == b"attachment":
        return False
    media = media_type(response)
    if media is None:
        return isinstance(response, scrapy.http.HtmlResponse)
    return media in PAGE_MEDIA


def is_data(response: Response) -> bool:
    """Say whether a non-page answer is a data file rather than page furniture."""
    disposition = response.headers.get(b"Content-Disposition") or b""
    if disposition.split(b";")[0].strip().lower() == b"attachment":
        return True
    media = media_type(response) or ""
    return not media.startswith(ASSET_MEDIA)


def media_type(response: Response) -> str | None:
    """Return the answer's media type without parameters, lower case, or ``None``."""
    value = response.headers.get(b"Content-Type")
    if not value:
        return None
    return value.split(b";")[0].strip().lower().decode("latin-1") or None


def linked_url(response: Response) -> str:
    """Return the URL as linked, before redirects, without fragment."""
    # The URL as linked, before redirects: it names the file across polls even when
    # it redirects to a signed or versioned location.
    redirects = response.meta.get("redirect_urls") if response.request is not None else None
    return urldefrag(redirects[0] if redirects else response.url)[0]


def attachment_name(response: Response) -> str | None:
    """Return the file name a ``Content-Disposition`` header gives, or ``None``."""
    disposition = (response.headers.get(b"Content-Disposition") or b"").decode("latin-1")
    for part in disposition.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "filename" and value:
            return value.strip().strip('"') or None
    return None


def release_tree(response: Response, links: int) -> None:
    """Let go of the page's parsed tree once its ``links`` links have been read.

    Scrapy keeps a response until every item its callback gave has been through
    the item pipeline, and the file fetch step is that pipeline: for an index
    page of 100,000 files, the whole poll. The selector's tree, cached on the
    response, lived as long: about 0.7 KB per link (69 MB of a page of 100,000
    links, ``bench/bench_index_page.py``). libxml2 allocates it with malloc, so
    after a large page the C heap is trimmed too, or the process would keep the
    pages. (``_cached_selector`` is Scrapy's own cache; if it moves, nothing is
    released and nothing breaks.)
    """
    if getattr(response, "_cached_selector", None) is None:
        return
    response._cached_selector = None  # type: ignore[attr-defined]
    if links >= TRIM_FROM_LINKS:
        trim()


def page_title(response: Response) -> str | None:
    """Return a page's ``<title>`` (or first ``<h1>``), whitespace collapsed."""
    title = response.css("title::text").get() or response.css("h1 ::text").get() or ""
    return " ".join(title.split()) or None


def file_name(url: str) -> str | None:
    """Return the last segment of a URL's path, or ``None``."""
    return PurePosixPath(urlsplit(url).path).name or None


def is_asset(url: str) -> bool:
    """Say whether a URL names page furniture (styles, scripts, images, fonts, media)."""
    return PurePosixPath(urlsplit(url).path.lower()).suffix in ASSET_EXTENSIONS


def wanted_link(attrib: dict[str, str]) -> bool:
    """Say whether a ``<link>`` element is worth following (``rel=alternate``, ``next``...)."""
    rels = set((attrib.get("rel") or "").lower().split())
    return bool(rels & LINK_RELS) and (attrib.get("type") or "").lower() not in FEED_TYPES


def on_domains(url: str, domains: list[str]) -> bool:
    """Say whether a URL's host is one of ``domains`` or under one (any host when empty)."""
    if not domains:
        return True
    host = (urlsplit(url).hostname or "").lower()
    return any(host == d or host.endswith("." + d) for d in domains)
