"""ConditionalThrottle: a 304 lowers AutoThrottle's delay as a 200 does; errors still cannot."""

from __future__ import annotations

import pytest
from scrapy.core.downloader import Slot
from scrapy.extensions.throttle import AutoThrottle
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from monitor.crawl.throttle import ConditionalThrottle

SETTINGS = {"AUTOTHROTTLE_ENABLED": True, "AUTOTHROTTLE_START_DELAY": 1.0, "DOWNLOAD_DELAY": 0}


def _delay_after(kind: type[AutoThrottle], status: int, answers: int = 10) -> float:
    throttle = kind.from_crawler(get_crawler(settings_dict=SETTINGS))
    throttle.mindelay, throttle.maxdelay = 0.0, 60.0  # what spider_opened sets from SETTINGS
    slot = Slot(concurrency=8, delay=1.0)  # jitter plays no part in _adjust_delay
    for _ in range(answers):
        throttle._adjust_delay(slot, 0.01, Response("http://127.0.0.1/f.csv", status=status))
    return slot.delay


def test_304s_lower_the_delay() -> None:
    assert _delay_after(ConditionalThrottle, 304) < 0.05  # down towards latency / concurrency


def test_scrapys_own_throttle_keeps_the_start_delay_on_304s() -> None:
    # What the subclass is for: without it a re-poll of unchanged files crawls at 1 file/s.
    assert _delay_after(AutoThrottle, 304) == pytest.approx(1.0)


@pytest.mark.parametrize("status", [404, 500, 503])
def test_errors_still_cannot_lower_the_delay(status: int) -> None:
    assert _delay_after(ConditionalThrottle, status) == pytest.approx(1.0)


def test_200s_lower_it_as_before() -> None:
    assert _delay_after(ConditionalThrottle, 200) == pytest.approx(_delay_after(AutoThrottle, 200))
