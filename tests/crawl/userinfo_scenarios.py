"""A page whose data link carries user-info (``http://anonymous@host/leak.csv``): it is fetched."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from monitor.crawl import CrawlService
from monitor.metrics import Metrics
from tests.crawl.portal import Portal, Resource, page
from tests.crawl.recording import RecordingHooks
from tests.crawl.scenarios import CSV_A, _fetches, _settings

if TYPE_CHECKING:
    from twisted.internet.interfaces import IReactorTime


async def userinfo(reactor: IReactorTime) -> dict[str, Any]:
    """Poll a page linking one file with user-info and one without."""
    portal = Portal().start()
    try:
        host = portal.url.removeprefix("http://")
        portal.set("/", page("Index", f"http://anonymous@{host}data/leak.csv", "/data/ok.csv"))
        portal.set("/data/leak.csv", Resource(CSV_A, "text/csv"))
        portal.set("/data/ok.csv", Resource(CSV_A, "text/csv"))
        settings = _settings([{"kind": "html", "name": "t", "start_urls": [portal.url]}])
        hooks, metrics = RecordingHooks(), Metrics()
        ok = await CrawlService(settings, hooks, metrics).poll("t")
        return {
            "ok": ok,
            "files": sorted(e["url"] for e in hooks.events if e["hook"] == "on_file"),
            "errors": [e for e in hooks.events if e["hook"] == "on_fetch_error"],
            "paths": sorted({h.path for h in portal.hits}),
            "fetches": _fetches(metrics, "t"),
            "base": portal.url,
        }
    finally:
        portal.stop()
