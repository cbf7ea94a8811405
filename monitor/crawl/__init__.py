"""The crawler: Scrapy polls each target, finds its data files and hands them to the daemon.

Scrapy and Twisted are imported only here and in ``monitor.scheduler``. The daemon
talks to this package through ``Hooks`` (its callbacks) and ``CrawlService``.
"""

from __future__ import annotations

import os

# Scrapy's cookie middleware builds a tldextract extractor at import time: an empty
# URL list keeps it on its bundled public-suffix list instead of the network.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

from monitor.crawl.hooks import Hooks, Validators
from monitor.crawl.items import DatasetItem
from monitor.crawl.seam import ClusterSeam
from monitor.crawl.service import CrawlService, poll_once

__all__ = ["ClusterSeam", "CrawlService", "DatasetItem", "Hooks", "Validators", "poll_once"]
