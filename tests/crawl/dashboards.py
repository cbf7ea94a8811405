"""Crawl scenarios against stand-in dashboards and map servers (Tableau, ArcGIS), and html sites.

Run by ``tests.crawl.driver`` in a child process (``tests.crawl.dashboards:tableau``);
each polls real ``CrawlService`` instances against ``tests.portals`` stand-ins on
127.0.0.1 and returns, per poll, what the hooks heard and what the server was asked.
``test_tableau_crawl.py`` and ``test_arcgis_crawl.py`` assert on it.
"""

from __future__ import annotations

import gzip
from typing import TYPE_CHECKING, Any

from monitor.crawl import CrawlService
from monitor.metrics import Metrics
from spiders.tableau import TableauSpider
from tests.crawl.catalogues import Watch
from tests.crawl.portal import Portal, Resource, page
from tests.crawl.recording import RecordingHooks
from tests.crawl.scenarios import _settings
from tests.portals.arcgis import ArcgisPortal
from tests.portals.tableau import TableauPortal

if TYPE_CHECKING:
    from twisted.internet.interfaces import IReactorTime

QUERY_ERROR = b'{"error": {"code": 500, "message": "Error performing query operation"}}'
CLEAN = b"county,year,applications\nAlameda,2021,120\nFresno,2021,85\nKern,2021,64\n"
PEOPLE = b"first_name,last_name,date_of_birth\nAnn,Lee,1970-01-02\nBo,Kim,1981-03-04\n"


def _rows(count: int) -> bytes:
    return b"district,permits\n" + b"".join(f"D{i},{i}\n".encode() for i in range(count))


def _tableau_site() -> TableauPortal:
    portal = TableauPortal()
    portal.publish("CCW", "Counts", CLEAN, embed="object")
    portal.publish("CCW", "Applicants", PEOPLE, embed="v3", site="Justice")
    portal.publish("CCW", "Detail", PEOPLE, public=True, on_page=False)
    portal.publish("Stops", "ByBeat", _rows(3), embed="iframe")
    portal.publish("Stops", "Trend", _rows(4), embed="script")
    portal.publish("Stops", "Summary", _rows(5), embed="link")
    portal.add_dataset("Empty", title="A dashboard page with no view")
    return portal.start()


def _relative(record: dict[str, Any], *bases: str) -> dict[str, Any]:
    """Write the Tableau host's URLs as ``TAB/...`` so tests can compare paths."""

    def short(url: str) -> str:
        for base, label in zip(bases, ("", "TAB/"), strict=False):
            url = url.replace(base, label)
        return url

    record["seen"] = [short(u) for u in record["seen"]]
    record["files"] = [(short(u), p, d) for u, p, d in record["files"]]
    record["unchanged"] = [short(u) for u in record["unchanged"]]
    record["errors"] = [e | {"url": short(e["url"])} for e in record["errors"]]
    return record


async def tableau(reactor: IReactorTime) -> dict[str, Any]:
    """Poll a portal embedding Tableau views: first sight, unchanged, withdrawn, a broken API."""
    # The stand-in's Tableau host is "localhost": let it answer Tableau Public's profile API.
    TableauSpider.public_hosts = ("localhost",)
    site, broken = _tableau_site(), _tableau_site()
    try:
        # ... and reach it at its loopback address, as the real Tableau host's public one.
        watch = Watch("tableau", site, trusted_hosts=["localhost"])
        bases = (site.url, site.tableau_url)
        polls = {"first": _relative(await watch.poll(), *bases)}
        polls["unchanged"] = _relative(await watch.poll(), *bases)
        site.withdraw("CCW", "Applicants")
        polls["withdrawn"] = _relative(await watch.poll(), *bases)
        broken.fail("/profile/api/workbook/CCW", 500)
        failing = Watch("tableau", broken, name="broken", trusted_hosts=["localhost"])
        polls["api_fails"] = _relative(await failing.poll(), broken.url, broken.tableau_url)
        return {"polls": polls}
    finally:
        site.stop()
        broken.stop()


def _arcgis_site() -> ArcgisPortal:
    portal = ArcgisPortal()
    portal.publish("Public/Permits", "Counts", _rows(5), max_record_count=2)
    portal.publish("Public/Permits", "Applicants", PEOPLE, hub=True)
    portal.add_service("Basemap", types=("MapServer", "FeatureServer"))
    portal.publish("Basemap", "Roads", _rows(1))
    portal.add_service("Legacy", types=("MapServer",))
    portal.publish("Legacy", "Addresses", _rows(3), paged=False, max_record_count=2)
    portal.publish("Legacy", "Lookup", _rows(2), table=True)
    portal.add_service("Secret", secured=True)
    portal.publish("Secret", "Staff", PEOPLE)
    portal.add_service("Empty")
    portal.age()  # an established directory: nothing edited lately, for the change feed
    return portal.start()


