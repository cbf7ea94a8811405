"""Stop downloading a followed link once its headers show a file rather than a page."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.exceptions import StopDownload

from monitor.crawl.items import API_REQUEST
from monitor.crawl.outcomes import is_page, is_page_request
from monitor.crawl.poll import state_of

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http.headers import Headers

__all__ = ["HeadersProbe"]


class HeadersProbe:
    """Cut a page download short when the answer is a file (by Content-Type or attachment).

    A spider follows links without extensions (``/get/42``) as pages. When one
    turns out to be a CSV, the spider gets the response with its headers and an
    empty body, yields a ``DatasetItem``, and the fetch step then downloads the
    file properly: conditionally, within the size limit, to a temporary file.
    Without this plugin the body would be downloaded twice, once into memory.
    A catalogue API request (``API_REQUEST`` in its meta) is read whole: its JSON
    is the page.
    """

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HeadersProbe:
        """Build the probe and listen for response headers."""
        state_of(crawler)  # switched off outside CrawlService, like the other plugins
        probe = cls()
        crawler.signals.connect(probe.headers_received, signal=signals.headers_received)
        return probe

    def headers_received(
        self, headers: Headers, body_length: int, request: Request, spider: Spider
    ) -> None:
        """Stop a page request whose response is a file; the spider still gets the headers.

        Raises:
            StopDownload: with ``fail=False``, so the spider's callback runs.
        """
        if is_page_request(request) and not request.meta.get(API_REQUEST) and not is_page(headers):
            raise StopDownload(fail=False)
