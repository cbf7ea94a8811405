"""Crawl scenarios against the stand-in catalogues (run by ``tests.crawl.driver``, one per kind).

Each scenario polls real ``CrawlService`` instances against ``tests.portals``
stand-ins on 127.0.0.1 and returns, per poll, what the daemon's hooks heard,
what the portal was asked, the walk's cursor and the catalogue gauges. The test
modules (``test_{ckan,dcat,socrata}_crawl.py``) assert on it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twisted.internet import defer

from monitor.config import Settings
from monitor.crawl import CrawlService
from monitor.metrics import Metrics
from monitor.models import COVERAGE_STATES
from spiders.socrata import WINDOW, SocrataSpider
from tests.crawl.recording import RecordingHooks
from tests.portals import CataloguePortal, CkanPortal, DcatPortal, SocrataPortal
from tests.portals.arcgis import ArcgisPortal
from tests.portals.ckan import CKAN_ROBOTS

if TYPE_CHECKING:
    from twisted.internet.interfaces import IReactorTime

#: Real ArcGIS answers (tests/fixtures/SOURCES.md).
RECORDED = Path(__file__).resolve().parents[1] / "data" / "portals" / "arcgis" / "recorded"
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
        target_options: dict[str, Any] | None = None,
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
            **(target_options or {}),
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
        coverage = [e for e in new if e["hook"] == "on_coverage"]
        return {
            "coverage": coverage[0] if coverage else None,
            "resources": {
                state: self.metrics.registry.get_sample_value(
                    "leakmon_resources", {"target": self.name, "state": state}
                )
                for state in ("discovered", *COVERAGE_STATES)
            },
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
    _age(portal)  # an established catalogue: nothing changed lately, for the change feeds
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
    _age(main)
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


async def ckan_robots(reactor: IReactorTime) -> dict[str, Any]:
    """Poll CKAN stand-ins that serve the robots.txt CKAN ships (``Disallow: /api/``)."""
    main = CkanPortal(robots=CKAN_ROBOTS)
    for i in range(45):  # three /dataset pages of 20
        main.publish(f"ds-{i:02d}", "data.csv", csv(i), datastore=i == 3)
    main.start()
    slow = _stock(CkanPortal(robots=b"User-agent: *\nDisallow: /api/\nCrawl-Delay: 1\n"), 2)
    fast = {"crawl_delay": 0}
    try:
        obeyed = await Watch("ckan", main, target_options=fast).polls(2)
        ignored = await Watch("ckan", main, target_options={"robots": "ignore"}).poll()
        walk = await Watch("ckan", main, target_options=fast, max_datasets_per_poll=25).polls(3)
        budget = await Watch("ckan", main, target_options=fast, max_requests_per_poll=30).polls(5)
        delayed = await Watch("ckan", slow).poll()
        return {
            "base": main.url,
            "dump": main.dump_url("ds-03", "data.csv").removeprefix(main.url),
            "obeyed": obeyed,
            "ignored": ignored,
            "walk": walk,
            "budget": budget,
            "delayed": delayed,
        }
    finally:
        _stop(main, slow)


def _recorded(name: str) -> Any:
    return json.loads((RECORDED / name).read_text(encoding="utf-8"))


async def arcgis_legacy(reactor: IReactorTime) -> dict[str, Any]:
    """Poll ArcGIS stand-ins with real servers' quirks: float IDs, 9.x caps, ignored queries."""
    layer = _recorded("columbia_layer.json")  # ArcGIS Server 10.01: no maxRecordCount
    ids_body = (RECORDED / "columbia_ids_only.json").read_bytes()
    ids = json.loads(ids_body)["objectIds"]  # 43 floats: 6.4579816E7...
    floats = ArcgisPortal()
    floats.publish(
        "County/Addresses",
        "addresses",
        _rows(len(ids)),
        recorded=layer,
        ids=ids,
        ids_body=ids_body,
        cap=1000,
    )
    nine = ArcgisPortal()  # 9.x: no maxRecordCount, at most 500 rows a query, no paging
    nine.publish("Legacy/Parcels", "parcels", _rows(1200), recorded=layer, cap=500)
    strings = ArcgisPortal()  # an ID field that is text, not named OBJECTID
    keys = [f"P-{i:05d}" for i in range(7)]
    strings.publish(
        "Text/Permits",
        "permits",
        _rows(7),
        ids=keys,
        oid="PERMIT_KEY",
        paged=False,
        max_record_count=3,
    )
    lying = ArcgisPortal()  # returnIdsOnly and returnCountOnly answered with rows
    lying.publish("Odd/Cases", "cases", _rows(5), ignores_ids_only=True, paged=False)
    lying.publish("Odd/Counts", "counts", _rows(5), ignores_count_only=True)
    capped = ArcgisPortal()  # the ID list cut at 4 of 9 (exceededTransferLimit)
    capped.publish("Big/Layer", "rows", _rows(9), ids_cap=4, paged=False, max_record_count=2)
    portals = {"floats": floats, "nine": nine, "strings": strings, "lying": lying, "capped": capped}
    for portal in portals.values():
        portal.start()
    try:
        out: dict[str, Any] = {}
        for name, portal in portals.items():
            watch = Watch("arcgis", portal, start=portal.directory_url, name=name)
            out[name] = await watch.poll()
            out[name]["served"] = {k: len(v) for k, v in portal.served.items()}
            out[name]["rows"] = {
                k: len(portal._rows_of(r)[1])
                for k, r in (
                    (res.key, res) for d in portal.datasets.values() for res in d.resources.values()
                )
            }
        return out
    finally:
        _stop(*portals.values())


