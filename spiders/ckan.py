"""The spider for CKAN portals: walk the Action API's package_search and report every resource."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit, urlunsplit

from monitor.crawl.items import ROBOTS_FALLBACK
from spiders.catalogue import CatalogueSpider, text

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    import scrapy
    from scrapy.http import Response
    from twisted.python.failure import Failure

    from monitor.crawl.items import DatasetItem

__all__ = ["CkanSpider"]

#: Datasets asked for per package_search page: CKAN's default ``ckan.search.rows_max``.
PAGE_ROWS = 1000
#: Oldest first, so datasets created during a walk land after it, not inside it.
SORT = "metadata_created asc, id asc"
#: The change feed: most recently modified first.
CHANGES_SORT = "metadata_modified desc, id asc"
#: Path segments that start a CKAN page rather than its root (``/dataset/x``, ``/api/3``).
_NOT_ROOT = ("api", "dataset", "organization", "group")
#: "1,234 datasets found" on CKAN's /dataset page (package/search.html).
_FOUND = re.compile(r"([\d,.\s]+?)\s+datasets?\s+found", re.IGNORECASE)
#: Why the API was not read when robots.txt disallows it (``leakmon status`` shows it).
_ROBOTS_WHY = (
    "robots.txt disallows the Action API; the datasets were read from the portal's"
    " /dataset pages instead, which do not list DataStore dumps (robots: ignore reads them)"
)


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
            root = portal_root(self.start_urls[0])
            if self.changed_since:
                yield self.changes(root, self.changed_since)  # the walk follows its answer
            else:
                yield self.search(root, _offset(self.cursor))

    def changes(self, root: str, since: str) -> scrapy.Request:
        """Return the change feed: datasets modified since the last poll, newest first.

        Read before the walk (whose first page is asked for once the feed has
        answered), so a file published a minute ago in a catalogue of 50,000
        datasets is fetched at the start of the poll; the walk goes on as a full
        sweep for servers whose modification times lie.
        """
        stamp = _solr_time(since)
        query = urlencode(
            {
                "fq": f"metadata_modified:[{stamp} TO *]",
                "sort": CHANGES_SORT,
                "rows": PAGE_ROWS,
                "start": 0,
            }
        )
        request = self.api(
            f"{root}api/3/action/package_search?{query}",
            self.parse_changes,
            resume=self.cursor,
            cb_kwargs={"root": root, "changes": True},
            meta={ROBOTS_FALLBACK: True},
        )
        return request

    def parse_changes(
        self, response: Response, root: str, changes: bool = True
    ) -> Iterator[DatasetItem | scrapy.Request]:
        """Report the resources of the datasets modified since the last poll."""
        result = self._result(response, self.cursor)
        packages = result.get("results") if result is not None else None
        if not isinstance(packages, list):
            if result is not None:
                self.unreadable(response.url, "no results in the change feed", self.cursor)
            yield self.search(root, _offset(self.cursor))
            return
        self.feed_read = True
        yield from self.changed_first(
            [p for p in packages if isinstance(p, dict)],
            lambda package: self._package(package, root, _offset(self.cursor)),
            f"dataset {root}",
        )
        yield self.search(root, _offset(self.cursor))

    def search(self, root: str, start: int) -> scrapy.Request:
        """Return the package_search request for datasets from ``start``."""
        query = urlencode({"rows": min(PAGE_ROWS, self.room()), "start": start, "sort": SORT})
        return self.api(
            f"{root}api/3/action/package_search?{query}",
            self.parse_search,
            resume=_cursor(start),
            cb_kwargs={"root": root, "start": start},
            meta={ROBOTS_FALLBACK: True},
        )

    def api_failed(self, failure: Failure) -> list[scrapy.Request]:  # type: ignore[override]
        """Read the /dataset pages when robots.txt disallows the API; else as any API page."""
        request = getattr(failure, "request", None)
        if request is not None and request.cb_kwargs.get("changes"):
            # A change feed that failed (the crawler counts it, unless robots.txt refused
            # it) still leaves the walk to do; its own first request may fall back.
            robots = "robots.txt" in failure.getErrorMessage()
            self.feed_read = robots  # robots.txt: the feed cannot be read, now or later
            if not robots:
                super().api_failed(failure)
            return [self.search(request.cb_kwargs["root"], _offset(self.cursor))]
        if (
            request is None
            or not request.meta.get(ROBOTS_FALLBACK)
            or "robots.txt" not in failure.getErrorMessage()
        ):
            super().api_failed(failure)
            return []
        root = request.cb_kwargs["root"]
        self.not_checked(f"{root}api/3/action/package_search", "robots", _ROBOTS_WHY)
        self.logger.warning(
            "target=%s: robots.txt disallows %s; reading the /dataset pages instead",
            self.target,
            request.url,
        )
        return [self.listing(root, *_page(self.cursor))]

    # -- the /dataset pages, when robots.txt disallows the API ------------------------------

    def listing(self, root: str, page: int, skip: int = 0) -> scrapy.Request:
        """Return the request for one page of the portal's dataset list (``/dataset/``).

        ``skip``: datasets at the top of the page that the last poll walked already.
        """
        return self.api(
            f"{root}dataset/?{urlencode({'page': page})}",
            self.parse_listing,
            resume=_page_cursor(page, skip),
            cb_kwargs={"root": root, "page": page, "skip": skip},
            accept="text/html,application/xhtml+xml",
        )

    def parse_listing(
        self, response: Response, root: str, page: int, skip: int = 0
    ) -> Iterator[scrapy.Request]:
        """Read each dataset page a listing page links, then the next listing page."""
        names: list[str] = []
        for href in response.css(
            "h3.dataset-heading a::attr(href), li.dataset-item a::attr(href)"
        ).getall():
            link = self.join(response.url, href)
            name = _dataset_name(link, root) if link else None
            if name and name not in names:
                names.append(name)
        found = _FOUND.search(" ".join(response.css("h1::text, h2::text").getall()))
        total = int(re.sub(r"\D", "", found.group(1)) or 0) if found else None
        per_page = max(len(names), 1)
        done = (page - 1) * per_page + min(skip, len(names))
        walked = min(skip, len(names))
        for name in names[walked:]:
            if not self.room() or self.spent():
                break
            self.walked += 1
            walked += 1
            self.reserved += 1  # at least one file, so the budget check counts it already
            yield self.api(
                f"{root}dataset/{quote(name)}",
                self.parse_dataset_page,
                resume=_page_cursor(page, skip),
                cb_kwargs={"name": name},
                accept="text/html,application/xhtml+xml",
            )
        done += walked - min(skip, len(names))
        more = any(
            parse_qs(urlsplit(link).query).get("page") == [str(page + 1)]
            for h in response.css(".pagination a::attr(href)").getall()
            if (link := self.join(response.url, h))
        )
        whole_page = walked == len(names)
        after = (
            (_page_cursor(page + 1) if whole_page else _page_cursor(page, walked))
            if (more or not whole_page)
            else None
        )
        self.walk_to(done, total if total is not None else done, after)
        if whole_page and names and more and self.room() and not self.spent():
            yield self.listing(root, page + 1)

    def parse_dataset_page(self, response: Response, name: str) -> Iterator[DatasetItem]:
        """Report each resource a dataset page links (``li.resource-item``)."""
        self.reserved = max(0, self.reserved - 1)
        title = text(" ".join(response.css("h1::text").getall())) or name
        for item in response.css("li.resource-item"):
            heading = item.css("a.heading::attr(href)").get()
            label = text(item.css("a.heading::attr(title)").get())
            page = self.join(response.url, heading) if heading else None
            for href in item.css("a::attr(href)").getall():
                url = self.join(response.url, href)
                if not url or not href.strip() or href.strip().startswith("#") or url == page:
                    continue
                if "/resource/" in url and "/download" not in url and _dataset_name(url, ""):
                    continue  # the resource's own page, or its edit page, not its file
                yield from self.report(
                    url,
                    base=response.url,
                    dataset=name,
                    title=f"{title}: {label}" if label else title,
                    referer=response.url,
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
                yield from self.isolated(self._package(package, root, start), root)
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


def _solr_time(iso: str) -> str:
    """Return an ISO 8601 time as Solr's UTC form (``2024-01-02T03:04:05Z``)."""
    when = dt.datetime.fromisoformat(iso)
    when = when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _offset(cursor: str | None) -> int:
    return int(cursor) if cursor and cursor.isdigit() else 0


