"""The spider for portals that are plain HTML: follow the site's links, report every data file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import scrapy
from scrapy import signals

from monitor.crawl.items import API_REQUEST, SAME_DEPTH, DatasetItem
from spiders.links import (
    DEFAULT_EXTENSIONS,
    DOWNLOAD_SEGMENTS,
    FORMAT_PARAMS,
    BadURL,
    absolute_url,
    attachment_name,
    file_name,
    is_asset,
    is_data,
    is_page,
    linked_url,
    on_domains,
    page_base,
    page_title,
    release_tree,
    skip_bad_url,
    usable_page,
    wanted_link,
)
from spiders.outline import (
    LARGE_PAGE_BYTES,
    LINK_ATTRIBUTE,
    LinkElement,
    OutlineSelector,
    drain,
    outline,
)
from spiders.pagination import is_pagination
from spiders.sitemaps import (
    SitemapError,
    in_scope,
    is_sitemap_url,
    read_sitemap,
    robots_sitemaps,
    scope_of,
)
from spiders.tableau_embeds import EmbeddedViews
from spiders.tableau_views import view_of

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable, Iterator

    from lxml.etree import _Element
    from scrapy.crawler import Crawler
    from scrapy.http import Response

__all__ = ["HtmlSpider"]


class HtmlSpider(EmbeddedViews, scrapy.Spider):
    """Crawl a portal's HTML pages within its domains and report every data file linked.

    A link is a data file when its path ends with one of ``file_extensions``, when
    a query parameter names a format (``?format=csv``), or when a path segment is
    ``download`` or ``export``. Other links on the allowed domains are followed as
    pages (``<a>``, ``<area>``, ``<iframe>``, ``<frame>`` and ``<link rel=alternate>``);
    a followed link that answers with something other than HTML, or as an
    attachment, is a data file too. The spider never downloads a file itself:
    it yields a ``DatasetItem`` per file URL, once per poll, and the crawler's
    fetch step does the rest. Depth and robots.txt are the crawler's settings.

    Sitemaps are read where the site declares them: ``Sitemap:`` lines of the
    robots.txt the crawler fetches anyway, ``<link rel="sitemap">``, or a start
    URL named ``sitemap*.xml[.gz]``. Their files are reported and their pages
    followed as if linked from a start page, when they lie under a start URL's
    directory. A link to another page of the same listing (``rel=next``, "Next",
    "›", ``?page=3``, ``/page/3/``) is followed without counting as a hop, so a
    long catalogue is read to its end within the request budget.

    Tableau views embedded or linked on any page are recognised (``EmbeddedViews``):
    each view's summary export is reported as a file, and the view itself as a
    ``ViewItem`` whose viz session the crawler opens; a start URL that is a view
    is watched as one.

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
        #: What could not be read although the server answered (a sitemap that is not
        #: one); the crawler reads it when the spider closes and calls the poll incomplete.
        self.failures: list[str] = []
        self._scopes = [scope_of(u) for u in self.start_urls]
        self._declared: dict[str, list[str]] = {}  # host -> sitemaps robots.txt declares
        self._sitemaps: set[str] = set()
        self.init_views()

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> HtmlSpider:
        """Build the spider and listen for the robots.txt answers the crawler fetches."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.robots_received, signal=signals.response_received)
        return spider

    async def start(self) -> AsyncIterator[Any]:
        """Request each start URL as a page, or as a sitemap; watch a start URL that is a view.

        Yields requests and, for views, items (Any: Scrapy takes both from ``start``).
        """
        for url in self.start_urls:
            view = view_of(url)
            if view is not None:
                for out in self.view(view, referer=None):
                    yield out
            elif is_sitemap_url(url):
                self._sitemaps.add(url)
                yield self._sitemap_request(url)
            else:
                yield scrapy.Request(url, callback=self.parse, errback=self.failed)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        """Report the data files a page links to and follow its other links.

        ``kwargs`` (Any: Scrapy's callback keywords) may hold ``via``, the link
        that led here, so a followed link that is a file keeps its page's context.
        """
        via: dict[str, str | None] = kwargs.get("via") or {}
        if hasattr(response, "text"):
            response = usable_page(response)
        if not is_page(response):
            if is_data(response):
                yield from self._report(
                    linked_url(response),
                    title=via.get("title") or attachment_name(response),
                    dataset=via.get("dataset"),
                    referer=via.get("referer"),
                )
            return
        if not hasattr(response, "css"):
            return
        if len(response.body) >= LARGE_PAGE_BYTES:
            read = outline(response)  # its links, and a slim tree: see spiders.outline
            if read is not None:
                response._cached_selector = read  # type: ignore[attr-defined]
        yield from self.views_on(response)
        yield from self._declared_sitemaps(response)
        dataset = page_title(response)
        links: Iterable[tuple[str, str | None, bool]] = self._links(response)
        if not isinstance(response.selector, OutlineSelector):
            links = list(links)
            release_tree(response, len(links))  # the links outlive the tree: see release_tree
        # Read through the outline, links are made as Scrapy takes the files, each link
        # element let go as its file is taken (a page of 100,000 links: see outline).
        for url, text, pager in links:
            if not self._allowed(url):
                if self._is_file(url):
                    self.offsite_files.add(url)
                continue
            if self._is_file(url):
                yield from self._report(url, title=text, dataset=dataset, referer=response.url)
            elif not is_asset(url):
                link = {"title": text, "dataset": dataset, "referer": response.url}
                yield response.follow(
                    url,
                    callback=self.parse,
                    errback=self.failed,
                    cb_kwargs={"via": link},
                    meta={SAME_DEPTH: True} if pager else None,
                )

    def robots_received(self, response: Response, request: scrapy.Request) -> None:
        """Note the sitemaps declared by a robots.txt the crawler fetched for its own rules."""
        if not request.meta.get("dont_obey_robotstxt"):
            return
        if urlsplit(response.url).path != "/robots.txt" or not 200 <= response.status < 300:
            return
        host = (urlsplit(response.url).hostname or "").lower()
        bad: list[str] = []
        self._declared.setdefault(host, []).extend(
            robots_sitemaps(response.body, response.url, bad)
        )
        for reason in bad:
            skip_bad_url(self, response.url, BadURL(f"robots.txt Sitemap: {reason}"))

    def sitemap(self, response: Response) -> Iterator[DatasetItem | scrapy.Request]:
        """Report the files a sitemap lists, follow its pages and the sitemaps it indexes."""
        bad: list[str] = []
        try:
            index, urls = read_sitemap(response, bad)
        except SitemapError as exc:
            self.failures.append(f"sitemap {response.url}: {exc}")
            return
        for reason in bad:
            skip_bad_url(self, response.url, BadURL(f"sitemap entry {reason}"))
        for url in urls:
            if not (self._allowed(url) and in_scope(url, self._scopes)):
                continue
            if index:
                if url not in self._sitemaps:
                    self._sitemaps.add(url)
                    yield self._sitemap_request(url)
            elif self._is_file(url):
                yield from self._report(url, title=None, dataset=None, referer=response.url)
            elif not is_asset(url):
                via = {"title": None, "dataset": None, "referer": response.url}
                yield scrapy.Request(
                    url,
                    callback=self.parse,
                    errback=self.failed,
                    cb_kwargs={"via": via},
                    meta={SAME_DEPTH: True},
                )

    def failed(self, failure: Any) -> None:  # Any: a Twisted Failure; spiders import only scrapy
        """Note a page that could not be read; the crawler judges what it means for the poll."""
        self.logger.debug("target=%s page failed: %s", self.target, failure.getErrorMessage())

    def closed(self, reason: str) -> None:
        """Say how many views were found and how many file links pointed off the domains."""
        self.views_closed()
        if self.offsite_files:
            self.logger.info(
                "target=%s: %d file link(s) on other domains were not followed;"
                " add their domains to allowed_domains to watch them",
                self.target,
                len(self.offsite_files),
            )

    # -- links ---------------------------------------------------------------------------

    def _links(self, response: Response) -> Iterator[tuple[str, str | None, bool]]:
        """Yield (absolute URL without fragment, link text, is a pager) per http(s) link."""
        base = page_base(response)  # once per page: a portal's index may list 100,000 files
        # The parsed tree's elements, in page order, without a Selector per link.
        selector = response.selector
        elements: Iterable[_Element | LinkElement] = (
            drain(selector.links)
            if isinstance(selector, OutlineSelector)  # a large page, read without its tree
            else selector.root.iter(*LINK_ATTRIBUTE)
        )
        for element in elements:
            attrib = element.attrib
            if LINK_ATTRIBUTE[element.tag] not in attrib:
                continue
            if element.tag == "link" and not wanted_link(attrib):
                continue
            href = (attrib.get("href") or attrib.get("src") or "").strip()
            if not href or href.startswith("#"):
                continue
            try:
                url = absolute_url(base, href)
            except BadURL as exc:
                skip_bad_url(self, href, exc)
                continue
            if urlsplit(url).scheme not in ("http", "https") or self.is_view_link(url):
                continue
            text = " ".join(" ".join(element.itertext()).split())
            label = text or attrib.get("aria-label") or attrib.get("title") or ""
            pager = is_pagination(url, response.url, rel=attrib.get("rel", ""), label=label)
            yield (
                url,
                text or attrib.get("title") or attrib.get("alt") or file_name(url),
                pager,
            )

    def _declared_sitemaps(self, response: Response) -> Iterator[scrapy.Request]:
        """Request the sitemaps declared for this page's host (robots.txt) or by the page."""
        host = (urlsplit(response.url).hostname or "").lower()
        declared = self._declared.pop(host, [])
        hrefs = response.css('link[rel~="sitemap"]::attr(href)').getall()
        for href in (h for h in hrefs if h.strip()):
            try:
                declared.append(absolute_url(page_base(response), href))
            except BadURL as exc:
                skip_bad_url(self, href, exc)
        for url in declared:
            if url not in self._sitemaps and self._allowed(url):
                self._sitemaps.add(url)
                yield self._sitemap_request(url)

    def _sitemap_request(self, url: str) -> scrapy.Request:
        # Read whole (XML or gzip), and a failure of it, a 404 included, makes the
        # poll incomplete: pages it lists might be linked nowhere else.
        return scrapy.Request(
            url,
            callback=self.sitemap,
            errback=self.failed,
            meta={API_REQUEST: True, SAME_DEPTH: True},
        )

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
        # Pages and files are followed on the configured domains only: the Tableau
        # hosts allowed for views are not crawled.
        return on_domains(url, self.configured_domains)

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
            title=title or file_name(url),
            referer=referer,
        )
