"""What spiders share with the crawler: the item they yield and the request meta keys they set."""

from __future__ import annotations

import scrapy

__all__ = ["API_REQUEST", "ROBOTS_FALLBACK", "SAME_DEPTH", "DatasetItem", "ViewItem"]

#: Request meta key of a catalogue API request: the crawler reads its body whole
#: (whatever its type) and counts any failure of it against the poll, a 404 included,
#: as for a start URL: a missing part of the catalogue is not a page taken down.
API_REQUEST = "leakmon_api"

#: Request meta key of an API request whose spider reads the portal another way when
#: robots.txt disallows it (CKAN's ``/dataset`` pages): the refusal is then the spider's
#: to report (as a resource not checked, reason ``robots``), not a failed poll.
ROBOTS_FALLBACK = "leakmon_robots_fallback"

#: Request meta key: following this link is not a hop (the next page of a listing, a
#: sitemap and the pages it lists). The request keeps its parent's depth (at least 1),
#: so ``max_depth`` counts only links between pages; the request budget still bounds
#: the walk, and ``max_depth: 0`` still stops it at the start URLs.
SAME_DEPTH = "leakmon_same_depth"


class DatasetItem(scrapy.Item):
    """A data file a spider found; the crawler's fetch step downloads it, the spider never does.

    Fields:
        url: the file's absolute URL as linked (before redirects): its identity across polls.
        target: the configured target's name.
        portal: the portal kind that found it (the spider's name: ``html``, ``ckan``...).
        dataset: the dataset id or title it belongs to, when known.
        title: the link text or file name, for people reading alerts.
        referer: the page that linked it, sent as ``Referer`` when the file is fetched.
    """

    url = scrapy.Field()
    target = scrapy.Field()
    portal = scrapy.Field()
    dataset = scrapy.Field()
    title = scrapy.Field()
    referer = scrapy.Field()


class ViewItem(scrapy.Item):
    """A Tableau view a spider found embedded or linked; the crawler opens its viz session.

    The spider only names the view: ``monitor.crawl.tableau`` opens a session as a
    browser does, reads what the view lets a visitor download (full data,
    crosstabs, the workbook) and fetches each as a watched resource.

    Fields:
        server: ``scheme://host[:port]`` of the Tableau Server, Cloud or Public.
        site: the site's content URL (``/t/<site>/``), or ``None`` for the default site.
        workbook: the workbook's content URL.
        sheet: the sheet's content URL.
        url: the view's URL, its identity across polls.
        target: the configured target's name.
        referer: the page that embeds or links the view.
        public: True on Tableau Public (its profile API says whether the workbook
            may be downloaded).
    """

    server = scrapy.Field()
    site = scrapy.Field()
    workbook = scrapy.Field()
    sheet = scrapy.Field()
    url = scrapy.Field()
    target = scrapy.Field()
    referer = scrapy.Field()
    public = scrapy.Field()
