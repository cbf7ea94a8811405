"""AutoThrottle for a crawler that mostly hears 304 Not Modified."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.extensions.throttle import AutoThrottle

if TYPE_CHECKING:
    from scrapy.core.downloader import Slot
    from scrapy.http import Response

__all__ = ["ConditionalThrottle"]

#: Statuses that may lower a slot's delay: a 200, and the 304 of an unchanged file.
_LOWERING = frozenset({200, 304})


class ConditionalThrottle(AutoThrottle):
    """Scrapy's AutoThrottle, except that a 304 may lower the delay as a 200 does.

    Scrapy lets only a 200 lower a slot's delay: error pages and redirects are small
    and fast, and would talk it down. A 304 is neither: it is the portal's real answer
    to a conditional GET, and what leakmon hears for almost every file of every poll.
    Without this, a portal of unchanged files stays at the 1 s start delay, one file
    a second: 100 unchanged files took 37.8 s to re-poll instead of about 1 s. Errors
    (4xx, 5xx) still cannot lower it.

    Each poll still starts at the start delay: a delay learned in the last poll would
    let the slot's spacing fall below a robots.txt ``Crawl-Delay`` before it is read
    again (``monitor.crawl.crawldelay`` spaces requests before the slot queue).
    """

    def _adjust_delay(self, slot: Slot, latency: float, response: Response) -> None:
        # Scrapy's policy, with a 304 counted as a 200 (no copy of the response).
        target_delay = latency / self.target_concurrency
        new_delay = max(target_delay, (slot.delay + target_delay) / 2.0)
        new_delay = min(max(self.mindelay, new_delay), self.maxdelay)
        if response.status not in _LOWERING and new_delay <= slot.delay:
            return
        slot.delay = new_delay
