"""Recognizer for dates of birth: a date with "DOB", "born" or "date of birth" next to it."""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import TYPE_CHECKING, ClassVar

from presidio_analyzer import Pattern, RecognizerResult

from monitor.detect.recognizers.declared import DeclaredPatternRecognizer

if TYPE_CHECKING:
    from collections.abc import Sequence

    from presidio_analyzer.nlp_engine import NlpArtifacts

logger = logging.getLogger(__name__)

_MONTHS = {
    m: i
    for i, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for m in names
}
_MONTH_RE = "(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DIGITS = re.compile(r"\d+")
_WORD = re.compile(r"[A-Za-z]+")


class DateOfBirthRecognizer(DeclaredPatternRecognizer):
    """Dates of birth: a calendar date with birth context right before or after it.

    A bare date is an event date far more often than a birthday, so this recognizer
    never reports one. It keeps a date only when :data:`CONTEXT` ends at most three
    words before it, with no other number in between ("DOB: 03/14/1987", "born on
    14 March 1987 in Fresno"), or when a bracketed birth label follows it
    ("03/14/1987 (DOB)"). Impossible dates and years outside 1900..today are
    dropped in :meth:`invalidate_result`.

    Callers that reuse :data:`PATTERNS` elsewhere (a column scan) must supply the
    context themselves, for example from the column header; ``REQUIRES_CONTEXT``
    says so.
    """

    ENTITY: ClassVar[str] = "DATE_OF_BIRTH"
    REQUIRES_CONTEXT: ClassVar[bool] = True
    SCORE_WITH_CONTEXT: ClassVar[float] = 0.85
    PATTERNS: ClassVar[tuple[Pattern, ...]] = (
        Pattern("date_numeric", r"\b[0-9]{1,2}[/.-][0-9]{1,2}[/.-](?:[0-9]{4}|[0-9]{2})\b", 0.85),
        Pattern("date_iso", r"\b(?:19|20)[0-9]{2}[/.-][0-9]{1,2}[/.-][0-9]{1,2}\b", 0.85),
        Pattern(
            "date_compact",
            r"\b(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])\b",
            0.85,
        ),
        Pattern(
            "date_month_first",
            rf"\b{_MONTH_RE}\s+[0-9]{{1,2}}(?:st|nd|rd|th)?,?\s+(?:19|20)[0-9]{{2}}\b",
            0.85,
        ),
        Pattern(
            "date_day_first",
            rf"\b[0-9]{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH_RE},?\s+(?:19|20)[0-9]{{2}}\b",
            0.85,
        ),
    )
    CONTEXT: ClassVar[tuple[str, ...]] = (
        "dob",
        "d.o.b",
        "date of birth",
        "birth date",
        "birthdate",
        "birthday",
        "born",
        "fecha de nacimiento",
        "f. de nacimiento",
        "nacido el",
        "nacida el",
        "nació el",
        "data de nascimento",
        "nascido em",
        "nascida em",
        "date de naissance",
        "né le",
        "née le",
    )
    # How far before the date the context may end, in words and characters.
    MAX_GAP_WORDS: ClassVar[int] = 3
    WINDOW_CHARS: ClassVar[int] = 60

    def __init__(
        self,
        patterns: Sequence[Pattern] | None = None,
        context: Sequence[str] | None = None,
        supported_entity: str | None = None,
        supported_language: str = "en",
        name: str | None = None,
    ) -> None:
        super().__init__(patterns, context, supported_entity, supported_language, name)
        words = "|".join(
            r"\s*".join(re.escape(part) for part in word.split()) for word in self.context
        )
        # "d.o.b" must also match "D.O.B." and "DOB"; dots are optional everywhere.
        words = words.replace(r"\.", r"\.?")
        self._before = re.compile(rf"(?<![A-Za-z])(?:{words})(?![A-Za-z])\.?", re.IGNORECASE)
        # After the date only a bracketed label counts: "03/14/1987 (DOB)". A bare
        # "DOB" after a date usually opens the next field: "arrested 04/02/2021 DOB ...".
        self._after = re.compile(rf"\s*[(\[]\s*(?:{words})\s*[)\]]", re.IGNORECASE)

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        """Return the dates in ``text`` that have birth context next to them.

        The context check needs the text around the match, which the validation
        hooks never see, so it lives here rather than in :meth:`validate_result`.
        """
        results: list[RecognizerResult] = super().analyze(
            text, entities, nlp_artifacts, regex_flags
        )
        kept: list[RecognizerResult] = []
        for result in results:
            if self._has_birth_context(text, result.start, result.end):
                result.score = max(result.score, self.SCORE_WITH_CONTEXT)
                # The context is already counted; stop the analyzer's context step adding it again.
                result.recognition_metadata[RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY] = (
                    True
                )
                kept.append(result)
        return kept

    def _has_birth_context(self, text: str, start: int, end: int) -> bool:
        """Return True if birth context ends just before ``start`` or is bracketed after ``end``."""
        if self._after.match(text, end, min(len(text), end + 30)):
            return True
        window = text[max(0, start - self.WINDOW_CHARS) : start]
        ends = [m.end() for m in self._before.finditer(window)]
        if not ends:
            return False
        gap = window[ends[-1] :]
        return not any(ch.isdigit() for ch in gap) and len(_WORD.findall(gap)) <= self.MAX_GAP_WORDS

    def invalidate_result(self, pattern_text: str) -> bool:
        """Drop strings that are no calendar date, or whose year is before 1900 or in the future."""
        return _parse_date(pattern_text) is None


def _parse_date(text: str) -> dt.date | None:
    """Return the date ``text`` names, trying month-first before day-first; None if none."""
    month = next((_MONTHS[w.lower()] for w in _WORD.findall(text) if w.lower() in _MONTHS), None)
    numbers = [int(n) for n in _DIGITS.findall(text)]
    today = dt.date.today()
    candidates: list[tuple[int, int, int]] = []
    if month is not None:
        if len(numbers) == 2:
            candidates.append((numbers[1], month, numbers[0]))
    elif len(numbers) == 1 and len(text) == 8:
        candidates.append((int(text[:4]), int(text[4:6]), int(text[6:])))
    elif len(numbers) == 3:
        a, b, c = numbers
        if a >= 1000:
            candidates.append((a, b, c))
        else:
            # Two-digit years: a birth year cannot be in the future, so "95" is 1995.
            year = c if c >= 100 else (2000 + c if c <= today.year % 100 else 1900 + c)
            candidates += [(year, a, b), (year, b, a)]
    for year, month_no, day in candidates:
        try:
            date = dt.date(year, month_no, day)
        except ValueError:
            continue
        if year >= 1900 and date <= today:
            return date
    return None
