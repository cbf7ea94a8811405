"""Reading ArcGIS layers' rows page by page, and their edit dates (the ArcGIS change feed).

Shared by the ``arcgis`` spider (services a directory lists) and the ``dcat``
spider (Esri REST links inside a DCAT catalogue), so a layer is read the same
way whoever found it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spiders.arcgis_rest import SECURED, Layer, Place, error_of, layer_of, object_ids
from spiders.catalogue import BUDGET_SHARE, CatalogueSpider
from spiders.changes import moment

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterator

    import scrapy
    from scrapy.http import Response
    from twisted.python.failure import Failure

    from monitor.crawl.items import DatasetItem

__all__ = ["FEED_PRIORITY", "ArcgisLayers", "edited_at"]

#: Scrapy priority of the change feed's requests: ahead of the walk's.
FEED_PRIORITY = 10


def edited_at(layer: Any) -> dt.datetime | None:
    """Return when a layer's data was last edited (``editingInfo.lastEditDate``), or ``None``.

    Any: the layer's JSON. ArcGIS writes it in epoch milliseconds, on layers of
    feature services (10.1 and later, ArcGIS Online); older servers and map
    services do not give it, and their layers wait for the walk.
    """
    info = layer.get("editingInfo") if isinstance(layer, dict) else None
    return moment(info.get("lastEditDate")) if isinstance(info, dict) else None


class ArcgisLayers(CatalogueSpider):
    """Count a layer's rows and report one item per page of them (a mixin of spiders).

    ``at`` is the walk's cursor to resume from when a request fails; ``None``
    marks a request of the change feed, whose failures make the poll incomplete
    but never move the walk (a broken service outside this poll's share must not
    stop the walk from advancing).
    """

    #: Whether requests outside the walk (``at`` None) are a change feed's, whose
    #: failures leave the feed incomplete (``feed_through``).
    layers_feed = True

    # -- services and layers -------------------------------------------------------------

    def layers(self, response: Response, place: Place, at: str | None) -> Iterator[scrapy.Request]:
        """Count the rows of every queryable layer and table of a service."""
        data = self._answer(response, at)
        if data is None:
            return
        for entry, url in _entries(data, place):
            yield from self.isolated(self._layer(entry, url, place, at), place.url)

    def layer(self, response: Response, place: Place, at: str | None) -> Iterator[scrapy.Request]:
        """Count the rows of one layer (a start URL, or a link in a catalogue)."""
        data = self._answer(response, at)
        if data is not None:
            yield from self.isolated(self._layer(data, place.url, place, at), place.url)

    def edited(self, response: Response, place: Place) -> Iterator[scrapy.Request]:
        """Read the layers edited since the last poll (the change feed), ahead of the walk.

        ``response`` is a service's ``/layers`` or a layer's description. A layer
        without ``editingInfo`` says nothing and waits for the walk.
        """
        data = self._answer(response, None)
        since = self.since
        if data is None or since is None:
            return
        entries = _entries(data, place) if place.kind == "service" else [(data, place.url)]
        changed = [(e, u) for e, u in entries if (when := edited_at(e)) and when >= since]
        yield from self.changed_first(
            changed, lambda pair: self._layer(pair[0], pair[1], place, None), place.url
        )

    def feed_failed(self, failure: Failure) -> None:
        """Log a request outside the walk that failed; the crawler counts it, the walk stays."""
        request = getattr(failure, "request", None)
        self.feed_broken = self.feed_broken or self.layers_feed
        self.logger.info(
            "target=%s %s failed (%s); the walk's cursor is not moved",
            self.target,
            request.url if request is not None else "a request",
            failure.getErrorMessage(),
        )

    def feed_request(self, url: str, place: Place) -> scrapy.Request:
        """Return the change feed's request for a service's or layer's description."""
        request = self.api(url, self.edited, resume=None, cb_kwargs={"place": place})
        return request.replace(errback=self.feed_failed, priority=FEED_PRIORITY)

    # -- rows ------------------------------------------------------------------------------

    def count(self, response: Response, layer: Layer, at: str | None) -> Iterator[DatasetItem]:
        """Report one item per page of the layer's rows."""
        data = self._answer(response, at)
        rows = data.get("count") if data is not None else None
        if data is not None and not isinstance(rows, int):
            ignored = (
                " (it answered with rows: returnCountOnly ignored)" if "features" in data else ""
            )
            self._unreadable(response.url, f"the count query gave no count{ignored}", at)
            self.not_checked(layer.url, "error", f"its rows were not counted{ignored}")
        offsets = range(0, rows if isinstance(rows, int) else 0, layer.page)
        if not self._fits(layer, len(offsets), at):
            return
        for offset in offsets:
            last = min(offset + layer.page, rows or 0)
            yield from self._page(layer, layer.page_url(offset), f"rows {offset + 1}–{last}")

    def ids(self, response: Response, layer: Layer, at: str | None) -> Iterator[DatasetItem]:
        """Report one item per range of object IDs (servers that do not page queries)."""
        data = self._answer(response, at)
        if data is None:
            return
        found = data.get("objectIds")
        if not isinstance(found, list):
            # A server that ignores returnIdsOnly answers with rows (a recorded county
            # server does): taking that for "no IDs" would pass an unread layer as empty.
            ignored = (
                " (it answered with rows: returnIdsOnly ignored)" if "features" in data else ""
            )
            self._unreadable(response.url, f"the object-ID query gave no objectIds{ignored}", at)
            self.not_checked(layer.url, "error", f"its object IDs were not listed{ignored}")
            return
        ids, unusable = object_ids(found)
        if unusable:
            self._unreadable(
                response.url, f"{unusable} object IDs are neither numbers nor text", at
            )
        if data.get("exceededTransferLimit"):
            why = f"the server listed only {len(ids)} of its object IDs (exceededTransferLimit)"
            self._unreadable(response.url, why, at)
            self.not_checked(layer.url, "error", f"rows past the first {len(ids)}: {why}")
        starts = range(0, len(ids), layer.page)
        if not self._fits(layer, len(starts), at):
            return
        for start in starts:
            chunk = ids[start : start + layer.page]
            title = f"rows {start + 1}–{start + len(chunk)}"
            yield from self._page(layer, layer.range_url(chunk[0], chunk[-1]), title)

    # -- internals -----------------------------------------------------------------------

    def _layer(
        self, data: dict[str, Any], url: str, place: Place, at: str | None
    ) -> Iterator[scrapy.Request]:
        service = place.path.rsplit("/", 2 if place.kind == "layer" else 1)[0]
        layer, why = layer_of(data, url, service)
        if layer is None:
            self.logger.debug("target=%s layer %s skipped: %s", self.target, url, why)
            return
        callback, query = (
            (self.count, layer.count_url) if layer.paged else (self.ids, layer.ids_url)
        )
        request = self.api(query, callback, resume=at, cb_kwargs={"layer": layer, "at": at})
        if at is None:  # the change feed's: ahead of the walk, and never moving it
            request = request.replace(errback=self.feed_failed, priority=FEED_PRIORITY)
        yield request

    def _fits(self, layer: Layer, pages: int, at: str | None) -> bool:
        """Say whether a layer's pages fit the request budget; if not, its service waits.

        The service is walked again next poll (the walk resumes there), unless the
        layer alone is over the budget: its pages are reported anyway, and some
        will be dropped by the budget every poll until it is raised. A layer of the
        change feed that does not fit is left to the walk.
        """
        self.reserved += pages
        full = self.spent()
        self.reserved -= pages
        if not full or self.max_requests is None:
            return True
        if at is None:
            self.left_out(layer)
            return False
        if pages >= self.max_requests * BUDGET_SHARE:
            self.logger.warning(
                "target=%s layer %s has %d pages of rows, more than one poll's request budget"
                " (crawl.max_requests_per_poll=%d) can fetch; raise it to watch all of them",
                self.target,
                layer.url,
                pages,
                self.max_requests,
            )
            return True
        self.resume_at(at)
        self.logger.info(
            "target=%s request budget: service %s is walked next poll", self.target, layer.service
        )
        return False

    def left_out(self, layer: Layer) -> None:
        """Note a layer outside the walk whose pages would not fit the budget (the feed's)."""
        self.feed_cut += 1
        self.logger.info(
            "target=%s change feed: layer %s left to the walk (request budget)",
            self.target,
            layer.url,
        )

    def _page(self, layer: Layer, url: str, rows: str) -> Iterator[DatasetItem]:
        title = f"{layer.name} {rows}"
        yield from self.report(url, base=url, dataset=layer.service, title=title, referer=layer.url)

    def _unreadable(self, url: str, why: str, at: str | None) -> None:
        """Note an answer that could not be used; only the walk's own move its cursor.

        One outside the walk (the change feed's, a catalogue's Esri link) is also
        named in the poll's coverage as not checked (error).
        """
        if at is None:
            self.failures.append(f"API page {url}: {why}")
            self.not_checked(url, "error", why)
            self.feed_broken = self.feed_broken or self.layers_feed
        else:
            self.unreadable(url, why, at)

    def _answer(self, response: Response, at: str | None) -> dict[str, Any] | None:
        """Return an API answer's JSON object, or ``None`` after judging its error.

        Any: JSON. A secured resource is skipped quietly; another error, or an
        answer that is not a JSON object, makes the poll incomplete.
        """
        data = self.json_of(response, at) if at is not None else self._json(response)
        if data is None:
            return None
        if not isinstance(data, dict):
            self._unreadable(response.url, "the answer is not a JSON object", at)
            return None
        error = error_of(data)
        if error is None:
            return data
        code, message = error
        if code in SECURED:
            self.logger.info(
                "target=%s not public, skipped: %s (%s)", self.target, response.url, code
            )
        else:
            self._unreadable(response.url, f"ArcGIS error {code}: {message}", at)
        return None

    def _json(self, response: Response) -> Any:
        """Return a change-feed answer's JSON (Any), or ``None`` noted as a failure only."""
        before = self.stuck, self.next_cursor
        data = self.json_of(response, None)
        self.stuck, self.next_cursor = before  # json_of's note must not move the walk
        return data


def _entries(data: dict[str, Any], place: Place) -> list[tuple[dict[str, Any], str]]:
    """Return a ``<service>/layers`` answer's layers and tables with their URLs (Any: JSON)."""
    return [
        (entry, f"{place.url}/{entry['id']}")
        for key in ("layers", "tables")
        if isinstance(data.get(key), list)
        for entry in data[key]
        if isinstance(entry, dict) and isinstance(entry.get("id"), int)
    ]
