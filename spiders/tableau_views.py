"""Find Tableau views in pages and URLs: embed codes, view links, Tableau Public profile URLs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from spiders.links import BadURL, absolute_url, link_targets, page_base

if TYPE_CHECKING:
    from collections.abc import Iterator

    from scrapy.http import Response

__all__ = ["View", "find_views", "may_show_view", "shared_of", "view_of"]

#: Suffixes of a view's exports; a link to one still names the view.
_EXPORTS = (".csv", ".png", ".pdf", ".xlsx")
#: Tableau's JavaScript APIs (v1 ``viz_v1.js``, v2 ``tableau-2.x.js``, v3 ``tableau.embedding.3``).
_JS_API = re.compile(r"/javascripts/api/(?:viz_v1|tableau[-.][\w.-]*)\.js", re.IGNORECASE)
#: View URLs written in scripts (``new tableau.Viz(div, "https://.../views/...")``).
_SCRIPT_URL = re.compile(r"""https?://[^\s"'<>\\]+?/views/[^\s"'<>\\]+""")
#: What every view or shared link holds somewhere in its URL (``views``, ``viz``,
#: ``vizhome``, ``shared``), in any case, unless percent-encoding hides it.
_MARKERS = ("views", "viz", "shared")


@dataclass(frozen=True)
class View:
    """One Tableau view: a sheet (worksheet, dashboard or story) of a published workbook.

    Attributes:
        server: ``scheme://host[:port]`` of the Tableau Server, Cloud or Public.
        site: the site's content URL (``/t/<site>/``), ``None`` for the default site.
        workbook: the workbook's content URL (``CCWApplicants``).
        sheet: the sheet's content URL (``Applicants``).
    """

    server: str
    site: str | None
    workbook: str
    sheet: str

    @property
    def url(self) -> str:
        """Return the view's URL: ``<server>[/t/<site>]/views/<workbook>/<sheet>``."""
        site = f"/t/{_segment(self.site)}" if self.site else ""
        return f"{self.server}{site}/views/{_segment(self.workbook)}/{_segment(self.sheet)}"

    @property
    def export(self) -> str:
        """Return the URL of the view's data as CSV (Tableau's summary data of the sheet).

        ``?:showVizHome=no`` keeps Tableau Public from answering with its viz home page.
        """
        return f"{self.url}.csv?:showVizHome=no"

    @property
    def host(self) -> str:
        """Return the server's host name, lower case."""
        return (urlsplit(self.server).hostname or "").lower()


def view_of(url: str, *, trusted: bool = False) -> View | None:
    """Return the view a URL shows, or ``None`` when it is not a Tableau view URL.

    Shapes: ``/views/<wb>/<sheet>`` and ``/t/<site>/views/<wb>/<sheet>`` (with
    any suffix such as ``.csv``, custom-view segments or ``:embed`` parameters),
    Tableau Server's ``/#/views/...`` and ``/#/site/<site>/views/...``, Tableau
    Public's ``/app/profile/<user>/viz/<wb>/<sheet>`` and
    ``/profile/<user>#!/vizhome/<wb>/<sheet>``. A bare ``/views/a/b`` is common
    on sites that are not Tableau (CMS "views"), so it counts only when
    ``trusted`` (the page loads Tableau's JavaScript API from that host), when the
    host name says ``tableau`` or when the query has Tableau's ``:`` parameters.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    server = f"{parts.scheme}://{parts.netloc}"
    fragment = parts.fragment
    if fragment.startswith("!/vizhome/"):  # Tableau Public's older profile URLs
        found = _route("/views/" + fragment.removeprefix("!/vizhome/"))
        return View(server, *found) if found else None
    if fragment.startswith("/") and parts.path in ("", "/"):  # Tableau Server's client routes
        found = _route(fragment)
        return View(server, *found) if found else None
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if len(segments) >= 6 and segments[:2] == ["app", "profile"] and segments[3] == "viz":
        return View(server, None, segments[4], _strip(segments[5]))
    found = _route(parts.path)
    if found is None:
        return None
    strong = trusted or "tableau" in parts.hostname.lower() or found[0] is not None
    strong = strong or any(k.startswith(":") for k, _ in parse_qsl(parts.query))
    return View(server, *found) if strong else None


def may_show_view(link: str) -> bool:
    """Say whether a link (relative or absolute) could be a view or a shared link.

    A cheap test before the join and the parse that ``view_of`` and ``shared_of``
    need: an index page of 100,000 file links would pay for them on every link of
    every poll. It never says no to a view: a view's URL holds ``views`` (or ``viz``,
    ``vizhome``), a shared link ``shared``, and a ``%`` may hide either. A relative
    link can take them from the page's URL, so callers test the page's URL as well.
    """
    low = link.lower()
    return "%" in low or any(marker in low for marker in _MARKERS)


def shared_of(url: str, hosts: tuple[str, ...]) -> str | None:
    """Return a Tableau Public ``/shared/<key>`` link on one of ``hosts``, or ``None``.

    Such a link shows a view but does not name it: Tableau Public redirects it to
    ``/views/<workbook>/<sheet>``, so the crawl requests it once to find out.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    segments = [s for s in parts.path.split("/") if s]
    if parts.scheme not in ("http", "https") or host not in hosts:
        return None
    if len(segments) != 2 or segments[0] != "shared" or not segments[1].isalnum():
        return None
    return f"{parts.scheme}://{parts.netloc}/shared/{segments[1]}"


