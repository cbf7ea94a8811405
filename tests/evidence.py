"""Find raw values from a scanned file in text leakmon wrote (alerts, reports)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["raw_values_in"]


def raw_values_in(values: Iterable[str], text: str) -> list[str]:
    """Return the values that stand in ``text`` as values, sorted.

    A value counts only when no letter or digit touches it on either side: a ZIP code
    such as 93349 also turns up by chance inside a 64-hex-digit finding key, a keyed
    fingerprint or a timestamp's microseconds, and that is not the ZIP code. A value
    shown in evidence stands between quotes, spaces or punctuation, and is found.
    """
    return sorted(
        value
        for value in set(values)
        if re.search(rf"(?<![0-9A-Za-z]){re.escape(value)}(?![0-9A-Za-z])", text)
    )
