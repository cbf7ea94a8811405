"""AutoThrottle for a crawler that mostly hears 304 Not Modified."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.extensions.throttle import AutoThrottle

if TYPE_CHECKING:
    from scrapy.core.downloader import Slot
    from scrapy.http import Response

__all__ = ["ConditionalThrottle"]


class ConditionalThrottle(AutoThrottle):
    """Scrapy's AutoThrottle, except that a 304 may lower the delay as a 200 does.

    Scrapy lets only a 200 lower a slot's delay: error pages and redirects are small
    and fast, and would talk it down. A 304 is neither: it is the portal's real answer
    to a conditional GET, and what leakmon hears for almost every file of every poll.
    Without this, a portal of unchanged files stays at the 1 s start delay, one file
    a second: 100 unchanged files took 37.8 s to re-poll instead of about 1 s. Errors
    (4xx, 5xx) still cannot lower it.
    """

    def _adjust_delay(self, slot: Slot, latency: float, response: Response) -> None:
        if response.status == 304:
            response = response.replace(status=200)
        super()._adjust_delay(slot, latency, response)
