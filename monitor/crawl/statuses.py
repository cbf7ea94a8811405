"""Count every HTTP exchange of a poll in ``leakmon_fetches_total{target,status}``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.exceptions import IgnoreRequest

from monitor.crawl.outcomes import is_too_large, status_class
from monitor.crawl.poll import state_of

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

    from monitor.crawl.poll import PollState

__all__ = ["StatusMetrics"]


class StatusMetrics:
    """Count responses by status class and failed downloads as ``error`` or ``too_large``.

    It sits next to the downloader, so each attempt counts once: a 503 retried
    twice is three ``5xx``, a redirect is a ``3xx`` and then its target's class.
    Requests refused before the wire (robots.txt, offsite, budget) are not fetches.
    """

    def __init__(self, state: PollState) -> None:
        self.state = state

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StatusMetrics:
        """Build the counter on the crawler's poll state."""
        return cls(state_of(crawler))

    def process_response(self, request: Request, response: Response) -> Response:
        """Count a response."""
        self._count(status_class(response.status))
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        """Count a failed download."""
        if is_too_large(exception) and not self.state.stopping:
            self._count("too_large")
        elif not isinstance(exception, IgnoreRequest):
            self._count("error")

    def _count(self, status: str) -> None:
        self.state.metrics.fetches.labels(self.state.target, status).inc()
