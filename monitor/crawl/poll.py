"""What one poll of one target shares between the crawl's plugins, and whether it saw everything."""

from __future__ import annotations

import logging
import weakref
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from scrapy.exceptions import NotConfigured

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from monitor.crawl.hooks import Hooks
    from monitor.metrics import Metrics

__all__ = ["PollState", "attach", "state_of"]

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class PollState:
    """The state of one poll: built by ``CrawlService``, read by its Scrapy plugins.

    Attributes:
        target: the configured target's name.
        hooks: the daemon's callbacks.
        metrics: where fetch counts go.
        budget: how many HTTP requests this poll may send.
        max_bytes: the largest body downloaded.
        file_extensions: lower-case extensions (``.csv``) that mark a data file.
        parallel_files: how many file bodies may be downloading at once.
        seen: every file URL linked in this poll.
        requests: how many requests were sent so far.
        budget_exhausted: True once a request was dropped for the budget.
        failures: why the poll did not see the whole portal, one line per page.
        close_reason: Scrapy's reason for closing the spider (``finished`` is good).
        stopping: True when the service is shutting down.
        files: how file fetches ended, for the poll's summary line.
    """

    target: str
    hooks: Hooks
    metrics: Metrics
    budget: int
    max_bytes: int
    file_extensions: tuple[str, ...]
    parallel_files: int = 4
    seen: set[str] = field(default_factory=set)
    requests: int = 0
    budget_exhausted: bool = False
    failures: list[str] = field(default_factory=list)
    close_reason: str | None = None
    stopping: bool = False
    files: Counter[str] = field(default_factory=Counter)

    def page_failed(self, url: str, why: str, start: bool) -> None:
        """Record a page the crawl could not read, so the poll is not taken as complete."""
        kind = "start URL" if start else "page"
        self.failures.append(f"{kind} {url}: {why}")
        logger.warning(
            "target=%s %s failed, poll is incomplete: %s: %s", self.target, kind, url, why
        )

    def incomplete(self) -> str | None:
        """Return why the poll's ``seen`` cannot be trusted as complete, or ``None``."""
        if self.stopping:
            return "the crawler was stopped"
        if self.budget_exhausted:
            return f"the request budget of {self.budget} ran out"
        if self.failures:
            more = f" and {len(self.failures) - 1} more" if len(self.failures) > 1 else ""
            return self.failures[0] + more
        if self.close_reason != "finished":
            return f"the crawl ended with reason {self.close_reason!r}"
        return None


_STATES: weakref.WeakKeyDictionary[Crawler, PollState] = weakref.WeakKeyDictionary()


def attach(crawler: Crawler, state: PollState) -> None:
    """Give a crawler its poll state before it starts (plugins read it in ``from_crawler``)."""
    _STATES[crawler] = state


def state_of(crawler: Crawler) -> PollState:
    """Return the crawler's poll state.

    Raises:
        NotConfigured: the crawler was not started by ``CrawlService``, so the
            plugin asking switches itself off (Scrapy skips it).
    """
    try:
        return _STATES[crawler]
    except KeyError:
        raise NotConfigured("leakmon plugins run only in crawls started by CrawlService") from None
