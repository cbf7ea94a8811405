"""Crawl scenarios against the stand-in catalogues (run by ``tests.crawl.driver``, one per kind).

Each scenario polls real ``CrawlService`` instances against ``tests.portals``
stand-ins on 127.0.0.1 and returns, per poll, what the daemon's hooks heard,
what the portal was asked, the walk's cursor and the catalogue gauges. The test
modules (``test_{ckan,dcat,socrata}_crawl.py``) assert on it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from twisted.internet import defer

from monitor.config import Settings
from monitor.crawl import CrawlService
from monitor.metrics import Metrics
from spiders.socrata import WINDOW, SocrataSpider
from tests.crawl.recording import RecordingHooks
from tests.portals import CataloguePortal, CkanPortal, DcatPortal, SocrataPortal

if TYPE_CHECKING:
    from twisted.internet.interfaces import IReactorTime

UA = "leakmon-test/0.1 (+https://github.com/leakmon/leakmon; catalogue tests)"


def csv(i: int) -> bytes:
    """Return a small clean CSV, different per ``i``."""
    return f"district,permits\nNorth,{i}\nSouth,{i + 1}\n".encode()


class Watch:
    """One target on its own service, hooks and metrics; ``poll`` returns a JSON-ready record."""

    def __init__(
        self,
        kind: str,
        portal: CataloguePortal,
        start: str | None = None,
        name: str = "t",
        **crawl: Any,
    ) -> None:
        self.kind, self.portal, self.name = kind, portal, name
        self.hooks, self.metrics = RecordingHooks(), Metrics()
        target = {
            "name": name,
            "kind": kind,
            "start_urls": [start or portal.url],
            "allowed_domains": ["127.0.0.1"],
            "every": 60,
        }
        options = {"autothrottle": False, "user_agent": UA, "download_timeout": 10} | crawl
        settings = Settings.model_validate({"targets": [target], "crawl": options})
        self.service = CrawlService(settings, self.hooks, self.metrics)

    async def poll(self) -> dict[str, Any]:
        """Poll once and say what happened."""
        events, log = len(self.hooks.events), len(self.portal.log)
        began = time.monotonic()
        ok = await self.service.poll(self.name)
        new = self.hooks.events[events:]
        base = self.portal.url
        done = [e for e in new if e["hook"] == "on_poll_done"]
        return {
            "ok": ok,
            "done_ok": done[0]["ok"] if done else None,
            "seen": [u.removeprefix(base) for u in (done[0]["seen"] if done else [])],
            "files": sorted(
                (e["url"].removeprefix(base), e["portal"], e["dataset"])
                for e in new
                if e["hook"] == "on_file"
            ),
            "unchanged": sorted(
                e["url"].removeprefix(base) for e in new if e["hook"] == "on_unchanged"
            ),
            "errors": [e for e in new if e["hook"] in ("on_fetch_error", "on_gone")],
            "answered": sorted(  # files the daemon heard about, whatever the outcome
                e["url"].removeprefix(base)
                for e in new
                if e["hook"] in ("on_file", "on_unchanged", "on_fetch_error", "on_gone")
            ),
            "hits": [p for _, p in self.portal.log[log:]],
            "hit_times": [t - began for t, _ in self.portal.log[log:]],
            "cursor": self.service._cursors.get(self.name),
            "walked": self._gauge("leakmon_catalogue_datasets_walked"),
            "size": self._gauge("leakmon_catalogue_datasets"),
            "last_poll": self.metrics.registry.get_sample_value(
                "leakmon_last_successful_poll_timestamp_seconds", {"target": self.name}
            ),
        }

    async def polls(self, count: int) -> list[dict[str, Any]]:
        """Poll ``count`` times in a row."""
        return [await self.poll() for _ in range(count)]

    def _gauge(self, name: str) -> float | None:
        labels = {"target": self.name, "kind": self.kind}
        return self.metrics.registry.get_sample_value(name, labels)


def _stock(portal: CataloguePortal, count: int, **options: Any) -> CataloguePortal:
    for i in range(count):
        portal.publish(f"ds-{i:02d}", "data.csv", csv(i), **options)
    return portal.start()


async def _together(watches: dict[str, Watch]) -> dict[str, dict[str, Any]]:
    records = await defer.gatherResults(
        [defer.ensureDeferred(w.poll()) for w in watches.values()], consumeErrors=True
    )
    return dict(zip(watches, records, strict=True))


def _stop(*portals: CataloguePortal) -> None:
    for portal in portals:
        portal.stop()


async def ckan(reactor: IReactorTime) -> dict[str, Any]:
    """Walk CKAN stand-ins: paging, DataStore, package_show, errors, rate limits, cursors."""
    far = CkanPortal()
    main = CkanPortal(rows_max=4)
    for i in range(10):
        main.publish(f"ds-{i:02d}", "data.csv", csv(i), datastore=i == 3)
    main.add_dataset("ds-05", title="Dataset five", lean=True)
    main.publish("ds-06", "far.csv", b"x\n1\n", url=far.url.replace("127.0.0.1", "localhost"))
    main.start()
    far.start()
    portals = {
        "empty": CkanPortal().start(),
        "broken": _stock(CkanPortal(), 2),
        "midway": _stock(CkanPortal(rows_max=4), 10),
        "limited": _stock(CkanPortal(), 2),
        "patient": _stock(CkanPortal(), 2),
        "garbled": _stock(CkanPortal(), 2),
    }
    try:
        portals["broken"].fail("package_search", 500)
        portals["midway"].fail("start=4", 500, times=3)
        portals["limited"].fail("package_search", 429, times=2, retry_after="1")
        portals["patient"].fail("package_search", 429, retry_after="3600")
        portals["garbled"].fail("package_search", 200, body=b'{"success": false}')
        whole = Watch("ckan", main, start=main.url + "dataset/")
        first = await whole.poll()
        main.withdraw("ds-09", "data.csv")
        second = await whole.poll()
        walk = await Watch("ckan", main, max_datasets_per_poll=3).polls(5)
        budget = await Watch("ckan", main, max_requests_per_poll=8).polls(4)
        faults = await _together({k: Watch("ckan", p) for k, p in portals.items() if k != "midway"})
        midway = await Watch("ckan", portals["midway"]).polls(3)
        return {
            "base": main.url,
            "dumps": {"ds-03": main.dump_url("ds-03", "data.csv").removeprefix(main.url)},
            "first": first,
            "second": second,
            "walk": walk,
            "budget": budget,
            "midway": midway,
            **faults,
        }
    finally:
        _stop(main, far, *portals.values())


async def dcat(reactor: IReactorTime) -> dict[str, Any]:
    """Read DCAT-US stand-ins: distributions, landing pages, legacy lists, errors, cursors."""
    main = DcatPortal()
    for i in range(10):
        main.publish(f"ds-{i:02d}", "data.csv", csv(i))
    main.publish("ds-01", "access.csv", b"k\n1\n", access=True)
    main.link("ds-02", "Landing page", main.url + "datasets/ds-02")
    main.link("ds-02", "Map service", main.url + "arcgis/rest/services/x", None, "Esri REST")
    main.link("ds-03", "Far file", "http://localhost:9/far.csv", media_type="text/csv")
    main.link("ds-04", "Export", main.url + "data/ds-04/data.csv", media_type=None, fmt="CSV")
    main.start()
    legacy = _stock(DcatPortal(path="/inventory/catalog.json"), 2)
    legacy.legacy = True
    portals = {
        "empty": DcatPortal().start(),
        "broken": _stock(DcatPortal(), 2),
        "limited": _stock(DcatPortal(), 2),
        "garbled": _stock(DcatPortal(), 2),
    }
    try:
        portals["broken"].fail("/data.json", 500)
        portals["limited"].fail("/data.json", 429, times=1, retry_after="1")
        portals["garbled"].fail("/data.json", 200, body=b"<html>maintenance</html>")
        whole = Watch("dcat", main)
        first = await whole.poll()
        main.withdraw("ds-09", "data.csv")
        second = await whole.poll()
        walk = await Watch("dcat", main, max_datasets_per_poll=3).polls(5)
        faults = await _together({k: Watch("dcat", p) for k, p in portals.items()})
        faults["legacy"] = await Watch("dcat", legacy, start=legacy.catalogue_url).poll()
        return {"base": main.url, "first": first, "second": second, "walk": walk, **faults}
    finally:
        _stop(main, legacy, *portals.values())


async def socrata(reactor: IReactorTime) -> dict[str, Any]:
    """Walk Socrata stand-ins: Discovery paging, its window, fallbacks, errors, cursors."""

    def domain(count: int, **kwargs: Any) -> SocrataPortal:
        portal = SocrataPortal(**kwargs)
        for i in range(count):
            portal.publish(f"ds{i:02d}-test", f"Dataset {i}", csv(i))
        return portal

    main = domain(10, limit_max=4).start()
    portals = {
        "empty": domain(0).start(),
        "broken": domain(2).start(),
        "limited": domain(2).start(),
        "views": domain(3).start(),
        "datajson": domain(3).start(),
        "nothing": domain(1).start(),
        "window": domain(10, limit_max=4, window=8).start(),
    }
    try:
        portals["broken"].fail("/api/catalog/v1", 500)
        portals["limited"].fail("/api/catalog/v1", 429, times=2, retry_after="1")
        for name in ("views", "datajson", "nothing"):
            portals[name].catalog = False
        portals["datajson"].views = portals["nothing"].views = False
        portals["nothing"].datajson = False
        whole = Watch("socrata", main)
        first = await whole.poll()
        main.withdraw("ds09-test")
        second = await whole.poll()
        walk = await Watch("socrata", main, max_datasets_per_poll=3).polls(5)
        SocrataSpider.window = 8  # the stand-in's window, as the Discovery API's is 10,000
        try:
            faults = await _together({k: Watch("socrata", p) for k, p in portals.items()})
        finally:
            SocrataSpider.window = WINDOW
        small = Watch("socrata", portals["views"], max_datasets_per_poll=2)
        faults["views_walk"] = await small.polls(3)
        return {"base": main.url, "first": first, "second": second, "walk": walk, **faults}
    finally:
        _stop(main, *portals.values())
