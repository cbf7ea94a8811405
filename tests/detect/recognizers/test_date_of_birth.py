from __future__ import annotations

import datetime as dt

import pytest

from monitor.detect.recognizers import DateOfBirthRecognizer

RECOGNIZER = DateOfBirthRecognizer()
NEXT_YEAR = dt.date.today().year + 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Positive: a date with birth context just before or right after it.
        ("DOB: 03/14/1987", ["03/14/1987"]),
        ("D.O.B. 1987-03-14", ["1987-03-14"]),
        ("Date of birth 14 March 1987, arrested 2021", ["14 March 1987"]),
        ("born on Sept. 5, 1962 in Fresno", ["Sept. 5, 1962"]),
        ("Subject (birthdate 19750601) was cited", ["19750601"]),
        ("Suspect 03/14/87 (DOB) fled", ["03/14/87"]),
        ("Birth date: 25.12.1990", ["25.12.1990"]),
        ("born in Fresno on 2/29/1988", ["2/29/1988"]),
        ("Fecha de nacimiento: 14/03/1987. Domicilio conocido", ["14/03/1987"]),
        ("nacida el 05/09/1962 en Puebla", ["05/09/1962"]),
        ("Data de nascimento 25.12.1990", ["25.12.1990"]),
        ("Fecha de registro 14/03/1987", []),  # a Spanish event date
        # Negative: bare dates, other dates near the context, impossible dates.
        ("Arrest date 03/14/1987", []),
        ("Report filed 1987-03-14 by the clerk", []),
        ("DOB 03/14/1987, arrest date 04/02/2021", ["03/14/1987"]),  # only the first
        ("Arrest 04/02/2021; DOB unknown", []),  # context after, but not right after
        ("DOB: 02/30/1987", []),  # no such day
        ("DOB: 13/13/1987", []),  # no such month either way
        (f"DOB: 01/01/{NEXT_YEAR}", []),  # in the future
        ("DOB: 01/01/1850", []),  # before 1900
        ("reborn 03/14/1987", []),  # "born" inside a word
        ("born to parents who in the late 1960s met on 03/14/1962", []),  # too far
        ("DOB: 1987", []),  # a year is not a date
    ],
)
def test_finds_dates_of_birth_only_with_context(found, text: str, expected: list[str]) -> None:
    assert found(RECOGNIZER, text) == expected


def test_context_score_is_not_raised_twice() -> None:
    results = RECOGNIZER.analyze("DOB 03/14/1987", ["DATE_OF_BIRTH"])
    assert [r.score for r in results] == [DateOfBirthRecognizer.SCORE_WITH_CONTEXT]
    assert results[0].recognition_metadata["is_score_enhanced_by_context"] is True


@pytest.mark.parametrize(
    ("value", "invalid"),
    [
        ("03/14/1987", False),
        ("14/03/1987", False),  # day first
        ("1987-03-14", False),
        ("19870314", False),
        ("March 14, 1987", False),
        ("14th of March 1987", False),
        ("02/29/1987", True),
        ("1987-14-03", True),
        ("19871403", True),
        ("Feb 30, 1987", True),
    ],
)
def test_invalidates_impossible_dates(value: str, invalid: bool) -> None:
    assert RECOGNIZER.invalidate_result(value) is invalid


def test_declares_that_context_is_required() -> None:
    assert DateOfBirthRecognizer.REQUIRES_CONTEXT is True
