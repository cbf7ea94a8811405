"""Strip session ids from the links a crawl follows, so a session-id trap ends at the first page."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from scrapy import Request

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable, Iterator

    from scrapy.http import Response

__all__ = ["SessionIds", "without_session_ids"]

#: Query parameters that carry a server-side session, not what the page shows.
SESSION_PARAMS = frozenset(
    {
        "jsessionid",
        "phpsessid",
        "aspsessionid",
        "sid",
        "sessid",
        "sessionid",
        "session_id",
        "cfid",
        "cftoken",
        "oscsid",
        "zenid",
    }
)
#: A Java servlet's session id travels as a path parameter: ``/page;jsessionid=ABC``.
_PATH_SESSION = re.compile(r";(jsessionid|phpsessid|sessionid)=[^/?#]*", re.IGNORECASE)


def without_session_ids(url: str) -> str:
    """Return ``url`` without session-id query or path parameters (unchanged if it has none)."""
    parts = urlsplit(url)
    path = _PATH_SESSION.sub("", parts.path)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if k.lower() not in SESSION_PARAMS]
    if path == parts.path and len(kept) == len(pairs):
        return url
    return urlunsplit(parts._replace(path=path, query=urlencode(kept)))


class SessionIds:
    """Follow links without their session ids, so Scrapy's duplicate filter sees through them.

    A server that links every page to itself with a fresh ``?sid=`` (or
    ``;jsessionid=``) would otherwise make each link a new page, and the crawl
    would walk the same page until the request budget ran out. Only links a
    spider follows are rewritten, not start URLs (the operator wrote them), not
    redirects (a server that needs its session id redirects to it, and that
    request is sent as given), and not the URLs of data files (their identity
    across polls is the URL as linked).
    """

    def process_spider_output(
        self, response: Response, result: Iterable[Any]
    ) -> Iterator[Any]:  # Any: requests, items and what else a spider yields
        """Rewrite the requests among a callback's output."""
        for out in result:
            yield _rewrite(out)

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:  # Any: requests, items and what else a spider yields
        """Rewrite the requests among an async callback's output."""
        async for out in result:
            yield _rewrite(out)


def _rewrite(out: Any) -> Any:  # Any: whatever the spider yielded
    if isinstance(out, Request):
        url = without_session_ids(out.url)
        if url != out.url:
            return out.replace(url=url)
    return out
