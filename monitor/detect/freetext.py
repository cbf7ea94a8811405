"""Presidio's analyzer over a sample of free-text cells (notes, comments, descriptions).

Names written inside sentences cannot be found by whole-cell shapes. Presidio's
analyzer, with leakmon's name-list recognizer in place of a spaCy model, reads
a bounded sample of each free-text column; the detector scales the counts up.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["PresidioFreeText"]

logger = logging.getLogger(__name__)

#: Entities worth a sentence-level read; SSNs, phones, e-mails and cards are found
#: over every row by the compiled needle pass instead.
_ENTITIES = ["PERSON", "DATE_OF_BIRTH", "US_DRIVER_LICENSE", "STATE_ID"]
_THRESHOLD = 0.5
_MAX_CHARS = 5000


class PresidioFreeText:
    """Runs Presidio (no-op NLP engine plus leakmon recognizers) over sampled sentences."""

    def __init__(self, recognizers_file: Path | None = None) -> None:
        self._recognizers_file = recognizers_file
        self._engine: Any = None  # presidio's AnalyzerEngine; built on first use (1 s import)

    def _analyzer(self) -> Any:
        if self._engine is None:
            from monitor.detect.presidio_engine import build_analyzer

            self._engine = build_analyzer(self._recognizers_file)
        return self._engine

    def find(self, texts: list[str]) -> dict[str, list[str]]:
        """Return, per entity, the substrings Presidio found at or above the threshold."""
        engine = self._analyzer()
        found: dict[str, list[str]] = defaultdict(list)
        for text in texts:
            text = text[:_MAX_CHARS]
            for result in engine.analyze(
                text=text, language="en", entities=_ENTITIES, score_threshold=_THRESHOLD
            ):
                found[result.entity_type].append(text[result.start : result.end])
        return dict(found)
