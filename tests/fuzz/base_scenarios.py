"""A start page whose ``<base href>`` is no URL: its links are still read (issue 16, item 3)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from monitor.crawl import CrawlService
from monitor.metrics import Metrics
from tests.crawl.portal import Portal, Resource, page
from tests.crawl.recording import RecordingHooks
from tests.crawl.scenarios import CSV_A, _settings

if TYPE_CHECKING:
    from twisted.internet.interfaces import IReactorTime


async def broken_base(reactor: IReactorTime) -> dict[str, Any]:
    """Poll a start page under ``<base href="http://[broken/">`` linking one data file."""
    portal = Portal().start()
    try:
        extra = '<base href="http://[broken/">'
        portal.set("/", page("Index", "/data/leak.csv", extra=extra))
        portal.set("/data/leak.csv", Resource(CSV_A, "text/csv"))
        settings = _settings([{"kind": "html", "name": "t", "start_urls": [portal.url]}])
        hooks = RecordingHooks()
        ok = await CrawlService(settings, hooks, Metrics()).poll("t")
        return {
            "ok": ok,
            "files": sorted(e["url"] for e in hooks.events if e["hook"] == "on_file"),
            "base": portal.url,
        }
    finally:
        portal.stop()
