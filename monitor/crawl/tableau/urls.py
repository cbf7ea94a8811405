"""The URLs and requests of a Tableau viz session, as a browser sends them.

Sources of each shape (re-checked against them; see ``docs/tableau.md``):
the view page with ``tsConfigContainer`` and ``bootstrapSession`` —
bertrandmartel/tableau-scraping ``tableauscraper/api.py`` and
act-now-coalition/can-scrapers ``can_tools/scrapers/official/base.py``;
``vudcsv`` full data, commands and the crosstab flow — tableau-scraping
``api.py`` (``getCsvData``, ``getDownloadableUnderlyingData``,
``exportCrosstab*``); workbooks — wjsutton/tableau-public-mcp
``downloadWorkbookTwbx.ts`` and tableau/tabcmd ``docs/tabcmd_cmd.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from scrapy import Request
from scrapy.http.request import NO_CALLBACK

from monitor.crawl.outcomes import FETCH_META
from monitor.vizql import commands

if TYPE_CHECKING:
    from monitor.crawl.items import ViewItem
    from monitor.vizql.session import SessionConfig

__all__ = ["Session", "ViewRef", "form_request", "get_request"]

_SAFE = "-_.~!$&'()*+,;=:@"


@dataclass(frozen=True)
class ViewRef:
    """A view as the spider named it: where it lives and how to reach it."""

    server: str
    site: str | None
    workbook: str
    sheet: str
    url: str
    referer: str | None
    public: bool

    @classmethod
    def of(cls, item: ViewItem) -> ViewRef:
        """Read a ``ViewItem``."""
        return cls(
            server=str(item["server"]),
            site=str(item["site"]) if item.get("site") else None,
            workbook=str(item["workbook"]),
            sheet=str(item["sheet"]),
            url=str(item["url"]),
            referer=str(item["referer"]) if item.get("referer") else None,
            public=bool(item.get("public")),
        )

    @property
    def name(self) -> str:
        """Return ``<workbook>/<sheet>``, as alerts name the view."""
        return f"{self.workbook}/{self.sheet}"

    @property
    def page(self) -> str:
        """Return the URL a browser embedding the view loads (the config page)."""
        return f"{self.url}?:embed=y&:showVizHome=no"

    @property
    def start_session(self) -> str:
        """Return newer servers' ``startSession/viewing`` URL (the config as JSON)."""
        site = f"/t/{quote(self.site, safe=_SAFE)}" if self.site else ""
        return (
            f"{self.server}/vizql{site}/w/{quote(self.workbook, safe=_SAFE)}"
            f"/v/{quote(self.sheet, safe=_SAFE)}/startSession/viewing?:embed=y&:showVizHome=no"
        )

    @property
    def workbook_download(self) -> str:
        """Return the packaged workbook's URL: ``.twb`` on Tableau Public (it serves the .twbx)."""
        if self.public:
            return f"{self.server}/workbooks/{quote(self.workbook, safe=_SAFE)}.twb"
        site = f"/t/{quote(self.site, safe=_SAFE)}" if self.site else ""
        return f"{self.server}{site}/workbooks/{quote(self.workbook, safe=_SAFE)}.twbx"

    @property
    def profile(self) -> str:
        """Return Tableau Public's profile API URL for the workbook (``allowDataAccess``)."""
        return f"{self.server}/profile/api/single_workbook/{quote(self.workbook, safe='')}"

    def identity(self, mechanism: str, sheet: str) -> str:
        """Return the watched resource's URL of one download: the view URL and a fragment.

        Session URLs change every poll, so the view's URL with ``#<mechanism>:<sheet>``
        names the resource across polls (and opens the view when clicked).
        """
        return f"{self.url}#{mechanism.replace('_', '-')}:{quote(sheet, safe=_SAFE)}"


@dataclass(frozen=True)
class Session:
    """An open viz session: where its commands go (paths from ``monitor.vizql.commands``)."""

    view: ViewRef
    config: SessionConfig

    @property
    def bootstrap(self) -> str:
        """Return the ``bootstrapSession`` URL."""
        return self.view.server + commands.bootstrap_path(self.config)

    def command(self, name: str) -> str:
        """Return a session command's URL (``underlying_data``, ``crosstab_dialog``...)."""
        return self.view.server + commands.command_path(self.config, name)

    def vudcsv(self, view_id: str) -> str:
        """Return the full-data CSV of a worksheet (Download > Data > Full data)."""
        return self.view.server + commands.vudcsv_path(self.config, view_id)

    def tempfile(self, key: str) -> str:
        """Return where an export's result (a crosstab) is downloaded."""
        return self.view.server + commands.tempfile_path(self.config, key)


def get_request(url: str, *, referer: str | None, accept: str, max_bytes: int) -> Request:
    """Return a GET of the session's, read whole by the caller (``FETCH_META``)."""
    headers = {"Accept": accept}
    if referer:
        headers["Referer"] = referer
    return Request(url, headers=headers, callback=NO_CALLBACK, meta=_meta(max_bytes))


def form_request(
    url: str,
    body: bytes,
    content_type: str,
    *,
    referer: str | None,
    sheet_id: str | None,
    max_bytes: int,
) -> Request:
    """Return a POST of the session's with the headers Tableau's own client sends."""
    headers = {
        "Accept": "text/javascript",
        "Content-Type": content_type,
        "X-Requested-With": "XMLHttpRequest",
    }
    if sheet_id:
        headers["X-Tsi-Active-Tab"] = sheet_id
    if referer:
        headers["Referer"] = referer
    return Request(
        url,
        method="POST",
        body=body,
        headers=headers,
        callback=NO_CALLBACK,
        meta=_meta(max_bytes),
        dont_filter=True,
    )


def _meta(max_bytes: int) -> dict[str, object]:
    # Read like a data file: the poll guard leaves these to the session, which reports
    # what it could not read; the size limit is the download limit.
    return {FETCH_META: True, "download_maxsize": max_bytes, "download_warnsize": 0}
