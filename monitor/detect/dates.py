"""Tell birth dates from event dates by what the dates themselves look like.

A column of arrest dates and a column of birth dates are both "dates"; what
differs is their spread and the ages they imply. Birth dates of a population
spread over decades and put most people between 18 and 90; event dates cluster
in a few recent years.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from dataclasses import dataclass

__all__ = ["DateStats", "birth_date_verdict", "date_stats", "parse_year"]

_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?$")
_US = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})(?:[ T].*)?$")
_TEXT = re.compile(r"^([A-Za-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})$")
_TEXT_DMY = re.compile(r"^(\d{1,2})[\s\-]([A-Za-z]{3,9})[\s\-,]+(\d{4})$")
_COMPACT = re.compile(r"^(19\d{2}|20\d{2})(\d{2})(\d{2})$")
# Epoch milliseconds, as Esri JSON writes dates (negative before 1970).
_EPOCH_MS = re.compile(r"^-?\d{10,13}$")
_MONTHS = {
    m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)
}


def _valid(year: int, month: int, day: int) -> bool:
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return 1880 <= year <= 2200


def _two_digit(year: int, today: dt.date) -> int:
    return year + (1900 if year > today.year % 100 else 2000)


def parse_year(text: str, today: dt.date, compact: bool = False) -> float | None:
    """Return a date cell as a fractional year, or ``None`` if it is not a date."""
    text = text.strip()
    m = _ISO.match(text)
    if m:
        y, mo, d = int(m[1]), int(m[2]), int(m[3])
    elif (m := _US.match(text)) is not None:
        a, b, y = int(m[1]), int(m[2]), int(m[3])
        if len(m[3]) == 2:
            y = _two_digit(y, today)
        mo, d = (a, b) if a <= 12 else (b, a)
    elif (m := _TEXT.match(text)) is not None:
        mo = _MONTHS.get(m[1][:3].lower(), 0)
        d, y = int(m[2]), int(m[3])
    elif (m := _TEXT_DMY.match(text)) is not None:
        mo = _MONTHS.get(m[2][:3].lower(), 0)
        d, y = int(m[1]), int(m[3])
    elif compact and (m := _COMPACT.match(text)) is not None:
        y, mo, d = int(m[1]), int(m[2]), int(m[3])
    elif compact and _EPOCH_MS.match(text):
        when = dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=int(text))
        y, mo, d = when.year, when.month, when.day
    else:
        return None
    if not _valid(y, mo, d):
        return None
    return y + (mo - 1) / 12 + (d - 1) / 365


@dataclass(frozen=True)
class DateStats:
    """What the dates of a column imply.

    Attributes:
        parsed: how many sampled values parsed as dates.
        sampled: how many non-empty values were sampled.
        median_age: median years between the dates and today.
        age_iqr: interquartile range of those ages, in years.
        future: how many dates lie in the future.
        recent: how many dates lie within the last five years.
    """

    parsed: int
    sampled: int
    median_age: float
    age_iqr: float
    future: int
    recent: int

    @property
    def share(self) -> float:
        """Return the share of sampled values that are dates."""
        return self.parsed / self.sampled if self.sampled else 0.0


def date_stats(values: list[str], today: dt.date, compact: bool = False) -> DateStats:
    """Parse sampled values and summarise the ages their dates imply."""
    now = today.year + (today.timetuple().tm_yday - 1) / 365
    ages = [now - y for v in values if (y := parse_year(v, today, compact)) is not None]
    if len(ages) < 2:
        return DateStats(len(ages), len(values), ages[0] if ages else 0.0, 0.0, 0, 0)
    q = statistics.quantiles(ages, n=4)
    return DateStats(
        parsed=len(ages),
        sampled=len(values),
        median_age=statistics.median(ages),
        age_iqr=q[2] - q[0],
        future=sum(1 for a in ages if a < 0),
        recent=sum(1 for a in ages if 0 <= a < 5),
    )


def birth_date_verdict(stats: DateStats, header_says_birth: bool) -> tuple[bool, str]:
    """Decide whether dates are birth dates, and say why in one phrase.

    With a birth-date header, dates of plausible ages suffice. Without one the
    dates themselves must look like a population's birth dates: mostly adults,
    spread over decades, none in the future.
    """
    if stats.parsed < 3:
        return False, "too few dates"
    future_share = stats.future / stats.parsed
    if header_says_birth:
        if stats.share >= 0.5 and future_share <= 0.02 and 0 <= stats.median_age <= 110:
            return True, f"header names birth dates and {stats.share:.0%} of values are past dates"
        return False, "values are not plausible birth dates"
    recent_share = stats.recent / stats.parsed
    if (
        stats.share >= 0.8
        and future_share <= 0.01
        and 18 <= stats.median_age <= 85
        and stats.age_iqr >= 10
        and recent_share <= 0.1
    ):
        return True, (
            f"values are dates implying ages around {stats.median_age:.0f} "
            f"spread over {stats.age_iqr:.0f} years, as birth dates are"
        )
    return False, "dates look like event dates"
