"""The spider for DCAT-US catalogues (``data.json``): report every distribution's data file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from spiders.catalogue import CatalogueSpider, extension_for, text

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    import scrapy
    from scrapy.http import Response

    from monitor.crawl.items import DatasetItem

__all__ = ["DcatSpider", "catalogue_url"]


class DcatSpider(CatalogueSpider):
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
    """

    name = "dcat"

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

    def parse(self, response: Response, **kwargs: Any) -> Iterator[DatasetItem]:
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
        first = min(int(self.cursor) if (self.cursor or "").isdigit() else 0, total)
        done = first
        for dataset in datasets[first:]:
            if not self.room() or self.spent():
                break
            self.walked += 1
            done += 1
            if isinstance(dataset, dict):
                yield from self._dataset(dataset, response.url)
        self.walk_to(done, total, None if done >= total else str(done))

    def _dataset(self, dataset: dict[str, Any], catalogue: str) -> Iterator[DatasetItem]:
        ident = text(dataset.get("identifier")) or text(dataset.get("title"))
        title = text(dataset.get("title")) or ident
        referer = text(dataset.get("landingPage")) or catalogue
        distributions = dataset.get("distribution")
        if isinstance(distributions, dict):
            distributions = [distributions]
        if not isinstance(distributions, list):
            return
        for dist in distributions:
            if not isinstance(dist, dict):
                continue
            label = text(dist.get("title")) or text(dist.get("format"))
            about = f"{title}: {label}" if title and label else title or label
            download, access = dist.get("downloadURL"), dist.get("accessURL")
            yield from self.report(
                download, base=catalogue, dataset=ident, title=about, referer=referer
            )
            if access != download and self._is_data(dist, access):
                yield from self.report(
                    access, base=catalogue, dataset=ident, title=about, referer=referer
                )

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
