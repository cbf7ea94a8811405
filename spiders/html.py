"""The spider for portals that are plain HTML: follow the site's links, report every data file."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urldefrag, urlsplit

import scrapy

from monitor.crawl.items import DatasetItem

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable, Iterator

    from scrapy.http import Response

__all__ = ["HtmlSpider"]

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


class HtmlSpider(scrapy.Spider):
    """Crawl a portal's HTML pages within its domains and report every data file linked.

    A link is a data file when its path ends with one of ``file_extensions``, when
    a query parameter names a format (``?format=csv``), or when a path segment is
    ``download`` or ``export``. Other links on the allowed domains are followed as
    pages (``<a>``, ``<area>``, ``<iframe>``, ``<frame>`` and ``<link rel=alternate>``);
    a followed link that answers with something other than HTML, or as an
    attachment, is a data file too. The spider never downloads a file itself:
    it yields a ``DatasetItem`` per file URL, once per poll, and the crawler's
    fetch step does the rest. Depth and robots.txt are the crawler's settings.

    Args:
        target: the configured target's name, copied into every item.
        start_urls: the portal pages to start from.
        allowed_domains: domains (subdomains included) whose links are followed or
            reported; empty means any.
        file_extensions: lower-case extensions with their dot.
    """

    name = "html"

    def __init__(
        self,
        target: str = "",
        start_urls: Iterable[str] = (),
        allowed_domains: Iterable[str] = (),
        file_extensions: Iterable[str] = DEFAULT_EXTENSIONS,
        **kwargs: Any,  # Any: Scrapy passes spider arguments through untyped
    ) -> None:
        super().__init__(**kwargs)
        self.target = target
        self.start_urls = list(start_urls)
        self.allowed_domains = [d.lower().strip(".") for d in allowed_domains]
        self.file_extensions = tuple(e.lower() for e in file_extensions)
        self.reported: set[str] = set()
        self.offsite_files: set[str] = set()

    async def start(self) -> AsyncIterator[scrapy.Request]:
        """Request each start URL as a page."""
        for url in self.start_urls:
            yield scrapy.Request(url, callback=self.parse, errback=self.failed)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[DatasetItem | scrapy.Request]:
        """Report the data files a page links to and follow its other links.

        ``kwargs`` (Any: Scrapy's callback keywords) may hold ``via``, the link
        that led here, so a followed link that is a file keeps its page's context.
        """
        via: dict[str, str | None] = kwargs.get("via") or {}
        if not _is_page(response):
            if _is_data(response):
                yield from self._report(
                    _linked_url(response),
                    title=via.get("title") or _attachment_name(response),
                    dataset=via.get("dataset"),
                    referer=via.get("referer"),
                )
            return
        if not hasattr(response, "css"):
            return
        dataset = _page_title(response)
        for url, text in self._links(response):
            if not self._allowed(url):
                if self._is_file(url):
                    self.offsite_files.add(url)
                continue
            if self._is_file(url):
                yield from self._report(url, title=text, dataset=dataset, referer=response.url)
            elif not _is_asset(url):
                link = {"title": text, "dataset": dataset, "referer": response.url}
                yield response.follow(
                    url, callback=self.parse, errback=self.failed, cb_kwargs={"via": link}
                )

    def failed(self, failure: Any) -> None:  # Any: a Twisted Failure; spiders import only scrapy
        """Note a page that could not be read; the crawler judges what it means for the poll."""
        self.logger.debug("target=%s page failed: %s", self.target, failure.getErrorMessage())

    def closed(self, reason: str) -> None:
        """Say how many file links were skipped for pointing off the allowed domains."""
        if self.offsite_files:
            self.logger.info(
                "target=%s: %d file link(s) on other domains were not followed;"
                " add their domains to allowed_domains to watch them",
                self.target,
                len(self.offsite_files),
            )

    # -- links ---------------------------------------------------------------------------

    def _links(self, response: Response) -> Iterator[tuple[str, str | None]]:
        """Yield (absolute URL without fragment, link text) for each http(s) link on a page."""
        for node in response.css("a[href], area[href], iframe[src], frame[src], link[href]"):
            if node.xpath("name()").get() == "link" and not _wanted_link(node.attrib):
                continue
            href = (node.attrib.get("href") or node.attrib.get("src") or "").strip()
            if not href or href.startswith("#"):
                continue
            url = urldefrag(response.urljoin(href))[0]
            if urlsplit(url).scheme not in ("http", "https"):
                continue
            text = " ".join(" ".join(node.css("::text").getall()).split())
            yield url, text or node.attrib.get("title") or node.attrib.get("alt") or _file_name(url)

    def _is_file(self, url: str) -> bool:
        parts = urlsplit(url)
        path = parts.path.lower()
        if path.endswith(self.file_extensions):
            return True
        for key, value in parse_qsl(parts.query):
            if (
                key.lower() in FORMAT_PARAMS
                and f".{value.lower().strip('.')}" in self.file_extensions
            ):
                return True
        return any(seg in DOWNLOAD_SEGMENTS for seg in path.split("/"))

    def _allowed(self, url: str) -> bool:
        if not self.allowed_domains:
            return True
        host = (urlsplit(url).hostname or "").lower()
        return any(host == d or host.endswith("." + d) for d in self.allowed_domains)

    def _report(
        self, url: str, *, title: str | None, dataset: str | None, referer: str | None
    ) -> Iterator[DatasetItem]:
        if url in self.reported:
            return
        self.reported.add(url)
        yield DatasetItem(
            url=url,
            target=self.target,
            portal=self.name,
            dataset=dataset,
            title=title or _file_name(url),
            referer=referer,
        )


def _is_page(response: Response) -> bool:
    disposition = response.headers.get(b"Content-Disposition") or b""
    if disposition.split(b";")[0].strip().lower() == b"attachment":
        return False
    media = _media_type(response)
    if media is None:
        return isinstance(response, scrapy.http.HtmlResponse)
    return media in PAGE_MEDIA


def _is_data(response: Response) -> bool:
    disposition = response.headers.get(b"Content-Disposition") or b""
    if disposition.split(b";")[0].strip().lower() == b"attachment":
        return True
    media = _media_type(response) or ""
    return not media.startswith(ASSET_MEDIA)


def _media_type(response: Response) -> str | None:
    value = response.headers.get(b"Content-Type")
    if not value:
        return None
    return value.split(b";")[0].strip().lower().decode("latin-1") or None


def _linked_url(response: Response) -> str:
    # The URL as linked, before redirects: it names the file across polls even when
    # it redirects to a signed or versioned location.
    redirects = response.meta.get("redirect_urls") if response.request is not None else None
    return urldefrag(redirects[0] if redirects else response.url)[0]


def _attachment_name(response: Response) -> str | None:
    disposition = (response.headers.get(b"Content-Disposition") or b"").decode("latin-1")
    for part in disposition.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "filename" and value:
            return value.strip().strip('"') or None
    return None


def _page_title(response: Response) -> str | None:
    title = response.css("title::text").get() or response.css("h1 ::text").get() or ""
    return " ".join(title.split()) or None


def _file_name(url: str) -> str | None:
    return PurePosixPath(urlsplit(url).path).name or None


def _is_asset(url: str) -> bool:
    return PurePosixPath(urlsplit(url).path.lower()).suffix in ASSET_EXTENSIONS


def _wanted_link(attrib: dict[str, str]) -> bool:
    rels = set((attrib.get("rel") or "").lower().split())
    return bool(rels & LINK_RELS) and (attrib.get("type") or "").lower() not in FEED_TYPES
