"""Decide whether a poll saw the whole portal: every start URL answered and no page failed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.exceptions import IgnoreRequest

from monitor.crawl.outcomes import describe, is_page_request
from monitor.crawl.poll import state_of

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

    from monitor.crawl.poll import PollState

__all__ = ["PollGuard"]

#: A page that answers these is gone from the portal, and so are the links on it.
_GONE = (404, 410)


class PollGuard:
    """Mark a poll incomplete when a start URL or a page fails, so no file is taken for gone.

    It sits outermost among the downloader middlewares, so it sees what is left
    after retries and redirects: the final answer for each page.
    """

    def __init__(self, state: PollState) -> None:
        self.state = state

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PollGuard:
        """Build the guard on the crawler's poll state and listen for the spider closing."""
        guard = cls(state_of(crawler))
        crawler.signals.connect(guard.spider_closed, signal=signals.spider_closed)
        return guard

    def spider_closed(self, spider: Spider, reason: str) -> None:
        """Keep Scrapy's closing reason: only ``finished`` means the crawl ran out of links."""
        self.state.close_reason = reason

    def process_response(self, request: Request, response: Response) -> Response:
        """Record a page that answered with an error."""
        if is_page_request(request):
            start = _is_start(request)
            status = response.status
            if not (200 <= status < 300 or (status in _GONE and not start)):
                self.state.page_failed(request.url, f"HTTP {status}", start)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        """Record a page that could not be downloaded; robots.txt and offsite refusals are fine."""
        if not is_page_request(request):
            return
        start = _is_start(request)
        if isinstance(exception, IgnoreRequest) and not start:
            return
        self.state.page_failed(request.url, describe(exception), start)


def _is_start(request: Request) -> bool:
    # Scrapy's depth middleware gives every followed link a depth of 1 or more;
    # start requests (and their redirects and retries) carry none.
    return not request.meta.get("depth")
