"""Recognizer for California driver's licence and ID card numbers."""

from __future__ import annotations

import logging
from typing import ClassVar

from presidio_analyzer import Pattern

from monitor.detect.recognizers.declared import DeclaredPatternRecognizer

logger = logging.getLogger(__name__)


class CaliforniaDriverLicenseRecognizer(DeclaredPatternRecognizer):
    """California driver's licence and ID card numbers: one letter, then seven digits.

    The DMV prints the number as ``B4729136`` with no separators. Case numbers, part
    numbers and badge numbers share that shape, so a bare match scores only 0.25;
    "driver", "license", "DL" and similar words before it raise it to 0.6 through
    the analyzer's context step. Placeholders that forms print as examples
    (``A1234567``, ``A0000000``) are dropped in :meth:`invalidate_result`.
    """

    ENTITY: ClassVar[str] = "US_DRIVER_LICENSE"
    COUNTRY_CODE: ClassVar[str | None] = "us"
    PATTERNS: ClassVar[tuple[Pattern, ...]] = (
        Pattern("ca_driver_license (weak)", r"\b[A-Z][0-9]{7}\b", 0.25),
    )
    CONTEXT: ClassVar[tuple[str, ...]] = (
        "driver",
        "drivers",
        "driver's",
        "license",
        "licence",
        "lic",
        "dl",
        "cdl",
        "dmv",
        "driving",
        "operator",
        "oln",
    )

    def invalidate_result(self, pattern_text: str) -> bool:
        """Drop example numbers: all digits the same, or the run 1234567."""
        digits = pattern_text[1:]
        return len(set(digits)) == 1 or digits in "01234567890"
