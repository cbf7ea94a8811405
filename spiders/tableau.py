"""The spider for portals that embed Tableau dashboards: the ``html`` crawl, named for them."""

from __future__ import annotations

from spiders.html import HtmlSpider

__all__ = ["TableauSpider"]


class TableauSpider(HtmlSpider):
    """Crawl portal pages like ``html`` and watch every Tableau view they embed or link.

    Every HTML crawl recognises views (``spiders.tableau_embeds``); this kind
    says so in the configuration and in alerts. A view is found in a page's embed
    code (``<object class="tableauViz">`` with ``host_url``, ``site_root`` and
    ``name`` params), an Embedding API v3 ``<tableau-viz src>``, an iframe or link
    to a view (``/views/<wb>/<sheet>``, ``/t/<site>/views/...``, ``/#/views/...``,
    ``/#/site/<site>/views/...``, Tableau Public's ``/app/profile/<user>/viz/<wb>/<sheet>``
    and ``/shared/<key>`` links), a view URL in an inline script (JavaScript API
    v2), or a start URL that is a view. For each view leakmon fetches the summary
    export (``<view>.csv``) and opens a viz session as a browser does, then
    fetches what the session lets a visitor download: the full data of each
    worksheet, its crosstab, and the packaged workbook (``monitor.crawl.tableau``).
    On Tableau Public the profile API lists the workbook's other visible sheets,
    and they are watched too.
    """

    name = "tableau"
