"""The spider for Socrata portals: walk the domain's catalogue, report each dataset's CSV export."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

from spiders.catalogue import CatalogueSpider, position, text
from spiders.changes import moment

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import AsyncIterator, Iterator

    import scrapy
    from scrapy.http import Response
    from twisted.python.failure import Failure

    from monitor.crawl.items import DatasetItem

__all__ = ["SocrataSpider"]

#: Datasets asked for per catalogue page.
PAGE = 1000
#: The Discovery API pages by offset only this deep (``offset + limit``).
WINDOW = 10_000
#: A Socrata dataset id ("four by four").
FXF = re.compile(r"\b([a-z0-9]{4}-[a-z0-9]{4})\b")
#: Answers that mean "this catalogue endpoint is not here": try the next one.
ABSENT = (400, 404)
#: The change feed: the domain's assets, most recently updated first (the Discovery
#: API's ``order`` takes an attribute and, after a space, ``ASC`` or ``DESC``).
CHANGES_ORDER = "updatedAt DESC"
#: Assets asked for per change-feed page: a poll's changes are usually few.
CHANGES_PAGE = 100
#: Where a Discovery API result says when it last changed: metadata or data.
UPDATED = ("updatedAt", "data_updated_at", "metadata_updated_at")


class SocrataSpider(CatalogueSpider):
    """Walk a Socrata domain's datasets and report each one's CSV export.

    The start URL is the domain's root (``https://data.cityofchicago.org/``).
    The spider pages through the domain's Discovery API,
    ``/api/catalog/v1?domains=<host>&limit=<n>&offset=<m>`` (every asset type; up to
    1000 per page, until ``resultSetSize``; the API pages only the first 10,000
    by offset, so a larger domain's poll is reported incomplete), at most
    ``max_datasets`` datasets per poll, and reports
    ``/api/views/<id>/rows.csv?accessType=DOWNLOAD`` for each dataset and filtered
    view, ``/api/geospatial/<id>?method=export&format=GeoJSON`` for each map, and
    ``/download/<id>/<mime type>`` for each file (an asset with a blob). Where that API
    is absent (400 or 404), it falls back, best effort, to the older
    ``/api/views.json?limit=&page=`` listing (only plain tables; no total is
    known), then to the domain's DCAT ``/data.json`` (ids taken from each
    dataset's ``identifier`` or ``landingPage``). Provenance: ``dataset`` is
    the dataset id (``abcd-1234``), the title is its name, and the referer is
    its permalink (``/d/<id>``). One domain per target: only the first start
    URL is walked. Stories, charts, measures, forms, data lenses and links to
    data elsewhere hold no data of their own and are not fetched.
    """

    name = "socrata"
    #: How deep the Discovery API pages by offset.
    window = WINDOW

    async def start(self) -> AsyncIterator[scrapy.Request]:
        """Request this poll's first catalogue page, in the mode the walk is in."""
        if len(self.start_urls) > 1:
            self.logger.warning(
                "target=%s: a socrata target walks one domain; only %s is used",
                self.target,
                self.start_urls[0],
            )
        if not self.start_urls:
            return
        root = _root(self.start_urls[0])
        mode, _, _ = (self.cursor or "").rpartition(":")
        offset = position(self.cursor)
        if mode == "views":
            yield self.views(root, offset)
        elif mode == "datajson":
            yield self.datajson(root)
        elif self.since is not None:
            yield self.changes(root, 0)  # the walk's first page follows the feed's answer
        else:
            yield self.catalogue(root, offset)

    # -- the change feed -----------------------------------------------------------------

    def changes(self, root: str, offset: int) -> scrapy.Request:
        """Return a change-feed page: the domain's assets, most recently updated first.

        Read before the walk, so an asset updated since the last poll is fetched at
        the start of this one, wherever it sits in the catalogue; the walk goes on
        after it as the full sweep, for assets whose times lie.
        """
        host = urlsplit(root).hostname or ""
        limit = max(1, min(CHANGES_PAGE, self.window - offset))
        query = urlencode(
            {"domains": host, "order": CHANGES_ORDER, "limit": limit, "offset": offset}
        )
        return self.api(
            f"{root}api/catalog/v1?{query}",
            self.parse_changes,
            resume=self.cursor,
            cb_kwargs={"root": root, "offset": offset, "changes": True},
            handle=ABSENT,
        )

    def parse_changes(
        self, response: Response, root: str, offset: int, changes: bool = True
    ) -> Iterator[DatasetItem | scrapy.Request]:
        """Report the assets updated since the last poll, then go on to the walk.

        Results come newest first, so the feed reads on only while a whole page is
        newer than the last poll. An answer of another shape, or none (400/404: no
        Discovery API, or one that refuses the order), leaves it all to the walk,
        whose own first page finds the fallback catalogue if need be.
        """
        walk = self.catalogue(root, position(self.cursor))
        if response.status in ABSENT:  # no feed this domain can give: nothing is missed
            self.feed_read = True
            self.logger.info(
                "target=%s change feed: the Discovery API answered %d; left to the walk",
                self.target,
                response.status,
            )
            yield walk
            return
        data = self.json_of(response, self.cursor)
        results = data.get("results") if isinstance(data, dict) else None
        total = data.get("resultSetSize") if isinstance(data, dict) else None
        if not isinstance(results, list) or not isinstance(total, int):
            if data is not None:
                self.unreadable(response.url, "no results in the change feed", self.cursor)
            self.feed_broken = True
            yield walk
            return
        since = self.since
        changed = [
            r
            for r in results
            if isinstance(r, dict)
            and isinstance(r.get("resource"), dict)
            and since is not None
            and (when := _updated(r["resource"])) is not None
            and when >= since
        ]
        yield from self.changed_first(
            changed,
            lambda r: self._asset(root, r["resource"], text(r.get("permalink"))),
            root,
        )
        after = offset + len(results)
        if (
            changed
            and len(changed) == len(results)
            and after < min(total, self.window)
            and not self.spent()
        ):
            yield self.changes(root, after)  # the whole page was new: read on
            return
        self.feed_read = True
        yield walk

    def api_failed(self, failure: Failure) -> list[scrapy.Request]:  # type: ignore[override]
        """A failed change-feed page leaves the walk to do; other pages fail as any API page."""
        super().api_failed(failure)
        request = getattr(failure, "request", None)
        if request is not None and request.cb_kwargs.get("changes"):
            self.feed_broken = True
            return [self.catalogue(request.cb_kwargs["root"], position(self.cursor))]
        return []

    # -- the Discovery API ---------------------------------------------------------------

    def catalogue(self, root: str, offset: int) -> scrapy.Request:
        """Return the Discovery API request for datasets from ``offset``."""
        limit = max(1, min(PAGE, self.room(), self.window - offset))
        host = urlsplit(root).hostname or ""
        # Every asset type: maps (often most of a catalogue), files and filtered views carry
        # data too; _asset() decides what each one offers.
        query = urlencode({"domains": host, "limit": limit, "offset": offset})
        return self.api(
            f"{root}api/catalog/v1?{query}",
            self.parse_catalogue,
            resume=_cursor("", offset),
            cb_kwargs={"root": root, "offset": offset},
            handle=ABSENT if offset == 0 else (),  # only the first page probes for the API
        )

    def parse_catalogue(
        self, response: Response, root: str, offset: int
    ) -> Iterator[DatasetItem | scrapy.Request]:
        """Report one page's datasets and ask for the next page while this poll has room."""
        if response.status in ABSENT:
            self.logger.info(
                "target=%s: no Discovery API here; trying /api/views.json", self.target
            )
            yield self.views(root, 0)
            return
        data = self.json_of(response, _cursor("", offset))
        results = data.get("results") if isinstance(data, dict) else None
        total = data.get("resultSetSize") if isinstance(data, dict) else None
        if not isinstance(results, list) or not isinstance(total, int):
            if data is not None:
                self.unreadable(response.url, "no results and resultSetSize", _cursor("", offset))
            return
        done = offset
        for result in results:
            if not self.room() or self.spent():
                break
            self.walked += 1
            done += 1
            if isinstance(result, dict) and isinstance(result.get("resource"), dict):
                link = text(result.get("permalink"))
                yield from self.isolated(self._asset(root, result["resource"], link), root)
        through = not results or done >= total or done >= self.window
        if through and done >= self.window and total > self.window:
            self.unreadable(
                response.url,
                f"the Discovery API pages only the first {self.window} of {total} datasets",
                None,
            )
        self.walk_to(done, total, None if through else _cursor("", done))
        if not through and done - offset == len(results) and self.room() and not self.spent():
            yield self.catalogue(root, done)

    # -- fallbacks -------------------------------------------------------------------------

    def views(self, root: str, offset: int) -> scrapy.Request:
        """Return the /api/views.json request for the page holding ``offset``."""
        limit = min(PAGE, self.max_datasets)
        page = offset // limit
        return self.api(
            f"{root}api/views.json?{urlencode({'limit': limit, 'page': page + 1})}",
            self.parse_views,
            resume=_cursor("views", page * limit),
            cb_kwargs={"root": root, "offset": page * limit, "limit": limit},
            handle=ABSENT if page == 0 else (),
        )

    def parse_views(
        self, response: Response, root: str, offset: int, limit: int
    ) -> Iterator[DatasetItem | scrapy.Request]:
        """Report the plain tables of one /api/views.json page; the total is not known."""
        if response.status in ABSENT:
            self.logger.info("target=%s: no /api/views.json either; trying /data.json", self.target)
            yield self.datajson(root)
            return
        views = self.json_of(response, _cursor("views", offset))
        if not isinstance(views, list):
            if views is not None:
                self.unreadable(response.url, "not a list of views", _cursor("views", offset))
            return
        taken = views[: self.room()]  # whole pages: a views.json page cannot start mid-way
        self.walked += len(taken)
        for view in taken:
            if isinstance(view, dict) and _is_table(view):
                yield from self.isolated(
                    self._export(root, view.get("id"), view.get("name"), None), root
                )
        done = offset + len(taken)
        through = len(views) < limit or not taken
        self.walk_to(done, done, None if through else _cursor("views", done))
        if not through and self.room() >= limit and not self.spent():
            yield self.views(root, done)

    def datajson(self, root: str) -> scrapy.Request:
        """Return the request for the domain's DCAT catalogue."""
        return self.api(
            f"{root}data.json",
            self.parse_datajson,
            resume=self._datajson_cursor(),
            cb_kwargs={"root": root},
            handle=(404,),
        )

    def parse_datajson(self, response: Response, root: str) -> Iterator[DatasetItem]:
        """Report the export of each dataset in this poll's share of the DCAT catalogue."""
        cursor = self._datajson_cursor()
        if response.status == 404:
            self.unreadable(
                response.url,
                "no catalogue endpoint answered (api/catalog/v1, api/views.json, data.json)",
                None,
            )
            return
        data = self.json_of(response, cursor)
        datasets = data.get("dataset") if isinstance(data, dict) else None
        if not isinstance(datasets, list):
            if data is not None:
                self.unreadable(response.url, "no dataset list in data.json", cursor)
            return
        first = min(position(cursor), len(datasets))
        done = first
        for dataset in datasets[first:]:
            if not self.room() or self.spent():
                break
            self.walked += 1
            done += 1
            if isinstance(dataset, dict):
                where = f"{dataset.get('identifier')} {dataset.get('landingPage')}"
                found = FXF.search(where)
                if found:
                    link = text(dataset.get("landingPage"))
                    yield from self.isolated(
                        self._export(root, found.group(1), dataset.get("title"), link), root
                    )
        self.walk_to(done, len(datasets), None if done >= len(datasets) else f"datajson:{done}")

    def _datajson_cursor(self) -> str | None:
        return self.cursor if (self.cursor or "").startswith("datajson:") else None

    # -- files -----------------------------------------------------------------------------

    def _asset(
        self, root: str, resource: dict[str, Any], permalink: str | None
    ) -> Iterator[DatasetItem]:
        """Report what one Discovery API asset offers to download, by its type.

        A dataset or a filtered view: its CSV export. A map (a geospatial
        dataset): its GeoJSON export. A file (or any asset with a blob): the file.
        Links to data elsewhere, stories, charts, measures, forms and data lenses
        hold no data of their own on the portal and are not resources here.
        """
        kind = str(resource.get("type") or "dataset").lower()
        fxf = text(resource.get("id"))
        name = resource.get("name")
        blob = text(resource.get("blob_mime_type"))
        if fxf is None or not FXF.fullmatch(fxf):
            return
        if kind in ("file", "blob") or blob:
            mime = quote(blob or "application/octet-stream", safe="")
            yield from self._file(root, f"{root}download/{fxf}/{mime}", fxf, name, permalink)
        elif kind in ("dataset", "filter"):
            yield from self._export(root, fxf, name, permalink)
        elif kind == "map":
            url = f"{root}api/geospatial/{fxf}?method=export&format=GeoJSON"
            yield from self._file(root, url, fxf, name, permalink)
        else:
            self.logger.debug(
                "target=%s asset %s (%s) holds no data of its own", self.target, fxf, kind
            )

    def _file(
        self, root: str, url: str, fxf: str, name: object, permalink: str | None
    ) -> Iterator[DatasetItem]:
        yield from self.report(
            url,
            base=root,
            dataset=fxf,
            title=text(name) or fxf,
            referer=permalink or f"{root}d/{fxf}",
        )

    def _export(
        self, root: str, ident: object, name: object, permalink: str | None
    ) -> Iterator[DatasetItem]:
        fxf = text(ident)
        if fxf is None or not FXF.fullmatch(fxf):
            return
        yield from self.report(
            f"{root}api/views/{fxf}/rows.csv?accessType=DOWNLOAD",
            base=root,
            dataset=fxf,
            title=text(name) or fxf,
            referer=permalink or f"{root}d/{fxf}",
        )


def _updated(resource: dict[str, Any]) -> dt.datetime | None:
    """Return when a Discovery API asset last changed (its metadata or its data), or ``None``."""
    times = [t for key in UPDATED if (t := moment(resource.get(key))) is not None]
    return max(times, default=None)


def _root(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


def _cursor(mode: str, offset: int) -> str | None:
    if mode:
        return f"{mode}:{offset}"
    return str(offset) if offset > 0 else None


def _is_table(view: dict[str, Any]) -> bool:
    """Say whether a legacy view is an original table (not a map, chart or filtered view)."""
    if view.get("modifyingViewUid"):
        return False
    if "assetType" in view:
        return view.get("assetType") == "dataset"
    return view.get("viewType", "tabular") == "tabular" and view.get("displayType", "table") in (
        "table",
        None,
    )
