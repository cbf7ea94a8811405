"""Space the requests to a host as its robots.txt ``Crawl-Delay`` asks, or as the target says."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import task

from monitor.crawl.poll import state_of

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

    from monitor.crawl.poll import PollState

__all__ = ["CRAWL_DELAY_SETTING", "CrawlDelay"]

logger = logging.getLogger(__name__)

#: Scrapy setting: the target's ``crawl_delay`` in seconds (``None``: robots.txt's).
CRAWL_DELAY_SETTING = "LEAKMON_CRAWL_DELAY"
#: Waits are cut in steps this long, so a stopping crawler is not held by a long delay.
_STEP = 1.0


class CrawlDelay:
    """Wait between two requests to one host for its robots.txt's ``Crawl-Delay``.

    Scrapy obeys robots.txt's rules but not its ``Crawl-Delay``; CKAN ships
    ``Crawl-Delay: 10``. The delay is read from the robots.txt Scrapy fetches
    (the ``robots_parsed`` signal, for leakmon's product token), or taken from the
    target's ``crawl_delay``, which overrides it (``0``: none). Requests to a host
    go out at least that far apart, whatever AutoThrottle or concurrency would
    allow. It sits just after Scrapy's robots.txt middleware (100), so the first
    request to a host waits until its robots.txt is read.
    """

    def __init__(self, state: PollState, override: float | None, token: str) -> None:
        self.state = state
        self.override = override
        self.token = token
        self._delays: dict[str, float] = {}
        self._next: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlDelay:
        """Build the middleware on the crawler's poll state and listen for robots.txt."""
        raw = crawler.settings.get(CRAWL_DELAY_SETTING)
        override = None if raw is None else float(raw)
        obeys = crawler.settings.getbool("ROBOTSTXT_OBEY")
        if override is None and not obeys:
            raise NotConfigured("robots.txt is not read and no crawl_delay is set")
        token = crawler.settings.get("ROBOTSTXT_USER_AGENT") or "*"
        middleware = cls(state_of(crawler), override, str(token))
        crawler.signals.connect(middleware.robots_parsed, signal=signals.robots_parsed)
        return middleware

    def robots_parsed(self, robotparser: object, request: Request) -> None:
        """Note a host's ``Crawl-Delay`` for leakmon's token (or ``*``)."""
        reader = getattr(robotparser, "crawl_delay", None)
        try:
            delay = reader(self.token) if callable(reader) else None
        except (TypeError, ValueError):
            delay = None
        host = urlsplit(request.url).netloc
        self._delays[host] = max(0.0, float(delay)) if delay else 0.0
        if delay and self.override is None:
            logger.info(
                "target=%s %s asks for Crawl-Delay: %g s between requests; obeyed"
                " (set crawl_delay on the target to override)",
                self.state.target,
                host,
                delay,
            )

    async def process_request(self, request: Request) -> None:
        """Hold a request until the host's delay since the previous one has passed."""
        if request.meta.get("dont_obey_robotstxt") and self.override is None:
            return  # robots.txt itself
        host = urlsplit(request.url).netloc
        delay = self.override if self.override is not None else self._delays.get(host, 0.0)
        if not delay:
            return
        now = time.monotonic()
        at = max(now, self._next.get(host, 0.0))
        self._next[host] = at + delay
        await self._sleep(at - now)

    async def _sleep(self, seconds: float) -> None:
        from twisted.internet import reactor  # lazy import: the running reactor

        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0 and not self.state.stopping:
            await maybe_deferred_to_future(task.deferLater(reactor, min(left, _STEP), _nothing))


def _nothing() -> None:
    """Fire a deferLater; the wait is the point."""
