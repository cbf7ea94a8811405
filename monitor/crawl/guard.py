"""Decide whether a poll saw the whole portal: every start URL answered and no page failed."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import IgnoreRequest

from monitor.crawl.items import API_REQUEST, ROBOTS_FALLBACK
from monitor.crawl.outcomes import describe, is_page_request
from monitor.crawl.poll import state_of

if TYPE_CHECKING:
    from collections.abc import Iterable

    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from twisted.python.failure import Failure

    from monitor.crawl.poll import PollState

__all__ = ["PollGuard"]

#: A page that answers these is gone from the portal, and so are the links on it.
_GONE = (404, 410)


class PollGuard:
    """Mark a poll incomplete when a start URL or a page fails, so no file is taken for gone.

    It sits outermost among the downloader middlewares, so it sees what is left
    after retries and redirects: the final answer for each page. A catalogue API
    request (``API_REQUEST`` in its meta) counts as a start URL: a 404 there is
    a missing part of the catalogue, not a page taken down. A status the spider
    asked to handle itself (``handle_httpstatus_list``) is the spider's to judge:
    it reports what it could not read in its ``failures``, read when it closes
    with the rest of its walk (``PollState.take_walk``). A callback that raises
    makes the poll incomplete too: that page's links were not all read.

    Every page must end in an answer or a failure this guard sees. Some endings
    never reach it: a redirect loop (the scheduler drops the repeated URL as a
    duplicate), a chain longer than ``REDIRECT_MAX_TIMES`` or a compression bomb
    (both dropped by an inner middleware's ``process_response``), a redirect off
    the allowed domains (the offsite filter drops it when it is scheduled). So
    each page request is remembered until its answer or failure comes, and one
    still waiting when the spider closes failed: the poll is incomplete, instead
    of a poll that read nothing passing for a complete one. A redirect to a page
    already crawled (two old URLs for one new page) is no failure; a redirect of a
    page (not a start URL) off the allowed domains is skipped like an offsite link.
    """

    def __init__(self, state: PollState) -> None:
        self.state = state
        # First URL of each page request's redirect chain -> (is a start URL, its kind).
        self._waiting: dict[str, tuple[bool, str | None]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PollGuard:
        """Build the guard on the crawler's poll state and listen for the spider closing."""
        guard = cls(state_of(crawler))
        crawler.signals.connect(guard.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(guard.spider_error, signal=signals.spider_error)
        crawler.signals.connect(guard.request_dropped, signal=signals.request_dropped)
        crawler.signals.connect(guard.request_scheduled, signal=signals.request_scheduled)
        return guard

    def spider_closed(self, spider: Spider, reason: str) -> None:
        """Keep Scrapy's closing reason (only ``finished`` means the crawl ran out of links)."""
        self.state.close_reason = reason
        self.state.take_walk(spider)
        if reason != "finished" or self.state.stopping:
            return  # the poll is incomplete already, and requests were left unanswered
        for url, (start, kind) in self._waiting.items():
            self.state.page_failed(
                url,
                "no answer came: a redirect loop, more than REDIRECT_MAX_TIMES redirects,"
                " a redirect off the allowed domains, or a body dropped after decompression",
                start,
                kind,
            )
        self._waiting.clear()

    def request_dropped(self, request: Request, spider: Spider) -> None:
        """Forget a redirected page the scheduler dropped as a page already crawled."""
        chain = request.meta.get("redirect_urls") or ()
        if chain and request.url not in chain and is_page_request(request):
            self._waiting.pop(_first_url(request), None)  # else a loop: it stays waiting

    def request_scheduled(self, request: Request, spider: Spider) -> None:
        """Forget a page (not a start URL) redirected off the allowed domains."""
        if (
            request.meta.get("redirect_urls")
            and is_page_request(request)
            and not _is_start(request)
            and not (request.dont_filter or request.meta.get("allow_offsite"))
            and not _on_domains(request.url, getattr(spider, "allowed_domains", None) or ())
        ):
            self._waiting.pop(_first_url(request), None)

    def process_request(self, request: Request) -> None:
        """Remember a page request until its answer or its failure comes."""
        if is_page_request(request):
            start = _is_start(request)
            self._waiting.setdefault(_first_url(request), (start, _kind(request)))

    def spider_error(self, failure: Failure, response: Response, spider: Spider) -> None:
        """Record a page whose callback raised: what it linked was not all reported."""
        self.state.page_failed(
            response.url, f"the spider failed on it: {failure.getErrorMessage()}", start=False
        )

    def process_response(self, request: Request, response: Response) -> Response:
        """Record a page that answered with an error."""
        self._waiting.pop(_first_url(request), None)
        if is_page_request(request) and not _handled(request, response.status):
            start = _is_start(request)
            status = response.status
            if not (200 <= status < 300 or (status in _GONE and not start)):
                self.state.page_failed(request.url, f"HTTP {status}", start, _kind(request))
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        """Record a page that could not be downloaded; robots.txt and offsite refusals are fine."""
        if not is_page_request(request):
            return
        self._waiting.pop(_first_url(request), None)
        start = _is_start(request)
        if isinstance(exception, IgnoreRequest) and not start:
            if "robots.txt" in str(exception):
                # Not a failure, but not silent: the files that page links stay unknown.
                self.state.resource(
                    request.url, "robots", "robots.txt disallows this page; its links are not read"
                )
            return
        if request.meta.get(ROBOTS_FALLBACK) and "robots.txt" in str(exception):
            return  # the spider reads the portal another way and reports what it could not
        self.state.page_failed(request.url, describe(exception), start, _kind(request))


def _is_start(request: Request) -> bool:
    # Scrapy's depth middleware gives every followed link a depth of 1 or more;
    # start requests (and their redirects and retries) carry none.
    return not request.meta.get("depth") or bool(request.meta.get(API_REQUEST))


def _first_url(request: Request) -> str:
    # A redirected request remembers where its chain began.
    chain = request.meta.get("redirect_urls")
    return str(chain[0]) if chain else request.url


def _on_domains(url: str, domains: Iterable[str]) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    listed = [d.lower().strip(".") for d in domains if d]
    return not listed or any(host == d or host.endswith("." + d) for d in listed)


def _kind(request: Request) -> str | None:
    return "API page" if request.meta.get(API_REQUEST) else None


def _handled(request: Request, status: int) -> bool:
    meta = request.meta
    return bool(meta.get("handle_httpstatus_all")) or status in (
        meta.get("handle_httpstatus_list") or ()
    )
