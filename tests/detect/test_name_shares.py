"""Name shares of a column sample: which cells read as letters-only names, and how fast."""

from __future__ import annotations

import time

import pytest

from monitor.detect.classify import name_shares
from monitor.detect.names import NameLists

LISTS = NameLists.default()


@pytest.mark.parametrize(
    ("cell", "alpha"),
    [
        ("Mary Smith", True),
        ("O'Neil, Pat", True),
        ("SMITH,  JOHN A.", True),
        ("Smith - ", True),  # trailing separators are still a name shape
        ("Núñez-García, José", True),
        ("Smith (2) #14", True),  # bracketed parts and numbers are noise, dropped first
        ("J0hn Smith", False),
        ("Smith; John", False),
        ("_Smith", False),
        ("", False),
    ],
)
def test_counts_letters_and_separators_as_a_name_shape(cell: str, alpha: bool) -> None:
    assert name_shares([cell], LISTS)["alpha"] == float(alpha)


def test_long_sentences_with_separator_runs_are_judged_at_once() -> None:
    # A portal's description column: many ". " and ", " runs, then a character that is
    # not a name character. The old shape backtracked 2**runs ways before failing
    # (14 runs took 32 s); this must be linear.
    cells = ["Apoiar estudos. " * 40 + "Dec n. 18;", "I - Apoiar, " * 60 + "(1)"]
    start = time.monotonic()
    shares = name_shares(cells, LISTS)
    assert time.monotonic() - start < 2.0
    assert shares["full"] == 0.0
