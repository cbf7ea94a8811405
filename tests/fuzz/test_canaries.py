"""The combined canary search finds what ``raw_values_in`` finds, and nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.evidence import raw_values_in
from tests.fuzz.canaries import CanarySet

CANARIES = ["Jane Doe", "jane.doe@example.org", "555-010-4477", "1980-02-01", "93349", "--"]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ('{"name": "Jane Doe"}', ["Jane Doe"]),
        ("mail jane.doe@example.org, ok", ["jane.doe@example.org"]),
        ("born 1980-02-01\n", ["1980-02-01"]),
        ("tel:555-010-4477", ["555-010-4477"]),
        ("zip 93349", ["93349"]),
        ("a -- b", ["--"]),
        ("Jane Doe 93349", ["93349", "Jane Doe"]),
        # near-misses: a letter or digit touches the value, or one character differs
        ("Jane Doex", []),
        ("MaryJane Doe", []),
        ("Jane  Doe", []),
        ("jane doe", []),
        ("key a93349b0 and 1934934", []),
        ("xjane.doe@example.org", []),
        ("jane.doe@example.orgs", []),
        ("1980-02-011", []),
        ("555-010-44770", []),
        ("J***@e***.org ***-***-4477", []),
    ],
)
def test_finds_planted_canaries_and_no_near_miss(text: str, found: list[str]) -> None:
    assert CanarySet(CANARIES).found_in(text) == found
    assert raw_values_in(CANARIES, text) == found  # the one-by-one search agrees


def test_finds_a_canary_among_many_in_a_long_text() -> None:
    values = [f"Person{i} Surname{i}" for i in range(50_000)] + ["Ann Lee"]
    text = "x " * 200_000 + "Person1 Surname12 " + '"Ann Lee" ' + "Person49999 Surname49999."
    assert CanarySet(values).found_in(text) == ["Ann Lee", "Person49999 Surname49999"]


_ALPHABET = "ab1-@. é"


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    values=st.lists(st.text(_ALPHABET, min_size=1, max_size=6), max_size=8),
    text=st.text(_ALPHABET, max_size=60),
)
def test_agrees_with_the_one_by_one_search(values: list[str], text: str) -> None:
    # Plant one value half the time, so matches are common, not only misses.
    if values and len(text) % 2:
        text = text[: len(text) // 2] + values[0] + text[len(text) // 2 :]
    assert CanarySet(values).found_in(text) == raw_values_in(values, text)
