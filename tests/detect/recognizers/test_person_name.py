from __future__ import annotations

import time

import pytest
from faker import Faker

from monitor.detect.names import NameLists
from monitor.detect.presidio_engine import build_analyzer
from monitor.detect.recognizers import NameListRecognizer

RECOGNIZER = NameListRecognizer()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Positive: first name + surname, inverted, honorifics, particles, all caps.
        ("The report was filed by Rachel Davis on Monday.", ["Rachel Davis"]),
        ("Officer John A. Smith arrested the driver.", ["John A. Smith"]),
        ("Witness: Mary-Jane O'Neil, age 34", ["Mary-Jane O'Neil"]),
        ("Booked: Reynolds, Russell T. at 14:02", ["Reynolds, Russell T."]),
        (
            "Interview of Maria de la Cruz and Javier Johnson",
            ["Maria de la Cruz", "Javier Johnson"],
        ),
        ("DEFENDANT: TERESA JAMES", ["TERESA JAMES"]),
        ("Det. Garcia took the call.", ["Garcia"]),
        ("Sheriff John Smith said", ["John Smith"]),
        ("Dear Mr. Brown, thank you.", ["Brown"]),
        ("Notes: we called April Griffin twice.", ["April Griffin"]),
        # Spanish and names outside the 1990 census list (SSA, RENAPER lists).
        ("Se comunicó la Sra. Yesenia Quiñonez al teléfono", ["Yesenia Quiñonez"]),
        ("Nombre: Makia Holloway; apellido materno desconocido", ["Makia Holloway"]),
        ("El ciudadano Camilo Barrionuevo solicita poda", ["Camilo Barrionuevo"]),
        ("Trinidad Ave. and Morse St., NE", []),  # streets named after people
        ("Days in Shelter", []),  # a header, not "Days, in Shelter"
        # Negative: organisations, places, streets, prose and near-misses.
        ("Baylor Scott & White Medical Center", []),
        ("Taken to John Muir Medical Center", []),
        ("She lives at 228 Tina Trail Apt. 883", []),
        ("Turn onto Martin Luther King Jr. Blvd", []),
        ("Flights from Fort Worth were delayed", []),
        ("Mcpherson, Mason and Coffey LLP", []),
        ("Walk to Grant Park after lunch.", []),
        ("Will Smith be there? Nobody knows.", []),  # sentence opens with a verb
        ("the report by rachel davis", []),  # not capitalised
        ("The Los Angeles Police Department said", []),
        ("Jackson County Sheriff's Office", []),
        ("Officer Down Memorial Page", []),
        ("Rachel", []),  # a first name alone
        ("He thanked the Agent. Keep calm, he said.", []),  # sentence end, not "Agent Keep"
        ("it was the miss. Place it there", []),
        ("Officer Smith", ["Smith"]),  # ...but a rank before a surname is a person
    ],
)
def test_finds_person_names(found, text: str, expected: list[str]) -> None:
    assert found(RECOGNIZER, text) == expected


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("filed by Rachel Davis", 0.6),
        ("filed by Dr. Rachel Davis", 0.9),
        ("filed by Davis, Rachel", 0.5),
        ("filed by Det. Davis", 0.8),
    ],
)
def test_scores_by_form_and_honorific(text: str, score: float) -> None:
    results = RECOGNIZER.analyze(text, ["PERSON"])
    assert [r.score for r in results] == [score]


def test_context_word_raises_score() -> None:
    results = build_analyzer().analyze("Victim Rachel Davis", language="en", entities=["PERSON"])
    assert [round(r.score, 2) for r in results] == [0.95]


def test_builds_with_a_tiny_name_list() -> None:
    lists = NameLists(first=[("ZORBA", 1.0)], last=[("QUUX", 1.0)])
    recognizer = NameListRecognizer(name_lists=lists)
    text = "Met Zorba Quux and Rachel Davis"
    assert [text[r.start : r.end] for r in recognizer.analyze(text, ["PERSON"])] == ["Zorba Quux"]


def test_finds_most_faker_names_in_sentences() -> None:
    fake = Faker("en_US")
    fake.seed_instance(1234)
    names = [f"{fake.first_name()} {fake.last_name()}" for _ in range(300)]
    hits = 0
    for name in names:
        text = f"The statement was taken from {name} at the station."
        spans = [text[r.start : r.end] for r in RECOGNIZER.analyze(text, ["PERSON"])]
        hits += name in spans
    # Measured 0.99 when written; the 1990 census lacks some newer names (Makayla).
    assert hits / len(names) >= 0.9


def test_is_fast_on_long_text() -> None:
    fake = Faker("en_US")
    fake.seed_instance(99)
    text = " ".join(f"{fake.sentence()} {fake.name()} met {fake.company()}." for _ in range(2000))
    start = time.monotonic()
    results = RECOGNIZER.analyze(text, ["PERSON"])
    elapsed = time.monotonic() - start
    assert len(results) > 1500
    assert elapsed < 2.0, f"{len(text)} chars took {elapsed:.2f}s"
