"""The spider for DCAT-US catalogues (``data.json``): report every distribution's data file."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from spiders.arcgis_layers import ArcgisLayers
from spiders.arcgis_rest import Layer, locate
from spiders.catalogue import extension_for, text
from spiders.changes import moment

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    import scrapy
    from scrapy.http import Response

    from monitor.crawl.items import DatasetItem

__all__ = ["DcatSpider", "catalogue_url"]

#: The path of an Esri REST service or layer (``.../FeatureServer/0``), which a DCAT
#: distribution may link with ``mediaType: application/json``: an API, not a file.
_ESRI_SERVICE = re.compile(
    r"/(?:FeatureServer|MapServer|ImageServer|GPServer|SceneServer)(?:/\d+)?/?$", re.IGNORECASE
)
#: Esri services whose layers hold rows, read as an ``arcgis`` target reads them.
_ESRI_ROWS = re.compile(r"/(?:FeatureServer|MapServer)(?:/\d+)?/?$", re.IGNORECASE)
#: An ArcGIS Hub dataset page: ``/datasets/<item id>_<layer>`` (the layer is optional).
_HUB_DATASET = re.compile(r"/datasets/([0-9a-f]{32})(?:_(\d+))?/?$", re.IGNORECASE)


class DcatSpider(ArcgisLayers):
    """Read a DCAT-US ``data.json`` catalogue and report each distribution's data file.

    The start URL is the catalogue (any URL ending in ``.json``) or a site root,
    which stands for its ``/data.json``. The catalogue is one JSON document
    (DCAT-US 1.1: ``{"dataset": [...]}``; the older top-level list is read too),
    fetched whole on every poll; its datasets are walked in the catalogue's
    order, at most ``max_datasets`` per poll. For each distribution the spider
    reports the ``downloadURL``, and the ``accessURL`` only when its
    ``mediaType``, its ``format`` or its own extension names a data file, since
    an ``accessURL`` is usually a landing page or an API. Provenance:
    ``dataset`` is the dataset's ``identifier`` (its title when it has none),
    the title reads "<dataset title>: <distribution title or format>", and the
    referer is the dataset's ``landingPage`` (else the catalogue).

    A link to an Esri ``FeatureServer``/``MapServer`` service or layer (often
    typed ``application/json``) is not fetched as a file: its layers are read as
    an ``arcgis`` target reads them (a count, then one item per page of rows);
    an ArcGIS Hub dataset page (``/datasets/<item>_<layer>``) of a dataset that
    links no such layer is read as its Hub CSV download. Image, geoprocessing
    and scene services hold no rows: "not checked (unsupported)". Layers whose
    reading fails make the poll incomplete without moving the walk.
    """

    name = "dcat"
    #: Linked layers are read with the catalogue, not as a change feed.
    layers_feed = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # Any: CatalogueSpider's arguments
        super().__init__(*args, **kwargs)
        self._layers_asked: set[str] = set()

    async def start(self) -> AsyncIterator[scrapy.Request]:
        """Request the catalogue."""
        if len(self.start_urls) > 1:
            self.logger.warning(
                "target=%s: a dcat target reads one catalogue; only %s is used",
                self.target,
                self.start_urls[0],
            )
        if self.start_urls:
            yield self.api(catalogue_url(self.start_urls[0]), self.parse, resume=self.cursor)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[DatasetItem | scrapy.Request]:
        """Report the files of this poll's share of the catalogue's datasets.

        ``kwargs`` (Any: Scrapy's callback keywords) are not used.
        """
        data = self.json_of(response, self.cursor)
        if data is None:
            return
        datasets = data.get("dataset") if isinstance(data, dict) else data
        if not isinstance(datasets, list):
            self.unreadable(response.url, "no dataset list in the catalogue", self.cursor)
            return
        total = len(datasets)
        yield from self._changed(datasets, response.url)
        first = min(int(self.cursor) if (self.cursor or "").isdigit() else 0, total)
        done = first
        for dataset in datasets[first:]:
            if not self.room() or self.spent():
                break
            self.walked += 1
            done += 1
            if isinstance(dataset, dict):
                yield from self.isolated(self._dataset(dataset, response.url), response.url)
        self.walk_to(done, total, None if done >= total else str(done))

    def _changed(
        self, datasets: list[Any], catalogue: str
    ) -> Iterator[DatasetItem | scrapy.Request]:
        """Report first the datasets ``modified`` since the last poll started (the change feed).

        Any: the catalogue's JSON. A dataset whose ``modified`` is a date alone counts
        as changed on that whole day; one without a readable ``modified`` waits for the
        walk, which stays the full sweep for catalogues whose dates lie.
        """
        since = self.since
        if since is None:
            return
        self.feed_read = True
        changed = [
            d
            for d in datasets
            if isinstance(d, dict)
            and (m := moment(d.get("modified"), end_of_day=True))
            and m >= since
        ]
        yield from self.changed_first(
            changed, lambda dataset: self._dataset(dataset, catalogue), catalogue
        )

    def _dataset(
        self, dataset: dict[str, Any], catalogue: str
    ) -> Iterator[DatasetItem | scrapy.Request]:
        ident = text(dataset.get("identifier")) or text(dataset.get("title"))
        title = text(dataset.get("title")) or ident
        referer = text(dataset.get("landingPage")) or catalogue
        distributions = dataset.get("distribution")
        if isinstance(distributions, dict):
            distributions = [distributions]
        if not isinstance(distributions, list):
            return
        esri: list[str] = []  # Esri services and layers linked: their rows are read
        hubs: list[str] = []  # ArcGIS Hub dataset pages
        for dist in distributions:
            if not isinstance(dist, dict):
                continue
            label = text(dist.get("title")) or text(dist.get("format"))
            about = f"{title}: {label}" if title and label else title or label
            download, access = dist.get("downloadURL"), dist.get("accessURL")
            if isinstance(download, str) and self._esri(download, catalogue):
                esri.append(download)
                download = None
            yield from self.report(
                download, base=catalogue, dataset=ident, title=about, referer=referer
            )
            if access == download:
                continue
            if isinstance(access, str) and self._esri(access, catalogue):
                esri.append(access)
            elif isinstance(access, str) and _HUB_DATASET.search(urlsplit(access).path):
                hubs.append(access)
            elif self._is_data(dist, access):
                yield from self.report(
                    access, base=catalogue, dataset=ident, title=about, referer=referer
                )
        rows = [urljoin(catalogue, u.strip()) for u in esri if _ESRI_ROWS.search(urlsplit(u).path)]
        for url in rows:
            yield from self._layers(url)
        if not rows:  # a Hub page stands for the layer a GeoService link would name
            for url in hubs:
                yield from self._hub_page(urljoin(catalogue, url.strip()), ident, title, referer)

    def _esri(self, url: object, catalogue: str) -> bool:
        """Say whether a distribution links an Esri REST service rather than a file.

        Its JSON (``application/json``) describes a service, it is not the data. Image,
        geoprocessing and scene services hold no rows: noted "not checked (unsupported)".
        """
        if not isinstance(url, str) or not _ESRI_SERVICE.search(urlsplit(url).path):
            return False
        if not _ESRI_ROWS.search(urlsplit(url).path):
            self.not_checked(
                urljoin(catalogue, url.strip()),
                "unsupported",
                "an Esri image, geoprocessing or scene service: it holds no rows to read",
            )
        return True

    def _layers(self, url: str) -> Iterator[scrapy.Request]:
        """Read the rows of an Esri service's layers, or of one layer, that a catalogue links."""
        place = locate(url)
        if place.kind not in ("service", "layer") or not _ESRI_ROWS.search(place.url):
            return
        if not self.allowed(place.url):
            self.not_checked(
                place.url, "permission", "an Esri layer on a host outside allowed_domains"
            )
            return
        if place.url in self._layers_asked:
            return
        self._layers_asked.add(place.url)
        service = place.kind == "service"
        request = self.api(
            place.url + ("/layers?f=json" if service else "?f=json"),
            self.layers if service else self.layer,
            resume=None,
            cb_kwargs={"place": place, "at": None},
        )
        yield request.replace(errback=self.feed_failed)

    def _hub_page(
        self, url: str, ident: str | None, title: str | None, referer: str
    ) -> Iterator[DatasetItem]:
        """Report an ArcGIS Hub dataset page's CSV download (Hub's download API)."""
        found = _HUB_DATASET.search(urlsplit(url).path)
        if found is None:
            return
        parts = urlsplit(url)
        query = f"?layers={found.group(2)}" if found.group(2) else ""
        download = f"{parts.scheme}://{parts.netloc}/api/download/v1/items/{found.group(1)}/csv"
        yield from self.report(
            download + query, base=url, dataset=ident, title=f"{title}: CSV (Hub)", referer=referer
        )

    def left_out(self, layer: Layer) -> None:
        """Count a linked layer whose pages would not fit the request budget as not checked."""
        self.not_checked(layer.url, "budget", "its pages would not fit this poll's request budget")

    def _is_data(self, dist: dict[str, Any], url: object) -> bool:
        """Say whether an accessURL is a data file rather than a landing page or an API."""
        labels = (dist.get("mediaType"), dist.get("format"))
        return self.is_data_url(url) or any(
            extension_for(label) in self.file_extensions for label in labels
        )


def catalogue_url(url: str) -> str:
    """Return the catalogue a start URL names: itself if it is JSON, else its ``/data.json``."""
    parts = urlsplit(url)
    if parts.path.lower().endswith(".json"):
        return url
    path = parts.path.rstrip("/") + "/data.json"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))
