"""The spider for portals that embed Tableau dashboards: report the data export of every view."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

import scrapy

from monitor.crawl.items import API_REQUEST, SAME_DEPTH, DatasetItem
from spiders.html import HtmlSpider
from spiders.links import is_page, on_domains
from spiders.tableau_views import View, find_views, view_of

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable, Iterator

    from scrapy.http import Response

__all__ = ["TableauSpider"]

#: Tableau Public's profile API lists a workbook's sheets: ``/profile/api/workbook/<wb>``.
PROFILE_API = "/profile/api/workbook/"


class TableauSpider(HtmlSpider):
    """Crawl portal pages like ``html`` and report the CSV data export of every Tableau view.

    A view is found in a page's embed code (``<object class="tableauViz">`` with
    ``host_url``, ``site_root`` and ``name`` params), an Embedding API v3
    ``<tableau-viz src>``, an iframe or link to a view (``/views/<wb>/<sheet>``,
    ``/t/<site>/views/...``, ``/#/views/...``, ``/#/site/<site>/views/...``,
    Tableau Public's ``/app/profile/<user>/viz/<wb>/<sheet>``), a view URL in an
    inline script (JavaScript API v2), or a start URL that is a view. For each
    view the spider reports ``<view URL>.csv?:showVizHome=no``: the sheet's data
    as Tableau Server, Cloud and Public export it (summary data). On Tableau
    Public it also asks the profile API for the workbook's other visible sheets
    and reports theirs. Provenance: ``dataset`` is the workbook, ``title`` the
    sheet. The Tableau host a page embeds is allowed for these requests only
    (its pages are not crawled). Data behind a viz session (Download → Data →
    Full data, the ``/vizql/.../vudcsv/sessions/...`` URLs) needs session POSTs
    and is not fetched. Other data files the pages link are reported as by ``html``.
    """

    name = "tableau"

    #: Hosts of Tableau Public, whose profile API lists the sheets of a workbook.
    public_hosts: ClassVar[tuple[str, ...]] = ("public.tableau.com",)

    def __init__(
        self,
        target: str = "",
        start_urls: Iterable[str] = (),
        allowed_domains: Iterable[str] = (),
        **kwargs: Any,  # Any: Scrapy passes spider arguments through untyped
    ) -> None:
        super().__init__(target, start_urls, allowed_domains, **kwargs)
        self.configured_domains = list(self.allowed_domains)
        self.views: dict[str, View] = {}  # export URL -> view
        self.tableau_hosts: set[str] = set()
        self._workbooks: set[tuple[str, str]] = set()

    async def start(self) -> AsyncIterator[DatasetItem | scrapy.Request]:
        """Report the views among the start URLs; request the other start URLs as pages."""
        async for request in super().start():
            if view_of(request.url) is None:
                yield request
        for url in self.start_urls:
            view = view_of(url)
            if view is not None:
                for out in self._view(view, referer=None):
                    yield out

    def parse(self, response: Response, **kwargs: Any) -> Iterator[DatasetItem | scrapy.Request]:
        """Report the views a page embeds, then its files and links as ``html`` does.

        ``kwargs`` (Any: Scrapy's callback keywords) are ``html``'s.
        """
        if is_page(response) and hasattr(response, "css"):
            for view, how in find_views(response):
                self.logger.debug("target=%s %s: %s on %s", self.target, how, view, response.url)
                yield from self._view(view, referer=response.url)
        yield from super().parse(response, **kwargs)

    def sheets(self, response: Response, server: str) -> Iterator[DatasetItem]:
        """Report the export of every sheet Tableau Public's profile API lists for a workbook."""
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
                title = str(info.get("sheetTitle") or "") or sheet
                view = View(server, None, workbook, sheet)
                yield from self._export(view, title=title, referer=response.url)

    def closed(self, reason: str) -> None:
        """Say how many views were found, and which Tableau hosts were allowed for them."""
        super().closed(reason)
        if self.views:
            self.logger.info(
                "target=%s: %d Tableau view export(s) found, on %s",
                self.target,
                len(self.views),
                ", ".join(sorted({v.host for v in self.views.values()})),
            )

    # -- internals -----------------------------------------------------------------------

    def _view(self, view: View, *, referer: str | None) -> Iterator[DatasetItem | scrapy.Request]:
        self._allow(view.host)
        yield from self._export(view, title=view.sheet, referer=referer)
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

    def _export(self, view: View, *, title: str, referer: str | None) -> Iterator[DatasetItem]:
        self.views.setdefault(view.export, view)
        yield from self._report(view.export, title=title, dataset=view.workbook, referer=referer)

    def _allow(self, host: str) -> None:
        """Let the crawler fetch from a Tableau host that an allowed page embeds."""
        if on_domains(f"http://{host}/", self.allowed_domains):
            return
        self.tableau_hosts.add(host)
        self.allowed_domains.append(host)  # Scrapy's offsite filter re-reads the list

    def _allowed(self, url: str) -> bool:
        # Pages and files are followed on the configured domains only: the Tableau
        # hosts allowed for exports are not crawled.
        return on_domains(url, self.configured_domains)

    def _links(self, response: Response) -> Iterator[tuple[str, str | None, bool]]:
        # A link to a view is reported as its export (in ``parse``), not followed as a
        # page; nor is a Tableau server's home page (what ``/#/views/...`` links leave).
        servers = {v.server + "/" for v in self.views.values()}
        for url, text, pager in super()._links(response):
            view = view_of(url, trusted=True)
            if (view is None or view.export not in self.views) and url not in servers:
                yield url, text, pager
