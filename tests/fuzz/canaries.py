"""Find which of many canary values stand in a text, in one pass over its words.

``tests.evidence.raw_values_in`` runs one regular expression per value over the
whole text: fine for a few thousand values, but a 30-minute hostile-portal run
collects more than 100,000 canaries and a store dump, logs and webhook bodies of
many megabytes, and one pattern per value over that took longer than the run.

``CanarySet`` gives the same answer in one pass. A value counts (as in
``raw_values_in``) when no ASCII letter or digit touches it on either side, so in
every such occurrence each maximal run of ASCII letters and digits inside the
value is also a maximal run (a word) of the text: the value's own non-alphanumeric
characters or the boundary around it end the run. So each value is indexed under
its longest word; the text is split into words by one pattern; a word that is some
value's key is checked in place (the value at that offset, and both boundaries).
No occurrence can be missed, and every reported value was checked exactly. Values
without any letter or digit are searched one by one, as before.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["CanarySet"]

_WORD = re.compile(r"[0-9A-Za-z]+")


def _alnum(char: str) -> bool:
    # ASCII only, as the [0-9A-Za-z] of raw_values_in: "é" does not join a word.
    return char.isascii() and char.isalnum()


class CanarySet:
    """Canary values indexed by their longest word, searched together in one pass."""

    def __init__(self, values: Iterable[str]) -> None:
        # key word -> (value, offset of the key word inside the value)
        self._by_word: dict[str, list[tuple[str, int]]] = defaultdict(list)
        self._wordless: list[str] = []
        for value in set(values):
            words = list(_WORD.finditer(value))
            if not words:
                self._wordless.append(value)
                continue
            key = max(words, key=lambda m: len(m.group()))
            self._by_word[key.group()].append((value, key.start()))

    def __len__(self) -> int:
        return sum(map(len, self._by_word.values())) + len(self._wordless)

    def found_in(self, text: str) -> list[str]:
        """Return the values that stand in ``text`` as values, sorted (as ``raw_values_in``)."""
        found: set[str] = set()
        by_word = self._by_word
        end = len(text)
        for word in _WORD.finditer(text):
            candidates = by_word.get(word.group())
            if candidates is None:
                continue
            for value, offset in candidates:
                start = word.start() - offset
                stop = start + len(value)
                if (
                    start >= 0
                    and text.startswith(value, start)
                    and (start == 0 or not _alnum(text[start - 1]))
                    and (stop == end or not _alnum(text[stop]))
                ):
                    found.add(value)
        for value in self._wordless:
            if re.search(rf"(?<![0-9A-Za-z]){re.escape(value)}(?![0-9A-Za-z])", text):
                found.add(value)
        return sorted(found)
