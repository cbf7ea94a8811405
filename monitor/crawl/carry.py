"""Fetch first the files the last poll's request budget cut off, so a large site rotates."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy.utils.defer import deferred_from_coro
from twisted.internet import task
from twisted.internet.defer import DeferredSemaphore

from monitor.crawl.fetch import fetch_in_slot
from monitor.crawl.items import DatasetItem
from monitor.crawl.outcomes import is_first_level
from monitor.crawl.poll import state_of
from monitor.models import utcnow

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response

    from monitor.crawl.poll import PollState

__all__ = ["CarryOver"]

logger = logging.getLogger(__name__)

#: Seconds the carried files wait at most for a start page that neither answers nor fails.
START_WAIT = 30.0
#: How often the gate looks whether the start pages have answered.
_GATE_EVERY = 0.1


class CarryOver:
    """Download the files the last poll's budget dropped, once this poll's first pages are read.

    A site larger than ``crawl.max_requests_per_poll`` would otherwise lose the same
    tail on every poll (the crawl reaches its files in the same order each time). The
    files the budget cut off (coverage state ``budget``) are handed to the next poll,
    which fetches them as soon as its start pages have answered, before the rest of
    the portal (files never fetched before, a leak perhaps, go ahead of them:
    ``RequestBudget``); what the budget then leaves is carried on in turn, so
    every file is fetched within about ⌈N / budget⌉ polls. The crawl service keeps
    the carry-over between polls and the daemon stores it after each poll
    (``Store.save_carry_over``, table ``carry_over``), so a restart continues the
    rotation (``CrawlService.resume_carry``). Cluster mode has nothing to carry:
    files go to the shared frontier, which the poll's request budget does not cut.
    """

    def __init__(self, crawler: Crawler, state: PollState) -> None:
        self.crawler = crawler
        self.state = state
        self._slots = DeferredSemaphore(state.parallel_files)
        self._answers: list[Request] = []
        self._claimed: list[tuple[str, dict[str, str | None]]] = []
        self._began = 0.0
        self._outstanding = 0
        self._gate: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CarryOver:
        """Build it on the crawler's poll state; it listens only when files are carried.

        (Not ``NotConfigured`` when nothing is: Scrapy would log a warning every poll.)
        """
        state = state_of(crawler)
        extension = cls(crawler, state)
        if state.carry_in:
            crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        """Start the carried downloads once the start pages have answered.

        Not before: the carry-over of a large portal is larger than the budget, and
        carried downloads started first spent all of it before the start page went
        out (robots.txt comes first), so the files published since the last poll,
        a leak among them, stayed unseen until the carry-over ran out (19 polls of
        20 at 100,000 files and the default budget). A start page that answers
        neither way within ``START_WAIT`` seconds does not hold the carry-over up.
        """
        self._claim()
        self.crawler.signals.connect(self._keep_open, signal=signals.spider_idle)
        self._began = time.monotonic()
        self.crawler.signals.connect(self._answered, signal=signals.response_received)
        self._gate = task.LoopingCall(self._check_gate)
        self._gate.start(_GATE_EVERY, now=False)

    def _keep_open(self, spider: Spider) -> None:
        """Keep the poll open while carried files wait for the gate or their downloads."""
        if self._gate is not None or self._outstanding:
            raise DontCloseSpider

    def _answered(self, response: Response, request: Request, spider: Spider) -> None:
        if is_first_level(request):  # not robots.txt, not a file's download
            self._answers.append(request)

    def _check_gate(self) -> None:
        state = self.state
        # A start page has answered and its links have been through the fetch step
        # (Scrapy's scraper holds a response until every item it gave is processed):
        # the files never fetched before have had their turn.
        read = bool(self._answers) and not (set(self._answers) & _being_scraped(self.crawler))
        failed = any(f.startswith("start URL") for f in state.failures)
        waited = time.monotonic() - self._began >= START_WAIT
        if (read or failed or waited or state.stopping) and self._gate is not None:
            self._gate.stop()
            self._gate = None
            self._start()

    def _claim(self) -> None:
        """Take the carried files into the poll, so the crawl's own pass skips them."""
        state = self.state
        for entry in state.carry_in:
            url = entry.get("url")
            if not url or url in state.seen:
                continue
            state.seen.add(url)
            state.resource(url, "found")
            state.found[url] = dict(entry)
            self._claimed.append((url, entry))

    def _start(self) -> None:
        """Start every carried file's download; each waits for one of the carry's slots."""
        state = self.state
        logger.info(
            "target=%s %d file(s) the last poll's budget cut off are fetched now",
            state.target,
            len(self._claimed),
        )
        for url, entry in self._claimed:
            if state.stopping:
                state.resource(url, "error", "not fetched: the crawler was stopped")
                continue
            self._outstanding += 1
            deferred_from_coro(self._fetch(url, entry))

    async def _fetch(self, url: str, entry: dict[str, str | None]) -> None:
        item = DatasetItem(
            url=url,
            target=self.state.target,
            portal=entry.get("portal") or "html",
            dataset=entry.get("dataset"),
            title=entry.get("title"),
            referer=entry.get("referer"),
        )
        try:
            await fetch_in_slot(self.crawler, self.state, self._slots, item, url, utcnow())
        finally:
            self._outstanding -= 1


def _being_scraped(crawler: Crawler) -> set[Request]:
    """Return the requests whose responses Scrapy's scraper is still processing.

    Scrapy's internals (``engine.scraper.slot``); if they move, nothing is reported
    as being processed and the carry-over starts as soon as a start page answers.
    """
    slot = getattr(getattr(crawler.engine, "scraper", None), "slot", None)
    if slot is None:
        return set()
    queued = {entry[1] for entry in getattr(slot, "queue", ())}
    return set(getattr(slot, "active", ())) | queued
