"""The one item spiders yield: a link to a data file, found on a portal page."""

from __future__ import annotations

import scrapy

__all__ = ["DatasetItem"]


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
