"""What a link or an answer is: a page to crawl, a data file, or page furniture."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import urldefrag, urlsplit

import scrapy

if TYPE_CHECKING:
    from scrapy.http import Response

__all__ = [
    "ASSET_EXTENSIONS",
    "DEFAULT_EXTENSIONS",
    "DOWNLOAD_SEGMENTS",
    "FORMAT_PARAMS",
    "attachment_name",
    "file_name",
    "is_asset",
    "is_data",
    "is_page",
    "linked_url",
    "media_type",
    "on_domains",
    "page_title",
    "wanted_link",
]

#: The crawler passes ``crawl.file_extensions``; this is for running the spider alone.
DEFAULT_EXTENSIONS: tuple[str, ...] = (".csv", ".tsv", ".txt", ".xlsx", ".xls", ".xlsm", ".ods")
DEFAULT_EXTENSIONS += (".json", ".geojson", ".ndjson", ".jsonl", ".zip", ".pdf")

#: Query parameters whose value names a file format (``?format=csv``, ``?_format=json``).
FORMAT_PARAMS = frozenset(
    {"format", "_format", "fmt", "filetype", "file_type", "outputformat", "output_format"}
)
#: Path segments that mark a download endpoint (``/api/download/v1/items/42/csv``).
DOWNLOAD_SEGMENTS = frozenset({"download", "export"})
#: Links to these are never followed: they are page furniture, not pages or data.
ASSET_EXTENSIONS = frozenset(
    {".css", ".js", ".mjs", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico", ".webp", ".bmp"}
    | {".woff", ".woff2", ".ttf", ".otf", ".eot", ".mp3", ".mp4", ".webm", ".avi", ".mov"}
)
#: ``<link rel=...>`` values worth following; the rest are styles, icons and hints.
LINK_RELS = frozenset({"alternate", "next", "prev", "previous", "enclosure", "describedby"})
#: ``<link type=...>`` values that are feeds or search plug-ins, not pages or data.
FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/opensearchdescription+xml"}
)
#: Response types that are page furniture when a followed link answers with them.
ASSET_MEDIA: tuple[str, ...] = ("image/", "font/", "audio/", "video/", "text/css")
ASSET_MEDIA += ("text/javascript", "application/javascript", "application/x-javascript")
PAGE_MEDIA = frozenset({"text/html", "application/xhtml+xml"})


def is_page(response: Response) -> bool:
    """Say whether an answer is an HTML page to crawl (an attachment never is)."""
    disposition = response.headers.get(b"Content-Disposition") or b""
    if disposition.split(b";")[0].strip().lower() == b"attachment":
        return False
    media = media_type(response)
    if media is None:
        return isinstance(response, scrapy.http.HtmlResponse)
    return media in PAGE_MEDIA


def is_data(response: Response) -> bool:
    """Say whether a non-page answer is a data file rather than page furniture."""
    disposition = response.headers.get(b"Content-Disposition") or b""
    if disposition.split(b";")[0].strip().lower() == b"attachment":
        return True
    media = media_type(response) or ""
    return not media.startswith(ASSET_MEDIA)


def media_type(response: Response) -> str | None:
    """Return the answer's media type without parameters, lower case, or ``None``."""
    value = response.headers.get(b"Content-Type")
    if not value:
        return None
    return value.split(b";")[0].strip().lower().decode("latin-1") or None


def linked_url(response: Response) -> str:
    """Return the URL as linked, before redirects, without fragment."""
    # The URL as linked, before redirects: it names the file across polls even when
    # it redirects to a signed or versioned location.
    redirects = response.meta.get("redirect_urls") if response.request is not None else None
    return urldefrag(redirects[0] if redirects else response.url)[0]


def attachment_name(response: Response) -> str | None:
    """Return the file name a ``Content-Disposition`` header gives, or ``None``."""
    disposition = (response.headers.get(b"Content-Disposition") or b"").decode("latin-1")
    for part in disposition.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "filename" and value:
            return value.strip().strip('"') or None
    return None


def page_title(response: Response) -> str | None:
    """Return a page's ``<title>`` (or first ``<h1>``), whitespace collapsed."""
    title = response.css("title::text").get() or response.css("h1 ::text").get() or ""
    return " ".join(title.split()) or None


def file_name(url: str) -> str | None:
    """Return the last segment of a URL's path, or ``None``."""
    return PurePosixPath(urlsplit(url).path).name or None


def is_asset(url: str) -> bool:
    """Say whether a URL names page furniture (styles, scripts, images, fonts, media)."""
    return PurePosixPath(urlsplit(url).path.lower()).suffix in ASSET_EXTENSIONS


def wanted_link(attrib: dict[str, str]) -> bool:
    """Say whether a ``<link>`` element is worth following (``rel=alternate``, ``next``...)."""
    rels = set((attrib.get("rel") or "").lower().split())
    return bool(rels & LINK_RELS) and (attrib.get("type") or "").lower() not in FEED_TYPES


def on_domains(url: str, domains: list[str]) -> bool:
    """Say whether a URL's host is one of ``domains`` or under one (any host when empty)."""
    if not domains:
        return True
    host = (urlsplit(url).hostname or "").lower()
    return any(host == d or host.endswith("." + d) for d in domains)
