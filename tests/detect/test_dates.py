"""Birth dates told from event dates by spread and implied ages."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from monitor.detect.dates import birth_date_verdict, date_stats, parse_year

TODAY = dt.date(2026, 11, 1)


@pytest.mark.parametrize(
    ("text", "year"),
    [
        ("1985-03-12", 1985),
        ("03/12/1985", 1985),
        ("3/12/85", 1985),
        ("12/31/2001", 2001),
        ("31.12.1970", 1970),
        ("Mar 4, 1962", 1962),
        ("4 March 1962", 1962),
        ("2013/11/14 05:00:00+00", 2013),
        ("1985-03-12T00:00:00", 1985),
    ],
)
def test_parses_common_date_formats(text: str, year: int) -> None:
    parsed = parse_year(text, TODAY)
    assert parsed is not None
    assert int(parsed) == year


@pytest.mark.parametrize(
    "text", ["2005", "13/13/2020", "1985-02-30", "abc", "100, 103", "19850312"]
)
def test_rejects_non_dates(text: str) -> None:
    assert parse_year(text, TODAY) is None


def _dates(rng: random.Random, first: int, last: int, n: int = 500) -> list[str]:
    start, end = dt.date(first, 1, 1).toordinal(), dt.date(last, 12, 31).toordinal()
    return [dt.date.fromordinal(rng.randint(start, end)).isoformat() for _ in range(n)]


def test_population_birth_dates_are_birth_dates_without_a_header() -> None:
    values = _dates(random.Random(1), 1935, 2004)
    ok, why = birth_date_verdict(date_stats(values, TODAY), header_says_birth=False)
    assert ok, why


@pytest.mark.parametrize(("first", "last"), [(2012, 2021), (2020, 2026), (1995, 2000)])
def test_event_dates_are_not_birth_dates(first: int, last: int) -> None:
    values = _dates(random.Random(2), first, last)
    ok, _ = birth_date_verdict(date_stats(values, TODAY), header_says_birth=False)
    assert not ok


def test_header_accepts_birth_dates_of_a_narrow_cohort() -> None:
    values = _dates(random.Random(3), 1990, 1994)
    ok, _ = birth_date_verdict(date_stats(values, TODAY), header_says_birth=True)
    assert ok


def test_header_rejects_future_dates() -> None:
    values = _dates(random.Random(4), 2030, 2040)
    ok, _ = birth_date_verdict(date_stats(values, TODAY), header_says_birth=True)
    assert not ok


@pytest.mark.parametrize(("text", "year"), [("-315619200000", 1960), ("631152000000", 1990)])
def test_epoch_milliseconds_are_dates_under_a_birth_header(text: str, year: int) -> None:
    parsed = parse_year(text, TODAY, compact=True)
    assert parsed is not None
    assert int(parsed) == year
    assert parse_year(text, TODAY) is None  # never without a header that says birth
