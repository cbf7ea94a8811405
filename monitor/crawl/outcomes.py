"""How the crawler tells requests apart and names the way a download ended."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.core.downloader.handlers.http11 import TunnelError
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
    UnsupportedURLSchemeError,
)
from twisted.internet.error import ConnectError, ConnectionDone, ConnectionLost

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.http.headers import Headers

__all__ = [
    "BUDGET_EXHAUSTED",
    "DOWNLOAD_ERRORS",
    "FETCH_META",
    "NEW_FILE_META",
    "REFUSED",
    "describe",
    "is_page",
    "is_page_request",
    "is_too_large",
    "status_class",
]

#: Request meta key marking the fetch step's own downloads of data files.
FETCH_META = "leakmon_fetch"
#: Request meta key marking a data file the daemon has no validators for: never fetched
#: (or never fetched whole). It goes ahead of the files carried over (``RequestBudget``).
NEW_FILE_META = "leakmon_new_file"

#: The ``IgnoreRequest`` message of a request dropped by the poll's request budget.
BUDGET_EXHAUSTED = "leakmon: the poll's request budget is exhausted"

#: How the ``IgnoreRequest`` of a request refused by ``monitor.crawl.ssrf`` begins:
#: ``leakmon: refused (reason): why``.
REFUSED = "leakmon: refused"

#: What a download can fail with once Scrapy has wrapped Twisted's errors (the
#: same list Scrapy retries on). Anything else is a bug and is left to propagate.
DOWNLOAD_ERRORS: tuple[type[Exception], ...] = (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    ResponseDataLossError,
    UnsupportedURLSchemeError,
    ConnectError,
    ConnectionDone,
    ConnectionLost,
    TunnelError,
    OSError,
)

_PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml"})


def is_page_request(request: Request) -> bool:
    """Say whether a request fetches a page to crawl (not a data file, not robots.txt)."""
    return not (request.meta.get(FETCH_META) or request.meta.get("dont_obey_robotstxt"))


def is_first_level(request: Request) -> bool:
    """Say whether a request fetches a page of the crawl's first level.

    That is a start page or a catalogue's first API page (its change feed, its
    walk's first page), or a redirect or retry of one: every request a spider
    yields from a response gets a depth from Scrapy's depth middleware, and these
    were yielded before any response. The request budget never lets files carried
    over from the last poll take their place, and the carried files wait until one
    of them has been read (``monitor.crawl.budget``, ``monitor.crawl.carry``).
    """
    return not request.meta.get("depth") and is_page_request(request)


def is_page(headers: Headers) -> bool:
    """Say whether response headers announce an HTML page rather than a file.

    A missing Content-Type counts as a page, so a sloppy server's pages are still
    crawled; ``Content-Disposition: attachment`` always means a file.
    """
    disposition = headers.get(b"Content-Disposition") or b""
    if disposition.split(b";")[0].strip().lower() == b"attachment":
        return False
    content_type = headers.get(b"Content-Type")
    if not content_type:
        return True
    media = content_type.split(b";")[0].strip().lower().decode("latin-1")
    return media in _PAGE_TYPES


def status_class(status: int) -> str:
    """Return the ``fetches`` metric's status label: ``304``, ``2xx``, ``3xx``, ``4xx``, ``5xx``."""
    if status == 304:
        return "304"
    if 200 <= status < 600:
        return f"{status // 100}xx"
    return "error"


def is_too_large(exc: BaseException) -> bool:
    """Say whether a download failed because its body passed ``download_maxsize``.

    Scrapy cancels such a download (``DownloadCancelledError``, whether the size
    was announced or only counted); a compressed body that inflates past the
    limit is dropped by the decompression middleware with an ``IgnoreRequest``.
    """
    if isinstance(exc, DownloadCancelledError):
        return True
    # Scrapy 2.19: "exceeded DOWNLOAD_MAXSIZE (...) during decompression"; older: "max size".
    text = str(exc)
    return isinstance(exc, IgnoreRequest) and ("DOWNLOAD_MAXSIZE" in text or "max size" in text)


def describe(exc: BaseException) -> str:
    """Return a one-line description of a failed download for ``on_fetch_error``."""
    text = str(exc).strip()
    if isinstance(exc, DownloadTimeoutError):
        return f"timeout: {text}" if text else "timeout"
    name = type(exc).__name__
    return f"{name}: {text}" if text else name
