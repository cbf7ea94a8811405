"""Detection: find personal data in tables, with Presidio recognizers and census name lists."""

from __future__ import annotations

from monitor.detect.engine import Detector, TableScan
from monitor.detect.factory import build_detector

__all__ = ["Detector", "TableScan", "build_detector"]
