"""Tell a link to another page of the same listing (next, previous, page 7) from other links."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

__all__ = ["PAGE_PARAMS", "is_pagination"]

#: Query parameters that number or offset the pages of a listing.
PAGE_PARAMS = frozenset(
    {"page", "p", "pg", "pagenum", "page_num", "pagenumber", "page_number", "page[number]"}
    | {"offset", "start", "startindex", "from"}
)
#: Link texts, ``aria-label``s and titles of pagers ("Next", "Next page ›", "»", "Older posts").
_PAGER_WORDS = re.compile(
    r"^(?:(?:next|previous|prev|older|newer)(?:\s+(?:page|posts|entries|results|items))?"
    r"\s*[›»→>‹«←<]*|[›»→>‹«←<]{1,3}|[›»→>]\s*next|[‹«←<]\s*prev(?:ious)?)$",
    re.IGNORECASE,
)
#: WordPress-style pages: ``/news/page/3/``.
_PAGE_PATH = re.compile(r"^(?P<base>.*?)/page/\d+/?$")
#: ``rel`` values of pagers (``<a rel="next">``, ``<link rel="prev">``).
_PAGER_RELS = frozenset({"next", "prev", "previous"})


def is_pagination(url: str, page_url: str, *, rel: str = "", label: str = "") -> bool:
    """Say whether ``url``, linked from ``page_url``, is another page of the same listing.

    It is when the link says so (``rel="next"``/``"prev"``, or text, ``aria-label``
    or title such as "Next", "›", "Older posts"), or when it differs from the
    page only by a page number: one query parameter of ``PAGE_PARAMS`` with a
    numeric value (``?page=3``, ``?q=x&offset=40``), or a ``/page/3/`` path.

    Args:
        url: the absolute link.
        page_url: the absolute URL of the page it is on.
        rel: the link's ``rel`` attribute.
        label: its text, or else its ``aria-label`` or ``title``.
    """
    if set(rel.lower().split()) & _PAGER_RELS:
        return True
    if label and _PAGER_WORDS.match(" ".join(label.split())):
        return True
    return _same_listing(url, page_url)


def _same_listing(url: str, page_url: str) -> bool:
    link, page = urlsplit(url), urlsplit(page_url)
    if (link.scheme, link.netloc.lower()) != (page.scheme, page.netloc.lower()):
        return False
    if link.path != page.path:
        numbered = _PAGE_PATH.match(link.path)
        if numbered is None or link.query != page.query:
            return False
        current = _PAGE_PATH.match(page.path)
        base = current.group("base") if current else page.path.rstrip("/")
        return numbered.group("base") == base
    theirs = dict(parse_qsl(link.query, keep_blank_values=True))
    ours = dict(parse_qsl(page.query, keep_blank_values=True))
    changed = [k for k in theirs.keys() | ours.keys() if theirs.get(k) != ours.get(k)]
    return (
        len(changed) == 1
        and changed[0].lower() in PAGE_PARAMS
        and theirs.get(changed[0], "").isdigit()
    )
