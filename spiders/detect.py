"""The spider that tells which kind of portal a URL is, so a target needs no ``kind:``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import scrapy

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable

    from scrapy.http import Response
    from twisted.python.failure import Failure

__all__ = ["DetectSpider"]

#: Marks of an embedded Tableau dashboard in a page.
TABLEAU_MARKS = (
    "tableauplaceholder",
    "<tableau-viz",
    "tableau.com/views/",
    "/views/",
    "tableau_v8.js",
    "tableau.embed",
)
#: The kinds in the order a tie is settled: a page that embeds dashboards is watched
#: for its dashboards first; an API answer beats a guess from the page.
PRIORITY = ("tableau", "ckan", "socrata", "arcgis", "dcat", "html")


def _root(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def _json(response: Response) -> Any:
    """Return the body as JSON, or None (Any: it is whatever the server sent)."""
    try:
        return json.loads(response.body)
    except (ValueError, UnicodeDecodeError):
        return None


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
        roots: list[str] = []
        for url in self.start_urls:
            yield scrapy.Request(url, callback=self.page, errback=self.ignore, dont_filter=True)
            if _root(url) not in roots:
                roots.append(_root(url))
        for root in roots:
            probes = {
                "ckan": f"{root}/api/3/action/status_show",
                "socrata": f"{root}/api/catalog/v1?domains={urlsplit(root).hostname}&limit=1",
                "arcgis": f"{root}/arcgis/rest/services?f=json",
                "dcat": f"{root}/data.json",
            }
            for kind, url in probes.items():
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
        text = response.text.lower() if hasattr(response, "text") else ""
        marks = [m for m in TABLEAU_MARKS[:5] if m in text]
        if marks or ("/views/" in url and "tableau" in url):
            self.evidence.setdefault(
                "tableau", f"page embeds Tableau ({', '.join(marks) or 'URL'})"
            )
        if "ckan" in text and "/dataset" in text:
            self.evidence.setdefault("ckan", "page is a CKAN front end")

    def api(self, response: Response, kind: str) -> None:
        """Accept an endpoint's answer as evidence only when it has the kind's shape."""
        data = _json(response)
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
        elif kind == "dcat" and isinstance(data.get("dataset"), list):
            self.evidence["dcat"] = f"DCAT catalogue with {len(data['dataset'])} dataset(s)"

    def ignore(self, failure: Failure) -> None:
        """A probe that fails (404, refused, robots.txt) is simply not evidence."""
        self.logger.debug("probe failed: %s", failure.getErrorMessage())