def _page(cursor: str | None) -> tuple[int, int]:
    """Return the /dataset page, and the datasets to skip on it, of a ``page:<n>[:<skip>]`` cursor.

    An API cursor (an offset), or none, starts at page 1.
    """
    if not cursor or not cursor.startswith("page:"):
        return 1, 0
    parts = cursor.split(":")[1:3]
    if not all(p.isdigit() for p in parts):
        return 1, 0
    return max(int(parts[0]), 1), int(parts[1]) if len(parts) > 1 else 0


def _page_cursor(page: int, skip: int = 0) -> str | None:
    if skip:
        return f"page:{page}:{skip}"
    return f"page:{page}" if page > 1 else None


def _dataset_name(url: str, root: str) -> str | None:
    """Return the dataset a ``<root>dataset/<name>`` URL names (``None`` for other pages)."""
    path = urlsplit(url).path
    marker = urlsplit(root).path + "dataset/" if root else None
    if marker is None:
        _, sep, rest = path.partition("/dataset/")
        if not sep:
            return None
    elif path.startswith(marker):
        rest = path[len(marker) :]
    else:
        return None
    name = rest.split("/", 1)[0]
    return name if name and "?" not in name else None


def _cursor(offset: int) -> str | None:
    return str(offset) if offset > 0 else None