async def arcgis(reactor: IReactorTime) -> dict[str, Any]:
    """Walk ArcGIS stand-ins: directory, layer, Hub feed, a walk across polls, in-body errors."""
    site, broken, walked = _arcgis_site(), _arcgis_site(), _arcgis_site()
    try:
        whole = Watch("arcgis", site, start=site.directory_url)
        polls = {"first": await whole.poll(), "unchanged": await whole.poll()}
        site.withdraw("Public/Permits", "Applicants")
        polls["withdrawn"] = await whole.poll()
        layer = Watch(
            "arcgis", site, start=site.layer_url("Public/Permits", "Counts"), name="layer"
        )
        polls["layer"] = await layer.poll()
        hub = Watch("arcgis", walked, name="hub")
        polls["hub"] = await hub.poll()
        step = Watch(
            "arcgis", walked, start=walked.directory_url, name="walk", max_datasets_per_poll=2
        )
        polls["walk"] = await step.polls(4)
        broken.fail(
            "FeatureServer/1/query",
            200,
            body=QUERY_ERROR,
        )
        polls["error"] = await Watch(
            "arcgis", broken, start=broken.directory_url, name="err"
        ).poll()
        broken.heal()
        broken.fail("Basemap/FeatureServer/layers", 200, body=b"<html>Down for maintenance</html>")
        polls["garbled"] = await Watch(
            "arcgis", broken, start=broken.directory_url, name="gar"
        ).poll()
        broken.heal()
        broken.fail("rest/services/Public", 503)
        polls["folder_fails"] = await Watch(
            "arcgis", broken, start=broken.directory_url, name="fold"
        ).poll()
        return {"polls": polls, "base": site.url}
    finally:
        site.stop()
        broken.stop()
        walked.stop()


def _sitemap(*locs: str, index: bool = False) -> bytes:
    tag, item = ("sitemapindex", "sitemap") if index else ("urlset", "url")
    entries = "".join(f"<{item}><loc>{loc}</loc></{item}>" for loc in locs)
    ns = "http://www.sitemaps.org/schemas/sitemap/0.9"
    return f'<?xml version="1.0" encoding="UTF-8"?><{tag} xmlns="{ns}">{entries}</{tag}>'.encode()


async def html_sitemaps_and_pages(reactor: IReactorTime) -> dict[str, Any]:
    """Poll an html site whose files are reachable only through its sitemaps and a long listing."""
    portal = Portal().start()
    url = portal.url
    try:
        portal.set(
            "/robots.txt",
            Resource(f"User-agent: *\nSitemap: {url}sitemap-index.xml\n".encode(), "text/plain"),
        )
        portal.set(
            "/sitemap-index.xml",
            Resource(_sitemap(f"{url}s1.xml", f"{url}s2.xml.gz", index=True), "application/xml"),
        )
        portal.set(
            "/s1.xml",
            Resource(_sitemap(f"{url}hidden/", f"{url}files/listed.csv"), "application/xml"),
        )
        portal.set(
            "/s2.xml.gz", Resource(gzip.compress(_sitemap(f"{url}hidden2/")), "application/x-gzip")
        )
        portal.set("/", page("Home", "/catalog/"))
        for n in range(1, 7):  # a listing of six pages, each linking the next as "Next ›"
            nxt = f'<a href="/catalog/?page={n + 1}">Next ›</a>' if n < 6 else ""
            body = page(f"Catalogue page {n}", f"/files/page{n}.csv", "/about/", extra="").body
            portal.set(
                "/catalog/" + (f"?page={n}" if n > 1 else ""),
                Resource(body.replace(b"</ul>", nxt.encode() + b"</ul>")),
            )
        portal.set("/about/", page("About", "/about/team/"))
        portal.set("/about/team/", page("Team", "/files/too-deep.csv"))
        portal.set("/hidden/", page("Only in the sitemap", "/files/hidden.csv"))
        portal.set("/hidden2/", page("Only in the gzipped sitemap", "/files/hidden2.csv"))
        for name in ("listed", "hidden", "hidden2", "too-deep", *[f"page{n}" for n in range(1, 7)]):
            portal.set(f"/files/{name}.csv", Resource(b"a,b\n1,2\n", "text/csv", etag=True))
        settings = _settings(
            [{"name": "site", "kind": "html", "start_urls": [url], "every": 60, "max_depth": 2}]
        )
        hooks = RecordingHooks()
        ok = await CrawlService(settings, hooks, Metrics()).poll("site")
        done = [e for e in hooks.events if e["hook"] == "on_poll_done"]
        portal.remove("/s1.xml")  # a declared sitemap that is gone: the poll is incomplete
        broken = await CrawlService(settings, RecordingHooks(), Metrics()).poll("site")
        return {
            "ok": ok,
            "seen": [u.removeprefix(url) for u in done[0]["seen"]],
            "hits": [h.path for h in portal.hits],
            "broken_ok": broken,
        }
    finally:
        portal.stop()
