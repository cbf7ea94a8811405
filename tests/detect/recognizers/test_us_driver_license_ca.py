from __future__ import annotations

import pytest

from monitor.detect.recognizers import CaliforniaDriverLicenseRecognizer

RECOGNIZER = CaliforniaDriverLicenseRecognizer()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Positive: the CA shape with licence context before it.
        ("DL: B4729136", ["B4729136"]),
        ("Driver license B4729136 expires 2027", ["B4729136"]),
        ("CDL# Y5038217, class A", ["Y5038217"]),
        ("driver's licence number d9182736", ["d9182736"]),
        ("DMV record for license N6120493 and DL K2039485", ["N6120493", "K2039485"]),
        # Negative: no context, near-misses and placeholders.
        ("Order B4729136 shipped", []),
        ("DL: B472913", []),  # six digits
        ("DL: B47291365", []),  # eight digits
        ("DL: BB4729136", []),  # two letters
        ("DL: 4729136B", []),  # letter last
        ("DL: B4729136X", []),  # glued to more text
        ("Driver license A1234567", []),  # the form's example number
        ("Driver license A0000000", []),  # filler
        ("Case B4729136 was closed by the court", []),
    ],
)
def test_finds_ca_license_only_with_context(found, text: str, expected: list[str]) -> None:
    assert found(RECOGNIZER, text) == expected


@pytest.mark.parametrize(
    ("value", "invalid"),
    [
        ("B4729136", False),
        ("A1234567", True),
        ("Z7777777", True),
        ("C2345678", True),
        ("D8901234", False),
    ],
)
def test_invalidates_placeholder_numbers(value: str, invalid: bool) -> None:
    assert RECOGNIZER.invalidate_result(value) is invalid


def test_bare_match_scores_low() -> None:
    results = RECOGNIZER.analyze("ref B4729136", ["US_DRIVER_LICENSE"])
    assert [r.score for r in results] == [0.25]


def test_defaults_come_from_class_constants() -> None:
    assert RECOGNIZER.supported_entities == [CaliforniaDriverLicenseRecognizer.ENTITY]
    assert RECOGNIZER.context == list(CaliforniaDriverLicenseRecognizer.CONTEXT)
    assert [p.regex for p in RECOGNIZER.patterns] == [
        p.regex for p in CaliforniaDriverLicenseRecognizer.PATTERNS
    ]
