"""Presidio's own post-match checks, applied to the few candidates the fast pass found.

The vectorised shapes find candidates; whether ``219-09-9999`` is a real SSN
or a well-known fake, or whether a 16-digit number passes the Luhn check, is
Presidio's knowledge, reused here through its recognizers' hooks.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import Any

__all__ = ["valid_values"]

_LEADING_WORDS = re.compile(r"^\D+")


@lru_cache(maxsize=1)
def _recognizers() -> dict[str, Any]:
    """Build Presidio's recognizers once; Any because presidio ships no complete types."""
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    from presidio_analyzer.predefined_recognizers import CreditCardRecognizer, UsSsnRecognizer

    return {"US_SSN": UsSsnRecognizer(), "CREDIT_CARD": CreditCardRecognizer()}


def _passes(recognizer: Any, text: str) -> bool:
    if recognizer.invalidate_result(text):
        return False
    return recognizer.validate_result(text) is not False


@lru_cache(maxsize=1)
def _domains() -> Any:
    """Return a tldextract extractor using its bundled suffix list (never the network)."""
    import tldextract  # lazy import: only needed when e-mails are found

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def _email_ok(text: str) -> bool:
    # Presidio's EmailRecognizer.validate_result is exactly this tldextract check; calling
    # it directly spares a one-shot scan the 1 s spaCy import that presidio_analyzer brings.
    return bool(_domains()(text.rpartition("@")[2]).fqdn)


def valid_values(entity: str, values: list[str]) -> list[str]:
    """Return the candidates Presidio's checks accept for an entity.

    Entities without a Presidio check are returned unchanged.
    """
    if entity == "EMAIL_ADDRESS":
        return [v for v in values if _email_ok(v)]
    if entity == "US_SSN_CONTEXT":
        digits = ["".join(ch for ch in v if ch.isdigit())[-9:] for v in values]
        return [d for d in digits if _passes(_recognizers()["US_SSN"], d)]
    if entity == "CREDIT_CARD":
        # The needle keeps the words that call it a card; the checksum wants the number.
        values = [_LEADING_WORDS.sub("", v) for v in values]
    recognizer = _recognizers().get(entity)
    if recognizer is None:
        return list(values)
    return [v for v in values if _passes(recognizer, v)]
