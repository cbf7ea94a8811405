"""The Tableau client: a viz session per view, and every download it offers a visitor.

Spiders name views (``ViewItem``); ``TableauPipeline`` opens each view's session
through the crawler's downloader and fetches its summary data, full data,
crosstabs and packaged workbook as watched resources (``monitor.crawl.tableau.viz``).
The protocol's shapes are parsed by ``monitor.vizql``; the data is decoded in the
isolated scan worker by the ``tableau-data`` reader, never on the reactor.
"""

from __future__ import annotations

from monitor.crawl.tableau.pipeline import TABLEAU_SETTING, TableauPipeline

__all__ = ["TABLEAU_SETTING", "TableauPipeline"]
