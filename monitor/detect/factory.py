"""Build the process-wide detector: name lists, keyed hasher, free-text analyzer."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from monitor.detect.engine import Detector
from monitor.detect.names import NameLists
from monitor.hashing import ValueHasher

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["build_detector"]

logger = logging.getLogger(__name__)


def build_detector(
    hash_key: bytes | None = None,
    free_text: bool = True,
    recognizers_file: Path | None = None,
) -> Detector:
    """Return a detector; Presidio's analyzer loads lazily, on the first free-text column."""
    analyzer = None
    if free_text:
        from monitor.detect.freetext import PresidioFreeText

        analyzer = PresidioFreeText(recognizers_file)
    return Detector(NameLists.default(), ValueHasher(hash_key), analyzer)
