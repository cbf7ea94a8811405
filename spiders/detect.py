"""The spider that tells which kind of portal a URL is, so a target needs no ``kind:``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import scrapy
from scrapy.http import HtmlResponse

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable

    from scrapy.http import Response
    from twisted.python.failure import Failure

__all__ = ["DetectSpider"]

#: Marks of an embedded Tableau dashboard in an HTML page: the embed code's placeholder,
#: the v3 web component, the JavaScript APIs. A link to a view (``/views/``, even on
#: public.tableau.com) is not one: such a page is ``html``, whose crawl finds its views.
TABLEAU_MARKS = (
    "tableauplaceholder",
    "<tableau-viz",
    "tableau_v8.js",
    "tableau-2.min.js",
    "tableau.embedding",
)
#: Media types of a page whose text may carry embed code (never a JSON or CSV body).
_HTML_TYPES = ("text/html", "application/xhtml+xml")
#: Distribution titles of an ArcGIS Hub site's DCAT-US feed (a link to an ArcGIS service
#: alone is not one: plain catalogues list services too).
_HUB_MARKS = ("arcgis hub dataset",)
#: The kinds in the order a tie is settled: a page that embeds dashboards is watched
#: for its dashboards first; an API answer beats a guess from the page.
PRIORITY = ("tableau", "ckan", "socrata", "arcgis", "dcat", "html")


def _root(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def _json(response: Response) -> Any:
    """Return the body as JSON, or None (Any: it is whatever the server sent)."""
    try:
        return json.loads(response.body.decode("utf-8-sig"))  # a BOM is no reason to refuse
    except (ValueError, UnicodeDecodeError):
        return None


def _bases(url: str) -> list[str]:
    """Return where a portal's APIs may live: the host's root, and the start URL's path.

    CKAN mounted under a path (``https://data.gov.au/data/``) answers its Action
    API there, not at the root; so does a ``data.json`` published under a folder.
    """
    root = _root(url)
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    for i, segment in enumerate(segments):
        if segment in ("api", "dataset", "organization", "group") or "." in segment:
            segments = segments[:i]
            break
    out = [root]
    if segments:
        out.append(root + "/" + "/".join(segments))
    return out


def _dcat_entries(data: Any) -> list[Any] | None:
    """Return a DCAT-US catalogue's datasets: 1.1's ``dataset`` list or 1.0's bare list.

    Any: JSON. A bare list counts only when its entries look like DCAT-US datasets.
    """
    if isinstance(data, dict):
        datasets = data.get("dataset")
        return datasets if isinstance(datasets, list) else None
    if isinstance(data, list) and data and all(isinstance(e, dict) for e in data):
        keys = ("identifier", "accessLevel", "distribution", "accessURL", "keyword")
        if all("title" in e and any(k in e for k in keys) for e in data[:20]):
            return data
    return None


def _is_hub(datasets: list[Any], probe: str) -> bool:
    """Say whether a DCAT feed is an ArcGIS Hub site's (Any: JSON datasets)."""
    host = urlsplit(probe).netloc
    for entry in datasets[:50]:
        for dist in entry.get("distribution") or () if isinstance(entry, dict) else ():
            if not isinstance(dist, dict):
                continue
            labels = f"{dist.get('title', '')} {dist.get('format', '')}".lower()
            if any(mark in labels for mark in _HUB_MARKS):
                return True
            access = str(dist.get("accessURL") or "")
            if urlsplit(access).netloc == host and "/api/download/v1/items/" in access:
                return True
    return False


class DetectSpider(scrapy.Spider):
    """Probe a portal's start URL and its well-known API endpoints; set ``detected``.

    It fetches the start page and, on the same host, CKAN's ``status_show``,
    Socrata's catalogue API, an ArcGIS REST services directory and a DCAT
    ``data.json``; each answer that has the kind's shape is evidence. After the
    crawl, ``detected`` holds the kind (``html`` when nothing else answered) and
    ``evidence`` one line per clue. It yields no items and downloads no files.
    """

    name = "detect"

    def __init__(
        self,
        target: str = "",
        start_urls: Iterable[str] = (),
        allowed_domains: Iterable[str] = (),
        **kwargs: Any,  # Any: Scrapy passes spider arguments through untyped
    ) -> None:
        super().__init__(**kwargs)
        self.target = target
        self.start_urls = list(start_urls)
        self.allowed_domains = [d.lower().strip(".") for d in allowed_domains]
        self.evidence: dict[str, str] = {}

    @property
    def detected(self) -> str:
        """Return the kind with the best evidence, ``html`` when none."""
        return next((k for k in PRIORITY if k in self.evidence), "html")

    async def start(self) -> AsyncIterator[scrapy.Request]:
        """Request the start pages and each kind's well-known endpoint."""
        probes: list[tuple[str, str]] = []
        for url in self.start_urls:
            yield scrapy.Request(url, callback=self.page, errback=self.ignore, dont_filter=True)
            root, *paths = _bases(url)
            for base in (root, *paths):
                probes += [
                    ("ckan", f"{base}/api/3/action/status_show"),
                    ("dcat", f"{base}/data.json"),
                ]
            probes += [
                ("socrata", f"{root}/api/catalog/v1?domains={urlsplit(root).hostname}&limit=1"),
                ("arcgis", f"{root}/arcgis/rest/services?f=json"),
                ("hub", f"{root}/api/feed/dcat-us/1.1.json"),
            ]
        seen: set[str] = set()
        for kind, url in probes:
            if url in seen:
                continue
            seen.add(url)
            yield scrapy.Request(
                url,
                callback=self.api,
                errback=self.ignore,
                cb_kwargs={"kind": kind},
                dont_filter=True,
            )

    def page(self, response: Response) -> None:
        """Look at a start page: a URL or body with a portal's shape."""
        url = response.url.lower()
        if "/rest/services" in url or "featureserver" in url or "mapserver" in url:
            self.evidence.setdefault("arcgis", f"start URL is an ArcGIS REST URL: {response.url}")
        if url.endswith("data.json"):
            self.api(response, "dcat")
        media = (response.headers.get(b"Content-Type") or b"").split(b";")[0].strip().lower()
        is_html = isinstance(response, HtmlResponse) or media.decode("latin-1") in _HTML_TYPES
        text = response.text.lower() if is_html and hasattr(response, "text") else ""
        marks = [m for m in TABLEAU_MARKS if m in text]
        if marks or ("/views/" in url and "tableau" in url):
            self.evidence.setdefault(
                "tableau", f"page embeds Tableau ({', '.join(marks) or 'URL'})"
            )
        if "ckan" in text and "/dataset" in text:
            self.evidence.setdefault("ckan", "page is a CKAN front end")

    def api(self, response: Response, kind: str) -> None:
        """Accept an endpoint's answer as evidence only when it has the kind's shape."""
        data = _json(response)
        if kind in ("dcat", "hub"):
            datasets = _dcat_entries(data)
            if datasets is None:
                return
            if kind == "hub" or _is_hub(datasets, response.url):
                self.evidence["arcgis"] = (
                    f"ArcGIS Hub site: its DCAT-US feed lists {len(datasets)} dataset(s)"
                )
            else:
                version = "1.0" if isinstance(data, list) else "1.1"
                self.evidence["dcat"] = (
                    f"DCAT-US {version} catalogue with {len(datasets)} dataset(s)"
                )
            return
        if not isinstance(data, dict):
            return
        if kind == "ckan" and data.get("success") is True and isinstance(data.get("result"), dict):
            version = data["result"].get("ckan_version", "?")
            self.evidence["ckan"] = f"CKAN Action API answered (ckan_version {version})"
        elif (
            kind == "socrata" and isinstance(data.get("results"), list) and "resultSetSize" in data
        ):
            self.evidence["socrata"] = "Socrata catalogue API answered"
        elif (
            kind == "arcgis"
            and ("services" in data or "folders" in data)
            and "currentVersion" in data
        ):
            self.evidence["arcgis"] = f"ArcGIS REST services directory {data.get('currentVersion')}"

    def ignore(self, failure: Failure) -> None:
        """A probe that fails (404, refused, robots.txt) is simply not evidence."""
        self.logger.debug("probe failed: %s", failure.getErrorMessage())
