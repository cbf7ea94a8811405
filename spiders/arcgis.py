"""The spider for ArcGIS: services directories and their layers' rows page by page, Hub sites."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from spiders.arcgis_hub import best_download, feed_url
from spiders.arcgis_layers import ArcgisLayers
from spiders.arcgis_rest import SERVICE_TYPES, Place, locate
from spiders.catalogue import BUDGET_SHARE, text
from spiders.changes import moment

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    import scrapy
    from scrapy.http import Response
    from twisted.python.failure import Failure

    from monitor.crawl.items import DatasetItem

__all__ = ["ArcgisSpider"]


@dataclass(frozen=True)
class _Unit:
    """One dataset of the walk: a service, a layer, or a Hub dataset (already read)."""

    key: str
    kind: str  # "service", "layer" or "hub"
    place: Place | None = None
    hub: dict[str, Any] | None = None  # Any: the dataset's JSON
    feed: str = ""


class ArcgisSpider(ArcgisLayers):
    """Walk ArcGIS REST services directories and ArcGIS Hub sites; report layer rows by page.

    A start URL is a services directory (``.../arcgis/rest/services``), a folder,
    a ``FeatureServer``/``MapServer`` service or one of its layers; anything else
    is an ArcGIS Hub site (its DCAT-US feed ``/api/feed/dcat-us/1.1.json``, or the
    start URL itself when it ends in ``.json``). Directory → folders → services
    (a ``MapServer`` that is also a ``FeatureServer`` is read once, as the latter)
    → ``<service>/layers?f=json`` → each feature layer and table that supports
    ``Query`` → a count (``returnCountOnly``) → one item per page of rows,
    ``<layer>/query?where=1%3D1&outFields=*&orderByFields=<oid>&resultOffset=N&resultRecordCount=M&f=json``
    with M the layer's ``maxRecordCount`` (at most 2,000), so no page exceeds the
    transfer limit; without server paging, pages are object-ID ranges
    (``returnIdsOnly``, then ``where=<oid>>=a AND <oid><=b``). Each page is
    fetched as a file (Esri JSON); ``dataset`` is the service, ``title`` "<layer>
    rows N–M". A Hub dataset gives one file, its CSV download (else GeoJSON, else
    another data file) as the feed lists it; ``dataset`` is its title.

    The walk's unit is a service or a Hub dataset: at most ``max_datasets`` per
    poll, in URL order, from ``cursor``; a service whose pages would not fit the
    request budget waits for the next poll. ArcGIS reports errors inside HTTP 200
    answers: a secured resource (token required) is skipped as not public; any
    other error makes the poll incomplete.

    Change feed (from the second poll on): outside the walk's share, Hub datasets
    whose ``modified`` and layers whose ``editingInfo.lastEditDate`` are at or
    after the last poll's start are read first, ahead of the share (see
    ``_changes``); the walk stays the full sweep.
    """

    name = "arcgis"

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # Any: CatalogueSpider's arguments
        super().__init__(*args, **kwargs)
        self._units: list[_Unit] = []
        self._listing = 0  # directory, folder and feed answers still awaited
        self._listed_urls: set[str] = set()
        self._emitted = False

    async def start(self) -> AsyncIterator[scrapy.Request | DatasetItem]:
        """List the directories, folders and Hub feeds; then walk this poll's share."""
        listings = []
        for url in self.start_urls:
            place = locate(url)
            if place.kind in ("service", "layer"):
                self._units.append(_Unit(place.url, place.kind, place))
            elif place.kind == "hub":
                listings.append(self._listing_request(feed_url(place.root), self.feed))
            else:
                listings.append(self._listing_request(place.url + "?f=json", self.directory))
        self._listing = len(listings)
        if not listings:
            for out in self._walk():
                yield out
        for request in listings:
            yield request

    # -- listing: directories, folders, Hub feeds ----------------------------------------

    def directory(self, response: Response) -> Iterator[scrapy.Request | DatasetItem]:
        """Note a directory's or folder's services and list its folders."""
        data = self._answer(response, self.cursor)
        if data is not None:
            root = locate(response.url).root
            folders = data.get("folders") if isinstance(data.get("folders"), list) else []
            for folder in folders:
                url = f"{root}/{folder}?f=json"
                if isinstance(folder, str) and folder and url not in self._listed_urls:
                    self._listing += 1
                    yield self._listing_request(url, self.directory)
            services = data.get("services") if isinstance(data.get("services"), list) else []
            for path in _services(services):
                self._units.append(_Unit(f"{root}/{path}", "service", Place("service", root, path)))
        yield from self._listed()

    def feed(self, response: Response) -> Iterator[scrapy.Request | DatasetItem]:
        """Note the datasets of a Hub site's DCAT-US feed."""
        data = self._answer(response, self.cursor)
        datasets = data.get("dataset") if isinstance(data, dict) else None
        if data is not None and not isinstance(datasets, list):
            self.unreadable(response.url, "no dataset list in the Hub feed", self.cursor)
        for entry in datasets if isinstance(datasets, list) else ():
            if isinstance(entry, dict):
                key = text(entry.get("identifier")) or text(entry.get("title")) or ""
                self._units.append(_Unit(key, "hub", hub=entry, feed=response.url))
        yield from self._listed()

    def listing_failed(self, failure: Failure) -> Iterator[scrapy.Request | DatasetItem]:
        """A listing failed (the crawler saw why): walk what the others listed."""
        self.api_failed(failure)
        yield from self._listed()

    # -- internals -----------------------------------------------------------------------

    def _listing_request(self, url: str, callback: Any) -> scrapy.Request:
        # Any: a bound callback. Listings are read every poll; a failed one resumes here.
        self._listed_urls.add(url)
        request = self.api(url, callback, resume=self.cursor)
        return request.replace(errback=self.listing_failed)

    def _listed(self) -> Iterator[scrapy.Request | DatasetItem]:
        self._listing -= 1
        if self._listing <= 0:
            yield from self._walk()

    def _walk(self) -> Iterator[scrapy.Request | DatasetItem]:
        """Walk this poll's share of the units, once every listing has answered."""
        if self._emitted:
            return
        self._emitted = True
        units = sorted({u.key: u for u in self._units}.values(), key=lambda u: u.key)
        total = len(units)
        first = min(int(self.cursor) if (self.cursor or "").isdigit() else 0, total)
        share = units[first : first + self.room()]
        self.walked = len(share)
        done = first + len(share)
        self.walk_to(done, total, None if done >= total else str(done))
        yield from self._changes(units[:first] + units[first + len(share) :])
        for index, unit in enumerate(share, start=first):
            at = str(index)
            if unit.kind == "hub" and unit.hub is not None:
                yield from self._hub(unit.hub, unit.feed)
            elif unit.place is not None:
                suffix = "/layers?f=json" if unit.kind == "service" else "?f=json"
                callback = self.layers if unit.kind == "service" else self.layer
                kwargs = {"place": unit.place, "at": at}
                yield self.api(unit.place.url + suffix, callback, resume=at, cb_kwargs=kwargs)

    def _changes(self, others: list[_Unit]) -> Iterator[scrapy.Request | DatasetItem]:
        """Read first what changed since the last poll among the units outside the walk's share.

        A Hub dataset changed when its feed entry's ``modified`` says so (the feed
        is read whole every poll: no request). A service's layers say when they
        were last edited (``editingInfo.lastEditDate``), which costs one request
        per service: those are asked ahead of the walk, within half of what the
        request budget has left, so the walk always keeps its share; the
        services past that wait for the walk (logged).
        """
        since = self.since
        if since is None:
            return
        # Read unless a listing failed (services may be missing); its layer requests may
        # still fail (feed_broken) or be cut by the budget (feed_cut).
        self.feed_read = not self.stuck
        hubs = [
            u
            for u in others
            if u.kind == "hub"
            and u.hub is not None
            and (when := moment(u.hub.get("modified"), end_of_day=True))
            and when >= since
        ]
        yield from self.changed_first(
            hubs, lambda u: self._hub(u.hub or {}, u.feed), hubs[0].feed if hubs else ""
        )
        rest = [(u.kind, u.place) for u in others if u.kind != "hub" and u.place is not None]
        allowance = len(rest)
        if self.max_requests is not None:
            planned = 1 + self.api_requests + len(self.reported) + self.reserved
            allowance = max(0, int(self.max_requests * BUDGET_SHARE - planned) // 2)
        for kind, place in rest[:allowance]:
            suffix = "/layers?f=json" if kind == "service" else "?f=json"
            yield self.feed_request(place.url + suffix, place)
        if len(rest) > allowance:
            self.feed_cut += len(rest) - allowance
            self.logger.info(
                "target=%s change feed: the edit dates of %d service(s) not read this poll"
                " (request budget); the walk reads them in turn",
                self.target,
                len(rest) - allowance,
            )

    def _hub(self, dataset: dict[str, Any], feed: str) -> Iterator[DatasetItem]:
        best = best_download(dataset, self.file_extensions)
        title = text(dataset.get("title")) or text(dataset.get("identifier"))
        if best is None:
            self.logger.debug("target=%s Hub dataset %r has no data download", self.target, title)
            return
        referer = text(dataset.get("landingPage")) or feed
        yield from self.report(best[0], base=feed, dataset=title, title=best[1], referer=referer)


def _services(entries: list[Any]) -> list[str]:
    """Return ``<name>/<type>`` paths of the services worth walking (Any: the listing's JSON)."""
    kinds: dict[str, set[str]] = {}
    for entry in entries:
        if isinstance(entry, dict) and entry.get("type") in SERVICE_TYPES and entry.get("name"):
            kinds.setdefault(str(entry["name"]), set()).add(str(entry["type"]))
    # A MapServer published with feature access is also a FeatureServer: read it once.
    return [
        f"{n}/{'FeatureServer' if 'FeatureServer' in t else 'MapServer'}" for n, t in kinds.items()
    ]
