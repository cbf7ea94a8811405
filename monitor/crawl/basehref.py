"""Drop a page's ``<base href>`` that is no URL before any middleware resolves it."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from scrapy.http import HtmlResponse
from scrapy.utils.response import get_base_url

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.http import Response

_BASE_TAG = re.compile(rb"<base\b[^>]*>", re.IGNORECASE)


class UsableBase:
    """Remove a ``<base href>`` that cannot be a URL from an HTML answer, as browsers ignore it.

    Scrapy's ``MetaRefreshMiddleware`` (580) resolves a page's base URL before the
    spider sees the page: a hostile ``<base href="http://[x">`` made it raise, and
    the page was lost with every link on it (the poll incomplete, "no answer
    came", for as long as the page kept the tag). This runs just inside it (585:
    after decompression at 590), so whatever reads the page later sees a usable
    base; the spiders' own ``spiders.links.usable_page`` stays for pages built in
    tests without the middlewares.
    """

    def process_response(self, request: Request, response: Response) -> Response:
        """Return the answer, without its ``<base>`` tags when the base is no URL."""
        if not isinstance(response, HtmlResponse):
            return response
        try:
            get_base_url(response)
        except ValueError:  # UnicodeError too: a lone surrogate in the href
            return response.replace(body=_BASE_TAG.sub(b"", response.body))
        return response
