from __future__ import annotations

import pytest

from monitor.detect.presidio_engine import build_analyzer
from monitor.detect.recognizers import CiiNumberRecognizer

RECOGNIZER = CiiNumberRecognizer()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Positive: the shapes with CII / SID context before them.
        ("CII A18273645", ["A18273645"]),
        ("CII#: A29384756, booked 2021", ["A29384756"]),
        ("State ID 918273645", ["918273645"]),
        ("SID 5647382910 per state identification", ["5647382910"]),
        ("Criminal Identification and Index number A30495867", ["A30495867"]),
        ("criminal id 736451829", ["736451829"]),
        # Negative: the same shapes without context collide with ordinary IDs.
        ("Invoice A18273645", []),
        ("Tracking 918273645", []),
        ("Call 5647382910 after noon", []),
        ("SSN 536228164", []),  # context of another entity
        ("CII A1827364", []),  # seven digits after A
        ("CII B18273645", []),  # only A is used
        ("CII 91827364", []),  # eight digits
        ("CII 91827364501", []),  # eleven digits
        ("CII A00000000", []),  # filler
        ("SID 123456789", []),  # ascending run
        ("SID 9876543210", []),  # descending run
        ("identification A18273645", []),  # "identification" alone is too common
    ],
)
def test_finds_cii_numbers_only_with_context(found, text: str, expected: list[str]) -> None:
    assert found(RECOGNIZER, text) == expected


@pytest.mark.parametrize(
    ("text", "score"),
    [("ref A18273645", 0.1), ("ref 918273645", 0.01), ("ref 5647382910", 0.01)],
)
def test_bare_matches_score_low(text: str, score: float) -> None:
    results = RECOGNIZER.analyze(text, ["STATE_ID"])
    assert [r.score for r in results] == [score]


@pytest.mark.parametrize(("text", "score"), [("CII A18273645", 0.45), ("CII 918273645", 0.4)])
def test_context_raises_score(text: str, score: float) -> None:
    results = build_analyzer().analyze(text, language="en", entities=["STATE_ID"])
    assert [round(r.score, 2) for r in results] == [score]
