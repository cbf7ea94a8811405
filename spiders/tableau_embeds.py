"""What every HTML crawl does with the Tableau views its pages embed: name them for the crawler.

A dashboard is usually one or two links below a portal's home page, embedded in
an ordinary page. So the ``html`` spider (and ``tableau``, ``auto``) looks for
views on every page it parses, not only on start pages: for each view it
reports the summary export as a data file (a stateless GET) and yields a
``ViewItem``, for which the crawler opens a viz session as a browser does and
fetches what the view lets a visitor download (``monitor.crawl.tableau``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, urlsplit

import scrapy

from monitor.crawl.items import API_REQUEST, SAME_DEPTH, DatasetItem, ViewItem
from spiders.links import BadURL, absolute_url, link_targets, on_domains, page_base
from spiders.tableau_views import View, find_views, may_show_view, shared_of, view_of

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from scrapy.http import Response

__all__ = ["EmbeddedViews"]

#: Tableau Public's profile API lists a workbook's sheets: ``/profile/api/workbook/<wb>``.
PROFILE_API = "/profile/api/workbook/"


class EmbeddedViews:
    """Mixin of ``HtmlSpider``: find Tableau views on pages and hand them to the crawler.

    The Tableau host a page embeds is allowed for the view's requests only: its
    pages are not crawled. On Tableau Public, the profile API lists the
    workbook's other visible sheets, and each is watched too; a ``/shared/<key>``
    link is requested once to learn which view it shows.
    """

    #: Hosts of Tableau Public, whose profile API lists the sheets of a workbook.
    public_hosts: ClassVar[tuple[str, ...]] = ("public.tableau.com",)

    # Set by HtmlSpider.__init__ and Scrapy.
    target: str
    name: str
    allowed_domains: list[str]
    failures: list[str]
    logger: Any  # Any: Scrapy's LoggerAdapter
    _report: Callable[..., Iterator[DatasetItem]]
    failed: Callable[[Any], None]  # Any: a Twisted Failure

    def init_views(self) -> None:
        """Start with no view seen; remember which domains the operator configured."""
        self.configured_domains = list(self.allowed_domains)
        self.views: dict[str, View] = {}  # view URL -> view
        self.tableau_hosts: set[str] = set()
        self._workbooks: set[tuple[str, str]] = set()
        self._shared: set[str] = set()

    def views_on(self, response: Response) -> Iterator[DatasetItem | ViewItem | scrapy.Request]:
        """Report every view a page embeds or links, and ask where its shared links lead."""
        for view, how in find_views(response):
            self.logger.debug("target=%s %s: %s on %s", self.target, how, view, response.url)
            yield from self.view(view, referer=response.url)
        base = page_base(response)
        links = [u for u in link_targets(response) if may_show_view(u)]
        if may_show_view(base):  # relative links take their path from the page's base
            links = link_targets(response)
        for url in links:
            try:
                joined = absolute_url(base, url, keep_fragment=True)
            except BadURL:
                continue  # counted where the page's links are read (HtmlSpider._links)
            shared = shared_of(joined, self.public_hosts)
            if shared is not None:
                yield from self._resolve_shared(shared, referer=response.url)

    def view(
        self, view: View, *, referer: str | None, title: str | None = None
    ) -> Iterator[DatasetItem | ViewItem | Any]:
        """Report a view's summary export and its session; list its workbook's other sheets.

        ``title`` is the sheet's title where the portal gives one (Tableau Public's
        profile API), else its URL name is used.
        """
        if view.url in self.views:
            return
        self.views[view.url] = view
        self._allow(view.host)
        name = f"{view.workbook}/{title or view.sheet}"
        yield from self.report_export(view, title=name, referer=referer)
        yield ViewItem(
            server=view.server,
            site=view.site,
            workbook=view.workbook,
            sheet=view.sheet,
            url=view.url,
            target=self.target,
            referer=referer,
            public=view.host in self.public_hosts,
        )
        workbook = (view.server, view.workbook)
        if view.host in self.public_hosts and workbook not in self._workbooks:
            self._workbooks.add(workbook)
            yield scrapy.Request(
                f"{view.server}{PROFILE_API}{quote(view.workbook, safe='')}",
                callback=self.sheets,
                errback=self.failed,
                cb_kwargs={"server": view.server},
                headers={"Accept": "application/json"},
                # Read whole; a failure counts against the poll, except a 404 (judged here).
                meta={API_REQUEST: True, SAME_DEPTH: True, "handle_httpstatus_list": [404]},
            )

    def sheets(self, response: Response, server: str) -> Iterator[DatasetItem | ViewItem | Any]:
        """Watch every sheet Tableau Public's profile API lists for a workbook."""
        if response.status != 200:  # 404: not on Tableau Public (any more); the view still is
            return
        try:
            data = json.loads(response.body)
        except (ValueError, UnicodeDecodeError) as exc:
            self.failures.append(f"Tableau Public profile API {response.url}: not JSON ({exc})")
            return
        infos = data.get("viewInfos") if isinstance(data, dict) else None
        for info in infos if isinstance(infos, list) else ():
            repo = str(info.get("sheetRepoUrl") or "") if isinstance(info, dict) else ""
            workbook, _, sheet = repo.partition("/sheets/")
            if workbook and sheet:
                title = str(info.get("sheetTitle") or "") or None
                view = View(server, None, workbook, sheet)
                yield from self.view(view, referer=response.url, title=title)

    def shared(self, response: Response) -> Iterator[DatasetItem | ViewItem | Any]:
        """Watch the view a Tableau Public ``/shared/<key>`` link led to (after redirects)."""
        view = view_of(response.url, trusted=True)
        if view is None:
            self.failures.append(
                f"Tableau shared link {response.request.url}: led to {response.url},"
                " which is not a view"
            )
            return
        yield from self.view(view, referer=response.request.headers.get("Referer", b"").decode())

    def report_export(
        self, view: View, *, title: str, referer: str | None
    ) -> Iterator[DatasetItem]:
        """Report a view's summary export (``<view>.csv``): the summary data, one row per mark."""
        yield from self._report(
            view.export,
            title=f"Summary data of view {title}",
            dataset=view.workbook,
            referer=referer,
        )

    def is_view_link(self, url: str) -> bool:
        """Say whether a link shows a known view (reported, not followed as a page)."""
        if not may_show_view(url):  # ``url`` is absolute: the cheap test is enough
            return bool(self.views) and url in {v.server + "/" for v in self.views.values()}
        view = view_of(url, trusted=True)
        if view is not None and view.url in self.views:
            return True
        if shared_of(url, self.public_hosts) is not None:
            return True
        return url in {v.server + "/" for v in self.views.values()}

    def views_closed(self) -> None:
        """Say how many views were found, and on which Tableau hosts."""
        if self.views:
            self.logger.info(
                "target=%s: %d Tableau view(s) found, on %s",
                self.target,
                len(self.views),
                ", ".join(sorted({v.host for v in self.views.values()})),
            )

    # -- internals -----------------------------------------------------------------------

    def _resolve_shared(self, url: str, *, referer: str) -> Iterator[scrapy.Request]:
        if url in self._shared:
            return
        self._shared.add(url)
        self._allow((urlsplit(url).hostname or "").lower())
        yield scrapy.Request(
            url,
            callback=self.shared,
            errback=self.failed,
            headers={"Referer": referer},
            meta={API_REQUEST: True, SAME_DEPTH: True},
        )

    def _allow(self, host: str) -> None:
        """Let the crawler fetch from a Tableau host that an allowed page embeds."""
        if not host or on_domains(f"http://{host}/", self.allowed_domains):
            return
        self.tableau_hosts.add(host)
        self.allowed_domains.append(host)  # Scrapy's offsite filter re-reads the list