def find_views(response: Response) -> Iterator[tuple[View, str]]:
    """Yield each view a page embeds or links, with how it was found (for the logs)."""
    page = response.url
    hosts = {
        (urlsplit(url).hostname or "").lower()
        for src in response.css("script::attr(src)").getall()
        if _JS_API.search(src) and (url := _join(page, src))
    }
    for obj in response.css("object"):
        params = {
            (p.attrib.get("name") or "").lower(): p.attrib.get("value") or ""
            for p in obj.css("param")
        }
        if "name" in params and "host_url" in params:
            view = _from_params(params)
            if view is not None:
                yield view, "embed code (tableauPlaceholder)"
    for src in response.css("tableau-viz::attr(src)").getall():
        joined = _join(page, src)
        view = view_of(joined, trusted=True) if joined else None
        if view is not None:
            yield view, "<tableau-viz>"
    links = link_targets(response)
    if not may_show_view(page_base(response)) and not may_show_view(page):
        links = [u for u in links if may_show_view(u)]
    scripts = "\n".join(response.css("script:not([src])::text").getall())
    urls = [_join(page, u) for u in [*links, *_SCRIPT_URL.findall(scripts)]]
    for url in (u for u in urls if u):
        host = (urlsplit(url).hostname or "").lower()
        view = view_of(url, trusted=host in hosts)
        if view is not None:
            yield view, "link"


def _join(page: str, href: str) -> str | None:
    """Return a link made absolute, or ``None`` for one that is no URL (the page goes on)."""
    try:
        return absolute_url(page, href, keep_fragment=True)  # views hide in fragments
    except BadURL:
        return None


def _from_params(params: dict[str, str]) -> View | None:
    """Return the view of a ``tableauPlaceholder`` object's params, or ``None``."""
    if params.get("path"):  # trusted-ticket embeds: a sign-in per viewer, not public data
        return None
    host = unquote(params["host_url"]).strip()
    try:
        parts = urlsplit(absolute_url(host, ""))
    except BadURL:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    names = [s for s in params["name"].split("?")[0].split("/") if s]
    if len(names) < 2:
        return None
    site_root = [s for s in unquote(params.get("site_root", "")).split("/") if s]
    site = site_root[1] if len(site_root) >= 2 and site_root[0] == "t" else None
    return View(f"{parts.scheme}://{parts.netloc}", site, unquote(names[0]), _strip(names[1]))


def _route(path: str) -> tuple[str | None, str, str] | None:
    """Return (site, workbook, sheet) of a ``[/t|/site/<site>]/views/<wb>/<sheet>`` path."""
    segments = [unquote(s) for s in path.split("?")[0].split("/") if s]
    site = None
    if len(segments) >= 2 and segments[0] in ("t", "site"):
        site, segments = segments[1], segments[2:]
    if len(segments) < 3 or segments[0] != "views" or not segments[1] or not segments[2]:
        return None
    sheet = _strip(segments[2])
    return (site, segments[1], sheet) if sheet else None


def _strip(sheet: str) -> str:
    """Remove an export suffix from a sheet's name (``Applicants.csv`` → ``Applicants``)."""
    low = sheet.lower()
    for suffix in _EXPORTS:
        if low.endswith(suffix):
            return sheet[: -len(suffix)]
    return sheet


def _segment(name: str) -> str:
    return quote(name, safe="-_.~!$&'()*+,;=:@")
