"""Bound how many HTTP requests one poll of a target may send."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy.exceptions import IgnoreRequest

from monitor.crawl.outcomes import BUDGET_EXHAUSTED, NEW_FILE_META, is_first_level
from monitor.crawl.poll import state_of

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

    from monitor.crawl.poll import PollState

__all__ = ["RequestBudget"]

logger = logging.getLogger(__name__)


class RequestBudget:
    """Drop requests past ``max_requests_per_poll``; the poll then counts as incomplete.

    It sits innermost among the downloader middlewares, so it counts what goes on
    the wire (pages, files, robots.txt, retries and redirects), not what robots.txt
    or the offsite filter refused. Unlike ``CLOSESPIDER_PAGECOUNT`` it lets the
    downloads already running finish, so no file is cut off half-way.
    """

    def __init__(self, state: PollState) -> None:
        self.state = state

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RequestBudget:
        """Build the budget on the crawler's poll state."""
        return cls(state_of(crawler))

    def process_request(self, request: Request) -> None:
        """Count a request, or drop it when the budget is spent.

        The files carried over from the last poll (``monitor.crawl.carry``) have a
        claim on the budget, whenever their requests come: other requests are
        dropped once only the carried files' share is left. Except four kinds, which
        only need the budget not to be spent: the carried files themselves,
        robots.txt, the first level's pages (start pages, a catalogue's first API
        pages: ``is_first_level``), and files never fetched before. A carry-over
        larger than the budget (95,000 files of a 100,000-file portal, at the default
        budget of 5,000) once took the whole of it: the start page went unread for
        19 polls out of 20, and a file published meanwhile, a leak, unseen with it.
        """
        state = self.state
        carried = request.url in state.carry_pending
        state.carry_pending.discard(request.url)
        first = (
            carried
            or request.meta.get("dont_obey_robotstxt")
            or request.meta.get(NEW_FILE_META)
            or is_first_level(request)
        )
        reserved = 0 if first else len(state.carry_pending)
        if state.requests + reserved >= state.budget:
            if not state.budget_exhausted:
                logger.warning(
                    "target=%s: %d requests sent, the poll's budget (crawl.max_requests_per_poll);"
                    " the rest of the portal is skipped this time",
                    state.target,
                    state.budget,
                )
            state.budget_exhausted = True
            raise IgnoreRequest(BUDGET_EXHAUSTED)
        state.requests += 1
