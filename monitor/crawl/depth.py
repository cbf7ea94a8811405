"""Scrapy's depth limit, except that the next page of a listing or a sitemap is not a hop."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.spidermiddlewares.depth import DepthMiddleware

from monitor.crawl.items import SAME_DEPTH

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.http import Response

__all__ = ["HopDepth"]


class HopDepth(DepthMiddleware):
    """Give a request marked ``SAME_DEPTH`` its parent's depth (at least 1) instead of one more.

    Page 40 of a catalogue listing is as far from the start URL as page 1, and the
    pages a sitemap lists are as near as the links of a start page. Depth 1 at
    least, so such a request is never taken for a start URL (``PollGuard`` judges
    start URLs more strictly). ``DEPTH_LIMIT`` still applies: ``max_depth: 0``
    (a limit of -1) drops these requests like any other link.
    """

    def get_processed_request(self, request: Request, response: Response | None) -> Request | None:
        """Set the request's depth; drop it when it is over the limit."""
        if response is None or not request.meta.pop(SAME_DEPTH, False):
            return super().get_processed_request(request, response)
        request.meta.pop("depth_reset", None)
        depth = max(int(response.meta.get("depth", 0)), 1)
        request.meta["depth"] = depth
        if self.prio:
            request.priority -= depth * self.prio
        if self.maxdepth and depth > self.maxdepth:
            self.stats.inc_value("depth/request_ignored_count")
            return None
        return request