async def ckan_changes(reactor: IReactorTime) -> dict[str, Any]:
    """A large CKAN catalogue walked 5 datasets a poll; a leak is published far down it."""
    portal = _stock(CkanPortal(), 30)
    try:
        watch = Watch("ckan", portal, max_datasets_per_poll=5)
        first = await watch.poll()
        leak = portal.publish("ds-27", "applicants.csv", csv(999))
        second = await watch.poll()
        return {
            "first": first,
            "second": second,
            "leak": leak.removeprefix(portal.url),
        }
    finally:
        _stop(portal)


async def html_rotation(reactor: IReactorTime) -> dict[str, Any]:
    """A plain site with more files than one poll's request budget can fetch."""
    portal = CataloguePortal()
    for i in range(30):
        portal.publish(f"ds-{i:02d}", "data.csv", csv(i))
    portal.start()
    try:
        return {"polls": await Watch("html", portal, max_requests_per_poll=12).polls(4)}
    finally:
        _stop(portal)


async def html_rotation_leak(reactor: IReactorTime) -> dict[str, Any]:
    """A carry-over larger than the budget, and a file published after the first poll."""
    portal = CataloguePortal()
    for i in range(30):
        portal.publish(f"ds-{i:02d}", "data.csv", csv(i))
    portal.start()
    try:
        watch = Watch("html", portal, max_requests_per_poll=8)
        first = await watch.poll()  # 7 of 30 files: 23 carried into a budget of 8
        leak = portal.publish("ds-99", "applicants.csv", csv(999))
        second = await watch.poll()
        return {"first": first, "second": second, "leak": leak.removeprefix(portal.url)}
    finally:
        _stop(portal)


def _age(portal: CataloguePortal) -> None:
    """Date every dataset's last modification long ago (the change feeds' "not changed")."""
    old = "2024-01-02" if isinstance(portal, DcatPortal) else "2024-01-02T03:04:05.000000"
    for dataset in portal.datasets.values():
        dataset.options["modified"] = old


async def dcat_changes(reactor: IReactorTime) -> dict[str, Any]:
    """A large data.json walked 5 datasets a poll; a leak is published far down it."""
    portal = _stock(DcatPortal(), 30)
    try:
        watch = Watch("dcat", portal, max_datasets_per_poll=5)
        first = await watch.poll()
        leak = portal.publish("ds-27", "applicants.csv", csv(999))
        second = await watch.poll()
        return {"first": first, "second": second, "leak": leak.removeprefix(portal.url)}
    finally:
        _stop(portal)


async def detect_and_dcat(reactor: IReactorTime) -> dict[str, Any]:
    """Detect portal kinds (CKAN under a path, DCAT-US 1.0 with a BOM); DCAT's Esri links."""
    mounted = _stock(CkanPortal(mount="/ckan"), 2)
    legacy = DcatPortal()
    legacy.legacy = legacy.bom = True
    for i in range(3):
        legacy.publish(f"ds-{i:02d}", "data.csv", csv(i))
    esri = legacy.url + "arcgis/rest/services/Public/Imagery/ImageServer"  # no rows to read
    legacy.link("ds-01", "ArcGIS GeoService", esri, "application/json", "Esri REST")
    legacy.start()
    try:
        out: dict[str, Any] = {}
        for name, portal, start in (
            ("ckan", mounted, mounted.url + "ckan/"),
            ("dcat", legacy, legacy.url),
        ):
            watch = Watch("auto", portal, start=start, name=name)
            out[name] = await watch.poll()
            out[name]["detected"] = watch.service._detected.get(name)
        out["esri"] = esri.removeprefix(legacy.url)
        return out
    finally:
        _stop(mounted, legacy)


async def socrata_assets(reactor: IReactorTime) -> dict[str, Any]:
    """Poll a Socrata domain whose catalogue holds maps, files and filtered views too."""
    portal = SocrataPortal()
    assets = {
        "tab1-0001": "dataset",
        "tab2-0002": "dataset",
        "map1-0003": "map",
        "map2-0004": "map",
        "map3-0005": "map",
        "fil1-0006": "filter",
        "pdf1-0007": "file",
        "sto1-0008": "story",
        "lnk1-0009": "href",
    }
    for i, (fxf, asset) in enumerate(assets.items()):
        media = "application/pdf" if asset == "file" else "text/csv"
        portal.publish(fxf, f"Asset {i}", csv(i), media, asset=asset)
    portal.start()
    try:
        poll = await Watch("socrata", portal).poll()
        base = portal.url
        poll["expected"] = sorted(
            portal.asset_url(f).removeprefix(base)
            for f, a in assets.items()
            if a not in ("story", "href")
        )
        return poll
    finally:
        _stop(portal)


def _rows(count: int) -> bytes:
    lines = [f"{i},{i % 7} Main St,permit" for i in range(count)]
    return ("row,street,kind\n" + "\n".join(lines) + "\n").encode()


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
    _age(main)
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
        _age(portal)  # an established domain: nothing updated lately, for the change feed
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
