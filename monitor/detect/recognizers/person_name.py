"""Recognizer for person names in free text, from census name lists instead of a language model."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from presidio_analyzer import AnalysisExplanation, LocalRecognizer, RecognizerResult

from monitor.detect.names import (
    NAME_PARTICLES,
    ORG_WORDS,
    PLACE_WORDS,
    ROLE_WORDS,
    NameLists,
    normalize_token,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from presidio_analyzer.nlp_engine import NlpArtifacts

logger = logging.getLogger(__name__)

# Letters with inner apostrophes, hyphens or a trailing dot ("O'Neil", "Mary-Jane", "A."),
# or a run of digits, which matters only as a house number before a street.
_TOKEN = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*\.?|\d+")
_SENTENCE_MARKS = frozenset('.!?:;"“(')
_SUFFIXES = frozenset("JR SR II III IV".split())
# Words before a capitalised pair that make it a place: "Fort Worth", "San Jose", "St Clair".
_PLACE_PREFIXES = frozenset("FORT FT LAKE MOUNT MT PORT SAINT ST SAN SANTA LOS LAS EL NEW".split())


@dataclass(frozen=True, slots=True)
class _Token:
    start: int
    end: int
    text: str
    norm: str

    @property
    def capitalised(self) -> bool:
        return self.text[0].isupper()

    @property
    def initial(self) -> bool:
        return len(self.norm) == 1 and self.capitalised


class NameListRecognizer(LocalRecognizer):
    """Person names in free text, found with census name lists instead of spaCy.

    A name is a capitalised (or all-caps) known first name, optionally middle
    names, initials or particles ("de la"), then a known surname: "John A. Smith",
    "MARIA DE LA CRUZ". "Smith, John" (surname, comma, first name) and an honorific
    before a surname ("Det. Garcia") count too. An honorific or rank before the
    name ("Mr", "Dr", "Officer", "Sgt.") raises the score by :data:`HONORIFIC_BOOST`.

    Rejected: names inside organisations, streets and places ("Martin Luther King
    Hospital", "228 Tina Trail", "Fort Worth"), pairs made only of everyday words
    ("Grant Park"), and a sentence that opens with an everyday word ("Will Smith
    say?" is kept out at the cost of a real "Will Smith" at a sentence start).
    """

    ENTITY: ClassVar[str] = "PERSON"
    SCORE: ClassVar[float] = 0.6
    SCORE_INVERTED: ClassVar[float] = 0.5
    SCORE_HONORIFIC_SURNAME: ClassVar[float] = 0.5
    HONORIFIC_BOOST: ClassVar[float] = 0.3
    MAX_MIDDLE: ClassVar[int] = 3
    HONORIFICS: ClassVar[tuple[str, ...]] = (
        "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "officer", "ofc", "det", "detective",
        "sgt", "sergeant", "lt", "lieutenant", "capt", "captain", "cpl", "corporal", "deputy",
        "dep", "judge", "hon", "rev", "trooper", "agent", "inspector", "sheriff", "chief",
        "sra", "srta", "ing", "lic", "sr", "don", "dona", "doña", "dra", "lcda", "lcdo",
    )  # fmt: skip
    CONTEXT: ClassVar[tuple[str, ...]] = (
        "name", "person", "suspect", "victim", "defendant", "plaintiff", "witness", "patient",
        "inmate", "arrestee", "decedent", "deceased", "complainant", "employee", "resident",
        "applicant", "driver", "owner", "parent", "guardian", "child", "student",
        # Spanish and Portuguese
        "nombre", "apellido", "apellidos", "ciudadano", "ciudadana", "solicitante", "paciente",
        "víctima", "victima", "demandado", "titular", "señor", "señora", "nome", "sobrenome",
    )  # fmt: skip

    def __init__(
        self,
        name_lists: NameLists | None = None,
        honorifics: Sequence[str] = HONORIFICS,
        context: Sequence[str] = CONTEXT,
        supported_entity: str = ENTITY,
        supported_language: str = "en",
        name: str | None = None,
    ) -> None:
        self.name_lists = name_lists if name_lists is not None else NameLists.default()
        self.honorifics = frozenset(normalize_token(h) for h in honorifics)
        # Presidio sets ``self.name`` without a type; keep a typed copy for results.
        self._label: str = name or type(self).__name__
        super().__init__(
            supported_entities=[supported_entity],
            name=self._label,
            supported_language=supported_language,
            context=list(context),
        )

    def load(self) -> None:
        """Do nothing: the name lists are loaded, and cached, when the recognizer is built."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Return the person names in ``text``."""
        tokens = [
            _Token(m.start(), m.end(), m.group(), normalize_token(m.group()))
            for m in _TOKEN.finditer(text)
        ]
        results: list[RecognizerResult] = []
        i = 0
        while i < len(tokens):
            found = self._match_at(text, tokens, i)
            if found is None:
                i += 1
                continue
            last, score, how = found
            honorific = self._honorific_before(text, tokens, i)
            if honorific:
                score = round(min(0.95, score + self.HONORIFIC_BOOST), 2)
            results.append(self._result(tokens[i].start, tokens[last].end, score, how, honorific))
            i = last + 1
        return results

    def _match_at(self, text: str, tokens: list[_Token], i: int) -> tuple[int, float, str] | None:
        """Return (index of last token, score, form) for a name starting at token ``i``."""
        first = tokens[i]
        if not first.capitalised or first.initial or first.norm in ROLE_WORDS:
            return None
        lists = self.name_lists
        last = self._forward_end(text, tokens, i) if lists.is_first(first.text) else None
        if last is not None:
            score, how = self.SCORE, "first-last"
        elif (
            lists.is_last(first.text) and (last := self._inverted_end(text, tokens, i)) is not None
        ):
            score, how = self.SCORE_INVERTED, "last-comma-first"
        elif lists.is_last(first.text) and self._honorific_before(text, tokens, i):
            last, score, how = i, self.SCORE_HONORIFIC_SURNAME, "honorific-surname"
        else:
            return None
        if self._rejected(text, tokens, i, last):
            return None
        return last, score, how

    def _forward_end(self, text: str, tokens: list[_Token], i: int) -> int | None:
        """Return the index of the surname ending "First [Middle|I.|de la] Last", if any."""
        lists = self.name_lists
        end: int | None = None
        for j in range(i + 1, min(len(tokens), i + self.MAX_MIDDLE + 2)):
            prev, tok = tokens[j - 1], tokens[j]
            if not _space_between(text, prev, tok):
                break
            if tok.norm in NAME_PARTICLES and not tok.capitalised:
                continue
            if not tok.capitalised or tok.norm in _SUFFIXES:
                break
            if tok.initial:
                continue
            if lists.is_last(tok.text):
                end = j
            elif not lists.is_first(tok.text):
                break
        # The last surname seen ends the name, so "Maria de la" alone is none.
        return end

    def _inverted_end(self, text: str, tokens: list[_Token], i: int) -> int | None:
        """Return the index of the first name ending "Last, First [I.]", if any."""
        if i + 1 >= len(tokens):
            return None
        surname, given = tokens[i], tokens[i + 1]
        gap = text[surname.end : given.start]
        if gap.strip() != "," or not given.capitalised or not self.name_lists.is_first(given.text):
            return None
        end = i + 1
        if (
            end + 1 < len(tokens)
            and tokens[end + 1].initial
            and _space_between(text, given, tokens[end + 1])
        ):
            end += 1
        # "Mcpherson, Mason and Coffey" and "Smith, John, Brown" are firms and lists.
        rest = text[tokens[end].end : tokens[end].end + 8].lstrip(". ")
        if rest.startswith((",", "&", "and ", "y ")):
            return None
        return end

    def _honorific_before(self, text: str, tokens: list[_Token], i: int) -> bool:
        """Return True if an honorific or rank stands right before token ``i``."""
        if i == 0:
            return False
        prev = tokens[i - 1]
        if prev.norm not in self.honorifics or not prev.capitalised:
            return False
        if prev.text.endswith(".") and len(prev.norm) > 4:
            # "Det." is an abbreviation; "...told the Agent. Keep calm" ends a sentence.
            return False
        return text[prev.end : tokens[i].start].isspace()

    def _rejected(self, text: str, tokens: list[_Token], i: int, last: int) -> bool:
        """Return True if tokens ``i..last`` are part of an organisation, place or prose."""
        lists = self.name_lists
        span = tokens[i : last + 1]
        honorific = self._honorific_before(text, tokens, i)
        if any(t.norm in ORG_WORDS or t.norm in ROLE_WORDS or t.norm in PLACE_WORDS for t in span):
            return True  # "Trinidad Ave.": AVE is a census surname, here a street
        # An ampersand joins firm names: "Baylor Scott & White", "Johnson & Johnson".
        if text[tokens[last].end : tokens[last].end + 3].lstrip().startswith("&"):
            return True
        # Organisation or street words right after: "John Muir Medical Center", "Tina Trail Apt".
        for tok in tokens[last + 1 : last + 4]:
            if not tok.capitalised or tok.norm in _SUFFIXES:
                continue
            if tok.norm in ORG_WORDS or tok.norm in PLACE_WORDS:
                return True
            break
        if i > 0 and not honorific:  # "Sheriff" is an honorific here, not "Sheriff's Office"
            prev = tokens[i - 1]
            adjacent = _space_between(text, prev, tokens[i])
            if (
                adjacent
                and prev.capitalised
                and (prev.norm in ORG_WORDS or prev.norm in _PLACE_PREFIXES)
            ):
                return True
            if prev.text.isdigit() and span[-1].norm in PLACE_WORDS:
                return True
        if honorific:
            # "Mr. Brown" is a person even though "brown" is an everyday word.
            return False
        names = [t for t in span if not t.initial and t.norm not in NAME_PARTICLES]
        if all(lists.is_common_word(t.text) for t in names):
            return True
        return lists.is_common_word(tokens[i].text) and _at_sentence_start(text, tokens[i].start)

    def _result(
        self, start: int, end: int, score: float, how: str, honorific: bool
    ) -> RecognizerResult:
        """Build a Presidio result that names this recognizer, as the context step expects."""
        explanation = AnalysisExplanation(
            recognizer=self._label,
            original_score=score,
            textual_explanation=f"census name lists matched {how}",
        )
        metadata: dict[str, object] = {
            RecognizerResult.RECOGNIZER_NAME_KEY: self._label,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
            # An honorific already raised the score; the context step must not add to it.
            RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY: honorific,
        }
        return RecognizerResult(
            self.supported_entities[0], start, end, score, explanation, metadata
        )


def _space_between(text: str, left: _Token, right: _Token) -> bool:
    """Return True if only blanks separate two tokens, or nothing after an initial ("A.Smith")."""
    gap = text[left.end : right.start]
    return gap.isspace() or (gap == "" and left.text.endswith("."))


def _at_sentence_start(text: str, pos: int) -> bool:
    """Return True if ``pos`` opens the text, a line or a sentence."""
    j = pos
    while j > 0 and text[j - 1].isspace():
        if text[j - 1] == "\n":
            return True
        j -= 1
    return j == 0 or text[j - 1] in _SENTENCE_MARKS
