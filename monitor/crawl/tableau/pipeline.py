"""The item pipeline that opens one viz session per Tableau view per poll, politely."""

from __future__ import annotations

import logging
from collections import Counter
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import DeferredSemaphore

from monitor.crawl.items import ViewItem
from monitor.crawl.poll import state_of
from monitor.crawl.tableau.urls import ViewRef
from monitor.crawl.tableau.viz import ViewSession

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from monitor.crawl.poll import PollState

__all__ = ["TABLEAU_SETTING", "TableauPipeline"]

logger = logging.getLogger(__name__)

#: Scrapy setting holding the target's ``tableau`` configuration (a plain dict).
TABLEAU_SETTING = "LEAKMON_TABLEAU"


class TableauPipeline:
    """Run a ``ViewSession`` for each ``ViewItem``: once per view, a few per host at a time.

    Sessions share the crawler's downloader, so robots.txt, the address guard,
    AutoThrottle and the request budget apply to every request of theirs. At
    the end of the poll it sets the target's Tableau gauges: views seen, and
    views offering each download.
    """

    def __init__(self, crawler: Crawler, state: PollState, policy: dict[str, Any]) -> None:
        self.crawler = crawler
        self.state = state
        self.policy = policy
        self._done: set[str] = set()
        self._hosts: dict[str, DeferredSemaphore] = {}
        self._offers: Counter[str] = Counter()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> TableauPipeline:
        """Build the pipeline on the crawler's poll state and the target's policy."""
        policy = dict(crawler.settings.getdict(TABLEAU_SETTING))
        pipeline = cls(crawler, state_of(crawler), policy)
        crawler.signals.connect(pipeline.closed, signal=signals.spider_closed)
        return pipeline

    async def process_item(self, item: Any) -> Any:  # Any: Scrapy passes any item through
        """Open the view's session unless it was opened already in this poll."""
        if not isinstance(item, ViewItem):
            return item
        view = ViewRef.of(item)
        if view.url in self._done or self.state.stopping:
            return item
        self._done.add(view.url)
        host = view.server.lower()
        gate = self._hosts.setdefault(
            host, DeferredSemaphore(int(self.policy.get("sessions_per_host", 2)))
        )
        await maybe_deferred_to_future(gate.acquire())
        try:
            session = ViewSession(self.crawler, self.state, view, self.policy)
            await session.run()
            self._offers.update(set(session.offers) | {"any"})
        finally:
            gate.release()
        return item

    def closed(self) -> None:
        """Set the target's Tableau gauges from what this poll's sessions offered."""
        if not self._done:
            return
        metrics, target = self.state.metrics, self.state.target
        metrics.tableau_views.labels(target).set(len(self._done))
        for mechanism in ("summary_data", "full_data", "crosstab", "workbook"):
            metrics.tableau_views_offering.labels(target, mechanism).set(self._offers[mechanism])
