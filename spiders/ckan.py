"""The spider for CKAN portals: walk the Action API's package_search and report every resource."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from spiders.catalogue import CatalogueSpider, text

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    import scrapy
    from scrapy.http import Response

    from monitor.crawl.items import DatasetItem

__all__ = ["CkanSpider"]

#: Datasets asked for per package_search page: CKAN's default ``ckan.search.rows_max``.
PAGE_ROWS = 1000
#: Oldest first, so datasets created during a walk land after it, not inside it.
SORT = "metadata_created asc, id asc"
#: Path segments that start a CKAN page rather than its root (``/dataset/x``, ``/api/3``).
_NOT_ROOT = ("api", "dataset", "organization", "group")


class CkanSpider(CatalogueSpider):
    """Walk a CKAN portal's datasets through its Action API and report every resource file.

    The start URL is the portal's root (``https://data.ca.gov/``; a URL under
    ``/api/`` or ``/dataset/`` is cut back to its root). It pages through
    ``/api/3/action/package_search`` oldest dataset first (``rows`` up to 1000,
    ``start`` advancing by the datasets received, until ``count``), at most
    ``max_datasets`` datasets per poll, and reports each resource's ``url`` and,
    for a resource in the DataStore (``datastore_active``), its full dump at
    ``/datastore/dump/<resource id>``. A search result without its resources
    is read again with ``package_show``. Provenance: ``dataset`` is the
    package's ``name`` (its id when it has none), the title reads "<dataset
    title>: <resource name>", and the referer is the dataset's page. One
    portal per target: only the first start URL is walked.
    """

    name = "ckan"

    async def start(self) -> AsyncIterator[scrapy.Request]:
        """Request the first package_search page of this poll."""
        if len(self.start_urls) > 1:
            self.logger.warning(
                "target=%s: a ckan target walks one portal; only %s is used",
                self.target,
                self.start_urls[0],
            )
        if self.start_urls:
            yield self.search(portal_root(self.start_urls[0]), _offset(self.cursor))

    def search(self, root: str, start: int) -> scrapy.Request:
        """Return the package_search request for datasets from ``start``."""
        query = urlencode({"rows": min(PAGE_ROWS, self.room()), "start": start, "sort": SORT})
        return self.api(
            f"{root}api/3/action/package_search?{query}",
            self.parse_search,
            resume=_cursor(start),
            cb_kwargs={"root": root, "start": start},
        )

    def parse_search(
        self, response: Response, root: str, start: int
    ) -> Iterator[DatasetItem | scrapy.Request]:
        """Report one page's resources and ask for the next page while this poll has room."""
        result = self._result(response, _cursor(start))
        if result is None:
            return
        packages = result.get("results")
        count = result.get("count")
        if not isinstance(packages, list) or not isinstance(count, int):
            self.unreadable(response.url, "no results and count in the result", _cursor(start))
            return
        done = start
        for package in packages:
            if not self.room() or self.spent():
                break
            self.walked += 1
            done += 1
            if isinstance(package, dict):
                yield from self._package(package, root, start)
        through = not packages or done >= count
        self.walk_to(done, count, None if through else _cursor(done))
        if not through and done - start == len(packages) and self.room() and not self.spent():
            yield self.search(root, done)

    def parse_show(
        self, response: Response, root: str, start: int, expected: int = 0
    ) -> Iterator[DatasetItem]:
        """Report the resources of a dataset read with package_show."""
        self.reserved = max(0, self.reserved - expected)
        if response.status == 404:  # deleted since the search: nothing to report
            return
        package = self._result(response, _cursor(start))
        if package is not None:
            yield from self._package(package, root, start)

    def _result(self, response: Response, resume: str | None) -> dict[str, Any] | None:
        data = self.json_of(response, resume)
        if data is None:
            return None
        result = data.get("result") if isinstance(data, dict) else None
        if (
            not isinstance(data, dict)
            or data.get("success") is not True
            or not isinstance(result, dict)
        ):
            said = (
                {k: data.get(k) for k in ("success", "error")} if isinstance(data, dict) else data
            )
            self.unreadable(
                response.url, f"not a successful Action API answer: {said!r:.200}", resume
            )
            return None
        return result

    def _package(
        self, package: dict[str, Any], root: str, start: int
    ) -> Iterator[DatasetItem | scrapy.Request]:
        name = text(package.get("name")) or text(package.get("id"))
        title = text(package.get("title")) or name
        referer = f"{root}dataset/{quote(name)}" if name else None
        resources = package.get("resources")
        if not isinstance(resources, list):
            ident = text(package.get("id")) or name
            expected = package.get("num_resources")
            expected = expected if isinstance(expected, int) and expected >= 0 else 1
            if ident and expected:
                self.reserved += expected  # so the budget check counts them already
                yield self.api(
                    f"{root}api/3/action/package_show?{urlencode({'id': ident})}",
                    self.parse_show,
                    resume=_cursor(start),
                    cb_kwargs={"root": root, "start": start, "expected": expected},
                    handle=(404,),
                )
            return
        for resource in resources:
            if not isinstance(resource, dict):
                continue
            label = text(resource.get("name")) or text(resource.get("id"))
            about = f"{title}: {label}" if title and label else title or label
            yield from self.report(
                resource.get("url"), base=root, dataset=name, title=about, referer=referer
            )
            ident = text(resource.get("id"))
            if ident and str(resource.get("datastore_active")).lower() == "true":
                yield from self.report(
                    f"{root}datastore/dump/{quote(ident)}",
                    base=root,
                    dataset=name,
                    title=f"{about} (DataStore dump)",
                    referer=referer,
                )


def portal_root(url: str) -> str:
    """Return a CKAN portal's root URL, ending with a slash, from any URL on it."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    for i, segment in enumerate(segments):
        if segment in _NOT_ROOT:
            segments = segments[:i]
            break
    path = "/" + "".join(f"{s}/" for s in segments)
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _offset(cursor: str | None) -> int:
    return int(cursor) if cursor and cursor.isdigit() else 0


def _cursor(offset: int) -> str | None:
    return str(offset) if offset > 0 else None
