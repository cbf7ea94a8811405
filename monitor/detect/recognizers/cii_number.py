"""Recognizer for California CII numbers and other state criminal identification numbers."""

from __future__ import annotations

import logging
from typing import ClassVar

from presidio_analyzer import Pattern

from monitor.detect.recognizers.declared import DeclaredPatternRecognizer

logger = logging.getLogger(__name__)


class CiiNumberRecognizer(DeclaredPatternRecognizer):
    """California CII numbers and state identification (SID) numbers in criminal records.

    The California DOJ's Criminal Identification and Index (Cal-CII) gives every
    fingerprinted person a CII number, written ``A`` plus eight digits in current
    records and as nine or ten bare digits in older ones; other states' SID numbers
    have the same digit shapes. Penal Code 13125 lists the CII number next to name,
    date of birth and FBI number, so a published one identifies a person's record.

    We found no public specification of a check digit, so there is no checksum
    here. Both shapes collide with ordinary IDs, phone numbers and SSNs, so bare
    matches score 0.1 (``A`` form) and 0.01 (digits); "CII", "SID", "state id",
    "criminal identification" and similar words before the number raise them to
    about 0.45 and 0.4 through the analyzer's context step.
    """

    ENTITY: ClassVar[str] = "STATE_ID"
    COUNTRY_CODE: ClassVar[str | None] = "us"
    PATTERNS: ClassVar[tuple[Pattern, ...]] = (
        Pattern("cii_number_a_prefix (weak)", r"\bA[0-9]{8}\b", 0.1),
        Pattern("state_id_digits (very weak)", r"\b[0-9]{9,10}\b", 0.01),
    )
    CONTEXT: ClassVar[tuple[str, ...]] = (
        "cii",
        "sid",
        "state id",
        "state identification",
        "state identification number",
        "criminal id",
        "criminal identification",
        "identification and index",
        "cal id",
        "calid",
    )

    def invalidate_result(self, pattern_text: str) -> bool:
        """Drop filler values: all digits the same, or an ascending or descending run."""
        digits = pattern_text.lstrip("Aa")
        return len(set(digits)) == 1 or digits in "01234567890123" or digits in "98765432109876"
