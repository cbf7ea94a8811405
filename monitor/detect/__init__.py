"""Detection: find personal data in tables, with Presidio recognizers and census name lists."""

from __future__ import annotations

import os

# tldextract (a presidio dependency) reads this once, at first import: an empty value
# keeps it on its bundled public-suffix list instead of fetching one from the network.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

from monitor.detect.engine import Detector, TableScan
from monitor.detect.factory import build_detector

__all__ = ["Detector", "TableScan", "build_detector"]
