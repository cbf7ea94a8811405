"""Wait as long as a rate-limited portal asks (``Retry-After``) before Scrapy retries."""

from __future__ import annotations

import email.utils
import logging
import time
from typing import TYPE_CHECKING

from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import task

from monitor.crawl.poll import state_of

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

    from monitor.crawl.poll import PollState

__all__ = ["RetryAfter", "retry_after"]

logger = logging.getLogger(__name__)

#: Statuses whose ``Retry-After`` is honoured: rate limited, and unavailable for now.
_STATUSES = (429, 503)
#: The wait is slept in steps this long, so a shutdown is not held up by it.
_STEP = 0.25


class RetryAfter:
    """Hold a 429/503 answer for its ``Retry-After`` delay, so Scrapy's retry comes when asked.

    Scrapy's ``RetryMiddleware`` retries 429 and 503 (``RETRY_TIMES``, 2 by
    default) at once, which a rate limiter answers with another 429. This
    middleware sits just inside it (nearer the downloader), so it sees the
    answer first: when a retry is still due and the server asked for a delay no
    longer than ``DOWNLOAD_TIMEOUT``, it waits that long, then lets the retry
    go. A longer delay is not waited for and not retried: the request fails,
    the poll is incomplete, and the next poll tries again. Only the rate-limited
    request waits; the rest of the crawl goes on.
    """

    def __init__(self, state: PollState, max_wait: float, max_retries: int) -> None:
        self.state = state
        self.max_wait = max_wait
        self.max_retries = max_retries

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfter:
        """Build the middleware on the crawler's poll state and retry settings."""
        settings = crawler.settings
        return cls(
            state_of(crawler),
            max_wait=settings.getfloat("DOWNLOAD_TIMEOUT"),
            max_retries=settings.getint("RETRY_TIMES") if settings.getbool("RETRY_ENABLED") else 0,
        )

    async def process_response(self, request: Request, response: Response) -> Response:
        """Wait before a due retry of a rate-limited answer, or stop retries it forbids."""
        if response.status not in _STATUSES or request.meta.get("dont_retry"):
            return response
        delay = retry_after(response.headers.get(b"Retry-After"))
        retries = request.meta.get("retry_times", 0)
        if delay is None or retries >= request.meta.get("max_retry_times", self.max_retries):
            return response
        if delay > self.max_wait:
            logger.warning(
                "target=%s %s answered %d and asks to wait %.0f s, longer than"
                " crawl.download_timeout: not retried this poll",
                self.state.target,
                request.url,
                response.status,
                delay,
            )
            request.meta["dont_retry"] = True
            return response
        logger.info(
            "target=%s %s answered %d: waiting %.1f s as asked before retrying",
            self.state.target,
            request.url,
            response.status,
            delay,
        )
        await self._sleep(delay)
        return response

    async def _sleep(self, seconds: float) -> None:
        from twisted.internet import reactor  # lazy import: the running reactor

        end = time.monotonic() + seconds
        while not self.state.stopping and (left := end - time.monotonic()) > 0:
            await maybe_deferred_to_future(task.deferLater(reactor, min(left, _STEP), _nothing))


def _nothing() -> None:
    """Fire a deferLater; the wait is the point."""


def retry_after(value: bytes | None, now: float | None = None) -> float | None:
    """Return the seconds a ``Retry-After`` header asks for (delay or HTTP date), or ``None``."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
