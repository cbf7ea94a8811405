"""A large HTML page read without building its whole tree: its links, and a slim tree.

An index page that lists 100,000 files parses into a tree of about 70 MB (libxml2's
nodes, about 0.7 KB a link); the daemon's memory peaked at that moment of every poll,
well above what the rest of the poll holds (``bench/trace_poll_rss.py``). For a page of
``LARGE_PAGE_BYTES`` or more the spider reads it in one pass of lxml's parser with a
*target* instead: no tree is built by the parser. The pass

- records each link element (``a``, ``area``, ``iframe``, ``frame``, ``link``) in page
  order with its attributes and text, read by ``HtmlSpider._links`` and ``link_targets``
  in place of the tree's elements; and
- builds a slim tree of the few elements the other readers of a page query (the title,
  ``h1``, scripts, Tableau's embed ``object`` and ``tableau-viz``, ``link`` and ``base``,
  each with everything inside it), which becomes the response's selector.

The same libxml2 HTML parser reads the same bytes as parsel would (the text stripped,
NUL removed, UTF-8), so both paths see the same elements; ``tests/spiders/test_outline.py``
runs every page of the test fixtures and hostile pages through both and compares what the
spider makes of them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from lxml import etree
from scrapy.selector import Selector

from monitor.crawl.heap import trim

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from scrapy.http import Response

__all__ = [
    "LARGE_PAGE_BYTES",
    "LINK_ATTRIBUTE",
    "LinkElement",
    "OutlineSelector",
    "drain",
    "outline",
]

logger = logging.getLogger(__name__)

#: A page this large (about 10,000 links on a plain index) is read by ``outline``.
LARGE_PAGE_BYTES = 1_000_000

#: The elements whose links a page gives, and the attribute each must have.
LINK_ATTRIBUTE = {"a": "href", "area": "href", "iframe": "src", "frame": "src", "link": "href"}
#: Link elements recorded in page order (what ``HtmlSpider._links`` and ``link_targets`` read).
RECORDED = frozenset(LINK_ATTRIBUTE)
#: The attributes of a link element that the spider reads; the rest (class, id, data-*)
#: are not kept.
READ_ATTRIBUTES = frozenset({"href", "src", "rel", "type", "title", "alt", "aria-label"})
#: Elements kept in the slim tree with all they contain: what ``find_views``,
#: ``page_title`` and the sitemap lookup query.
_KEPT = frozenset({"title", "h1", "script", "object", "tableau-viz", "link", "base"})
#: The document's frame, kept so the slim tree has the usual shape.
_SKELETON = frozenset({"html", "head", "body"})


class LinkElement:
    """A link element as the spider reads it: ``tag``, ``attrib``, ``itertext()``.

    It stands in for an lxml element in ``HtmlSpider._links``. Only the attributes the
    spider reads (``READ_ATTRIBUTES``) are kept, as pairs (a tuple is about half a
    one-key dict), and the text as one string, the element's text chunks joined by a
    space as the spider joins ``itertext()``.
    """

    __slots__ = ("_attrs", "_chunks", "_text", "tag")

    def __init__(self, tag: str, attrs: tuple[tuple[str, str], ...]) -> None:
        self.tag = tag
        self._attrs = attrs
        self._chunks: list[str] | None = []  # while the element is open
        self._text = ""

    @property
    def attrib(self) -> dict[str, str]:
        """Return the element's attributes (a new dict)."""
        return dict(self._attrs)

    def itertext(self) -> Iterator[str]:
        """Yield the element's text: its chunks already joined by one space."""
        if self._text:
            yield self._text

    def get(self, name: str) -> str | None:
        """Return one attribute's value, or None."""
        for key, value in self._attrs:
            if key == name:
                return value
        return None

    def _close(self) -> None:
        self._text = " ".join(self._chunks or ())
        self._chunks = None


class OutlineSelector(Selector):
    """The selector of a page read by ``outline``: the slim tree, and the link elements.

    parsel makes the selectors of query results with the class of the one queried, so
    the constructor is Selector's own; ``outline`` sets ``links`` on the page's one.
    """

    links: list[LinkElement] = []  # noqa: RUF012 - a query result's: it has none


class _Outliner:
    """lxml parser target: records link elements, builds the slim tree of kept elements."""

    def __init__(self) -> None:
        self._builder = etree.TreeBuilder(insert_comments=True)
        self.links: list[LinkElement] = []
        # Per open element: (forwarded to the slim tree, one of _KEPT, its LinkElement).
        self._open: list[tuple[bool, bool, LinkElement | None]] = []
        self._inside_kept = 0
        self._recording: list[LinkElement] = []  # the open link elements, innermost last
        self._after_data = False  # the last event was text: the next continues its chunk

    def start(self, tag: str, attrib: Mapping[str, str]) -> None:
        kept = tag in _KEPT
        forward = self._inside_kept > 0 or kept or tag in _SKELETON
        if forward:
            self._builder.start(tag, dict(attrib))
        if kept:
            self._inside_kept += 1
        link = None
        if tag in RECORDED:
            attrs = tuple((k, v) for k, v in attrib.items() if k in READ_ATTRIBUTES)
            link = LinkElement(tag, attrs)
            self.links.append(link)
            self._recording.append(link)
        self._open.append((forward, kept, link))
        self._after_data = False

    def end(self, tag: str) -> None:
        if not self._open:
            return
        forward, kept, link = self._open.pop()
        if forward:
            self._builder.end(tag)
        if kept:
            self._inside_kept -= 1
        if link is not None:
            link._close()
            self._recording.remove(link)
        self._after_data = False

    def data(self, text: str) -> None:
        # A text node may come in several calls (split at entities): one chunk, as in the
        # tree, so the spider's space between chunks falls where it would there.
        for link in self._recording:
            chunks = link._chunks
            if chunks is None:
                continue
            if self._after_data and chunks:
                chunks[-1] += text
            else:
                chunks.append(text)
        if self._inside_kept:
            self._builder.data(text)
        self._after_data = True

    def comment(self, text: str) -> None:
        # A comment ends a text node (the tree keeps it as a node; itertext skips it).
        if self._inside_kept:
            self._builder.comment(text)
        self._after_data = False

    def close(self) -> etree._Element:
        return self._builder.close()


def outline(response: Response) -> OutlineSelector | None:
    """Read a page with a parser target; return its selector, or None to parse it whole.

    None when the parser fails on the page: the caller then parses it as usual, so
    a page that this path cannot read is read the usual way, not skipped.
    """
    body = response.text.strip().replace("\x00", "").encode("utf-8") or b"<html/>"
    target = _Outliner()
    parser = etree.HTMLParser(target=target, recover=True, encoding="utf-8", huge_tree=True)
    try:
        root = etree.fromstring(body, parser=parser)
    except (etree.LxmlError, ValueError) as exc:
        logger.debug("page %s read whole: %s", response.url, exc)
        return None
    selector = OutlineSelector(root=root, type="html")
    selector.links = target.links
    del body, parser, target
    trim()  # the parser's buffers and the page's UTF-8 copy: as large as the page
    return selector


def drain(links: list[LinkElement]) -> Iterator[LinkElement]:
    """Yield the link elements in page order, each let go of as the next is taken.

    The spider turns each into a file as Scrapy takes it, over a whole poll; the
    elements already turned are not kept for the rest of it.
    """
    links.reverse()
    while links:
        yield links.pop()
