"""Tables for the regex and deny-list recognizers in monitor/detect/data/recognizers.yaml."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from faker import Faker

from monitor.detect.presidio_engine import pattern_recognizers

if TYPE_CHECKING:
    from presidio_analyzer import PatternRecognizer


def _yaml_recognizer(name: str) -> PatternRecognizer:
    return next(r for r in pattern_recognizers() if r.name == name)


SSN = _yaml_recognizer("LeakmonSsnNoDashRecognizer")
STREET = _yaml_recognizer("LeakmonStreetAddressRecognizer")
NON_STREET = _yaml_recognizer("LeakmonNonStreetAddressRecognizer")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SSN 536228164", ["536228164"]),
        ("Social Security Number: 536228164", ["536228164"]),
        ("ssns on file: 536228164 and 412907735", ["536228164", "412907735"]),
        ("Order 536228164", []),  # no context
        ("SSN 000228164", []),  # area 000
        ("SSN 666228164", []),  # area 666
        ("SSN 936228164", []),  # area 9xx
        ("SSN 536008164", []),  # group 00
        ("SSN 536220000", []),  # serial 0000
        ("SSN 53622816", []),  # eight digits
    ],
)
def test_ssn_without_dashes_needs_context(found, text: str, expected: list[str]) -> None:
    assert found(SSN, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("78128 Wood Street Apt. 704", ["78128 Wood Street Apt. 704"]),
        ("Home: 1600 N. Main St, Fresno", ["1600 N. Main St"]),
        ("42 W 5th Ave", ["42 W 5th Ave"]),
        ("500 OCEAN BLVD", ["500 OCEAN BLVD"]),
        ("Mailing address PO Box 1234", ["PO Box 1234"]),
        ("lives at 595 Browning Shoals Apt. 682", ["595 Browning Shoals Apt. 682"]),
        ("5 apples in the street", []),  # street words not capitalised
        ("Scored 5 Points", []),  # no street name before the suffix
        ("Main Street parade", []),  # no house number
        ("Room 1234567 Main St", []),  # seven-digit "house number"
        ("Route 66 diner", []),  # number after the word
        ("Highway 99 northbound", []),
        ("The 3 Oak trees", []),  # no suffix
    ],
)
def test_finds_street_addresses(found, text: str, expected: list[str]) -> None:
    assert found(STREET, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mail to General Delivery, Fresno CA", ["General Delivery"]),
        ("Address: Rural Route 2", ["Rural Route"]),
        ("General Delivery", []),  # 0.3 without context
        ("the delivery was general", []),
        ("Address: a rural road route", []),
    ],
)
def test_non_street_address_deny_list(found, text: str, expected: list[str]) -> None:
    assert found(NON_STREET, text) == expected


def test_finds_faker_street_addresses() -> None:
    fake = Faker("en_US")
    fake.seed_instance(7)
    addresses = [fake.street_address() for _ in range(300)]
    hits = sum(
        any(r.start == 0 and r.end == len(a) for r in STREET.analyze(a, ["ADDRESS"]))
        for a in addresses
    )
    assert hits == len(addresses)
