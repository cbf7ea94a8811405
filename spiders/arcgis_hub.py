"""ArcGIS Hub sites: their DCAT-US feed, and the one download of a dataset worth watching."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from spiders.catalogue import extension_for, text

__all__ = ["HUB_FEED", "best_download", "feed_url"]

#: Where an ArcGIS Hub site serves its catalogue (DCAT-US 1.1).
HUB_FEED = "/api/feed/dcat-us/1.1.json"
#: Download formats of a Hub dataset, best first: one file per dataset is fetched.
HUB_FORMATS = (".csv", ".geojson")


def feed_url(url: str) -> str:
    """Return a Hub site's DCAT-US feed: the URL itself if it is JSON, else the site's feed."""
    parts = urlsplit(url)
    if parts.path.lower().endswith(".json"):
        return url
    return urlunsplit((parts.scheme, parts.netloc, HUB_FEED, "", ""))


def best_download(dataset: dict[str, Any], extensions: tuple[str, ...]) -> tuple[str, str] | None:
    """Return (URL, title) of a Hub dataset's CSV, else GeoJSON, else other data download.

    Hub lists a layer in every format it exports (CSV, GeoJSON, KML, shapefile...);
    the rows are the same, so one is enough. ``dataset`` is the feed's JSON entry
    (Any: JSON); ``extensions`` are the crawler's data-file extensions.
    """
    found: dict[str, tuple[str, str]] = {}
    dists = dataset.get("distribution")
    for dist in dists if isinstance(dists, list) else ():
        if not isinstance(dist, dict):
            continue
        url = text(dist.get("downloadURL")) or text(dist.get("accessURL"))
        labels = (dist.get("format"), dist.get("mediaType"), dist.get("title"))
        ext = next((e for e in map(extension_for, labels) if e), None)
        if url and ext in extensions:
            found.setdefault(ext, (url, text(dist.get("title")) or ext.lstrip(".").upper()))
    best = next((found[f] for f in HUB_FORMATS if f in found), None)
    return best or next(iter(found.values()), None)
