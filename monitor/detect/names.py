"""Census name lists and the cheap tests built on them: is this token a name, is this a person.

Detecting person names without a language model rests on one observation: a
person's name is a known first name followed by a known surname, and an
organisation's name contains a word that marks it as one ("Medical Center",
"Police Department"). Both tests are set lookups, so a column of a million cells
costs a second, not an NER pass.
"""

from __future__ import annotations

import functools
import gzip
import logging
import re
import unicodedata
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

logger = logging.getLogger(__name__)

#: Words that mark an organisation, facility or public body, in census spelling.
#: Several are also rare census surnames (POLICE, SHERIFF, CENTER); a name that
#: contains one is treated as an organisation, which is what it almost always is.
ORG_WORDS: frozenset[str] = frozenset(
    """
    ACADEMY AGENCY AIRPORT ALLIANCE ASSOC ASSOCIATES ASSOCIATION ATTORNEYS AUTHORITY
    BANK BANCO BOARD BROS BROTHERS BUREAU CAPITAL CATHEDRAL CENTER CENTERS CENTRE
    CENTRO CHAPEL CHURCH CLINIC CLINICA CLINICS CLUB COALITION COLLEGE COMMISSION
    COMMITTEE COMMUNITY COMPANY COMPANIA CONSULTING COOP COOPERATIVE CORP CORPORACION
    CORPORATION CORRECTIONAL CORRECTIONS COUNCIL COUNTY COURT COURTHOUSE DAYCARE
    DENTAL DEPARTAMENTO DEPARTMENT DEPT DETENTION DIOCESE DISTRICT DIVISION
    ELEMENTARY EMERGENCY ENTERPRISES ESCUELA FEDERAL FINANCIAL FIRM FOUNDATION
    FUNDACION FUND GMBH GOVERNMENT GROUP GRUPO HEALTH HEALTHCARE HOLDINGS HOSPICE
    HOSPITAL HOSPITALS HOTEL INC INCORPORATED INDUSTRIES INITIATIVE INSTITUTE
    INSTITUTO INSURANCE INTERNATIONAL JAIL LABORATORIES LABORATORIOS LABORATORY LABS
    LEAGUE LIBRARY LLC LLP LTD MEDICAL MEMORIAL MINISTRIES MINISTRY MOSQUE MUSEUM
    NATIONAL NETWORK NURSING OFFICE OFFICES ORGANIZATION PARISH PARTNERS PARTNERSHIP
    PATROL PEDIATRICS PHARMACY PHYSICIANS PLC POLICE PRESCHOOL PRISON PROBATION
    PROGRAM PROGRAMS PROJECT PUBLIC REGIONAL REHABILITATION RESTAURANT SCHOOL
    SCHOOLS SECRETARIA SERVICE SERVICES SHERIFF SHERIFFS SOCIETY SOLUTIONS SURGERY
    SURGICAL SYNAGOGUE SYSTEMS TECHNOLOGIES TEMPLO TRUST UNIVERSIDAD UNIVERSITY
    ADVOCACIA AGENCIA ASSEMBLEIA AUTARQUIA COLEGIO COMISSAO COMPANHIA CONSELHO
    COORDENACAO DEFENSORIA DIRETORIA EMPRESA FACULDADE FUNDACAO FUNDO GABINETE
    MINISTERIO PREFEITURA PRESIDENCIA PROCURADORIA SERVICO SUPERINTENDENCIA TRIBUNAL
    UNIVERSIDADE AKADEMIE BUNDESAMT BUNDESANSTALT INSTITUT KOMMUN MINISTERIUM STIFTUNG
    TINGSRATT DOMSTOL VERWALTUNG
    """.split()
)
#: Endings of compound names of public bodies (Swedish, German): "Arbetsmiljöverket",
#: "Åklagarmyndigheten", "Zollamt". Only tokens a few letters longer than the ending count.
_ORG_ENDINGS: tuple[str, ...] = (
    "MYNDIGHETEN",
    "VERKET",
    "STYRELSEN",
    "NAMNDEN",
    "INSPEKTIONEN",
    "DOMSTOLEN",
    "TINGSRATT",
    "KOMMUN",
    "FORMEDLINGEN",
    "KASSAN",
    "AMT",
    "MINISTERIUM",
    "GERICHT",
    "BEHORDE",
    "ANSTALT",
    "STIFTUNG",
    "KAMMER",
)

#: Job titles and ranks that precede a name in police and court records. They are
#: census surnames (OFFICER, SERGEANT, CAPTAIN) but in a record they are a role.
ROLE_WORDS: frozenset[str] = frozenset(
    """
    AGENT CAPT CAPTAIN CHIEF CLERK COMMANDER COMMISSIONER CORPORAL CPL DEP DEPUTY DET
    DETECTIVE DIRECTOR DISPATCHER INSPECTOR INVESTIGATOR LIEUTENANT LT MANAGER
    MARSHAL OFC OFFICER PATROLMAN SERGEANT SGT SUPERINTENDENT SUPERVISOR TROOPER
    """.split()
)

#: Street and place words: a "name" next to one is a street or a town ("Tina Trail",
#: "Martin Luther King Blvd", "Fort Worth"). Faker's street suffixes are included.
PLACE_WORDS: frozenset[str] = frozenset(
    """
    ALLEY APT AVE AVENUE BLVD BOULEVARD BYPASS CAUSEWAY CIR CIRCLE COURTS CRESCENT
    CT DRIVE DRIVES EXPRESSWAY EXPY EXTENSION FREEWAY FWY HIGHWAY HWY JUNCTION JUNCTIONS
    LN MOTORWAY PKWY PARKWAY PLAZA RD ROAD ROADS ROUTE RTE SKYWAY SQUARE STRAVENUE
    STREET STREETS SUITE TERRACE THROUGHWAY TRAFFICWAY TRAIL TURNPIKE UNIT VIADUCT
    VALLEY FORKS FALLS SPRINGS HEIGHTS CREEK RIDGE HARBOR CANYON COUNTY
    """.split()
)

#: Measure words and their abbreviations that are also census names. In a column name
#: ("temp_max", "Min Rate") they are the measure, not "Max" or "Temp" the person.
MEASURE_WORDS: frozenset[str] = frozenset(
    "MAX MIN TEMP MEAN MEDIAN AVG RATE NET GROSS TOTAL SUM COUNT".split()
)

#: Lower-case particles inside names: "Maria de la Cruz", "Ludwig van Beethoven".
NAME_PARTICLES: frozenset[str] = frozenset(
    "DA DAL DAS DE DEL DELA DEN DER DI DO DOS DU LA LE LOS VAN VON".split()
)

_SUFFIXES = frozenset("JR SR II III IV V ESQ MD PHD DDS DVM RN".split())
# Leading titles, English and Spanish ("Ing." engineer, "Lic." licenciado, "Sra." señora).
_TITLES = frozenset(
    "MR MRS MS MISS MX DR PROF REV HON SIR DAME ING LIC SR SRA SRTA DON DONA".split()
)
_CONJUNCTIONS = frozenset({"AND", "OR", "UND", "ET", "Y", "E", "&", "+", "/"})
# Dots are required in "Co.", "S.A." and "S. de R.L.": "Sa" and "Co" end real names.
_CORPORATE_TAIL = re.compile(
    r"(?:\b(?:inc|llc|llp|ltd|plc|corp|lp|gmbh|ag|nv|bv)\.?|\bco\.|\bsa\s+de\s+cv"
    r"|\bs\.\s?(?:de\s)?(?:r\.\s?l\.|a\.)(?:\s?de\s?c\.\s?v\.)?)\s*$",
    re.IGNORECASE,
)
# "TOWN OF MILTON", "City of Fresno", "Municipalidad de Córdoba": a public body.
_PUBLIC_BODY = re.compile(
    r"(?i)^\s*(?:the\s+)?(?:city|town|village|borough|township|county|state|commonwealth"
    r"|municipality|municipalidad|municipio|ayuntamiento|gobierno|estado|prefeitura)"
    r"\s+(?:of|de|del|da|do)\b"
)
_TOKEN = re.compile(r"[^\s,;]+")
_WORD = re.compile(r"[^\W\d_]+(?:['’.-][^\W\d_]+)*|&")
_STRIP = str.maketrans("", "", "'’`.")

# The data folder is plain package data of ``monitor.detect`` (no __init__.py), as in the wheel.
_DATA_PACKAGE = "monitor.detect"


@functools.lru_cache(maxsize=65536)
def normalize_token(token: str) -> str:
    """Return a token in census spelling: upper-case ASCII letters only ("O'Neil" -> "ONEIL")."""
    fast = token.translate(_STRIP).upper()
    if fast.isascii() and fast.isalpha():
        return fast
    decomposed = unicodedata.normalize("NFKD", token)
    return "".join(c for c in decomposed if c.isascii() and c.isalpha()).upper()


def _parts(token: str) -> list[str]:
    """Return the census spellings to try for a token: itself, then each hyphenated part."""
    whole = normalize_token(token)
    if "-" not in token:
        return [whole] if whole else []
    return [whole, *(normalize_token(p) for p in token.split("-") if p)]


def is_org_name(text: str) -> bool:
    """Return True when ``text`` reads as an organisation, facility or public body.

    True for a word from :data:`ORG_WORDS` anywhere ("Baylor Scott & White Medical
    Center"), a corporate suffix at the end ("Rosado S.A.", "Acme LLC"), or an
    ampersand between words, which in data almost always joins firm names.
    """
    words = _WORD.findall(text)
    if any(w == "&" for w in words) or _PUBLIC_BODY.match(text):
        return True
    tokens = [normalize_token(part) for w in words for part in w.split("-")]
    if any(t in ORG_WORDS for t in tokens):
        return True
    if any(t.endswith(e) and len(t) >= len(e) + 4 for t in tokens for e in _ORG_ENDINGS):
        return True
    return _CORPORATE_TAIL.search(text) is not None


class NameLists:
    """Census first-name and surname lists with rank and frequency lookups.

    :meth:`default` loads the packaged US Census 1990 lists once and caches them;
    the constructor takes plain rows so a test can build a tiny list in one line.
    Tokens are compared in census spelling (see :func:`normalize_token`), so case,
    accents and apostrophes do not matter.

    Attributes:
        first: every known first name.
        last: every known surname.
        common: names that are also everyday English words ("WILL", "GRANT", "PARK").
    """

    def __init__(
        self,
        first: Sequence[tuple[str, float]],
        last: Sequence[tuple[str, float]],
        common: Iterable[str] = (),
    ) -> None:
        self._first_rank = {name: i for i, (name, _) in enumerate(first, start=1)}
        self._last_rank = {name: i for i, (name, _) in enumerate(last, start=1)}
        self._first_pct = [pct for _, pct in first]
        self._last_pct = [pct for _, pct in last]
        self.first: frozenset[str] = frozenset(self._first_rank)
        self.last: frozenset[str] = frozenset(self._last_rank)
        self.common: frozenset[str] = frozenset(normalize_token(w) for w in common)

    @classmethod
    def default(cls) -> NameLists:
        """Return the packaged census lists, loaded on first use and shared afterwards."""
        return _load_default()

    def __repr__(self) -> str:
        return (
            f"NameLists(first={len(self.first)}, last={len(self.last)}, common={len(self.common)})"
        )

    def is_first(self, token: str) -> bool:
        """Return True if the token, or the first part of a hyphenated one, is a first name."""
        parts = _parts(token)
        return bool(parts) and (
            parts[0] in self.first or (len(parts) > 1 and parts[1] in self.first)
        )

    def is_last(self, token: str) -> bool:
        """Return True if the token, or any part of a hyphenated one, is a surname."""
        return any(p in self.last for p in _parts(token))

    def is_common_word(self, token: str) -> bool:
        """Return True if the token is an everyday English word that is also a name."""
        norm = normalize_token(token)
        return norm in self.common or norm in MEASURE_WORDS

    def first_rank(self, token: str) -> int | None:
        """Return the 1-based frequency rank of a first name, or ``None`` if unknown."""
        return self._first_rank.get(normalize_token(token))

    def last_rank(self, token: str) -> int | None:
        """Return the 1-based frequency rank of a surname, or ``None`` if unknown."""
        return self._last_rank.get(normalize_token(token))

    def first_frequency(self, token: str) -> float:
        """Return the share of people with this first name, in percent (0.0 if unknown)."""
        rank = self.first_rank(token)
        return self._first_pct[rank - 1] if rank else 0.0

    def last_frequency(self, token: str) -> float:
        """Return the share of people with this surname, in percent (0.0 if unknown)."""
        rank = self.last_rank(token)
        return self._last_pct[rank - 1] if rank else 0.0

    def looks_like_person_name(self, text: str) -> bool:
        """Return True when a cell reads as one person's name.

        Accepts "JOHN SMITH", "John A. Smith Jr.", "Smith, John A.", "Mary-Jane
        O'Neil" and "Maria de la Cruz": a first name first and a surname last (or
        the reverse around a comma), with only names, initials and particles in
        between. Rejects organisations, lists ("Smith, Jones and Brown"), values
        with digits, and pairs made only of everyday words ("Grant Park").
        """
        text = text.strip()
        if not 3 <= len(text) <= 80 or any(ch.isdigit() for ch in text) or is_org_name(text):
            return False
        head, comma, tail = text.partition(",")
        if comma:
            surname = self._name_tokens(head)
            given = self._name_tokens(tail)
            if not surname or not given:
                return False
            tokens = surname + given
            if not (self.is_first(given[0]) and self.is_last(surname[-1])):
                return False
        else:
            tokens = self._name_tokens(text)
            if len(tokens) < 2 or not (self.is_first(tokens[0]) and self.is_last(tokens[-1])):
                return False
        if len(tokens) > 5 or normalize_token(tokens[0]) in NAME_PARTICLES:
            return False
        # Beside capitalised words a lower-case word is prose ("Days in Shelter"), unless it
        # is a particle ("Maria de la Cruz"); an all lower-case name ("david robinson") is fine.
        if any(t[:1].isupper() for t in tokens) and any(
            t.islower() and normalize_token(t) not in NAME_PARTICLES for t in tokens
        ):
            return False
        for token in tokens:
            norm = normalize_token(token)
            if norm in _CONJUNCTIONS or norm in ROLE_WORDS or norm in PLACE_WORDS:
                return False
            if not (norm in NAME_PARTICLES or self.is_first(token) or self.is_last(token)):
                return False
        return not all(
            self.is_common_word(t) or normalize_token(t) in NAME_PARTICLES for t in tokens
        )

    @staticmethod
    def _name_tokens(text: str) -> list[str]:
        """Split a name into tokens, dropping initials, suffixes ("Jr") and a leading title."""
        out: list[str] = []
        for raw in _TOKEN.findall(text):
            norm = normalize_token(raw)
            if raw in {"&", "+", "/", "y", "e"} or norm in _CONJUNCTIONS:
                out.append(raw)
            elif len(norm) > 1 and norm not in _SUFFIXES and not (norm in _TITLES and not out):
                out.append(raw.strip(".'’"))
        return out


def _read_rows(filename: str) -> list[tuple[str, float]]:
    """Read one packaged ``NAME<TAB>PERCENT`` file, most frequent first."""
    blob = resources.files(_DATA_PACKAGE).joinpath("data", filename).read_bytes()
    rows: list[tuple[str, float]] = []
    for line in gzip.decompress(blob).decode("ascii").splitlines():
        name, _, pct = line.partition("\t")
        rows.append((name, float(pct or 0.0)))
    return rows


def _read_names(filename: str) -> list[tuple[str, float]]:
    """Read one packaged one-name-a-line file; these names rank after the census ones."""
    blob = resources.files(_DATA_PACKAGE).joinpath("data", filename).read_bytes()
    return [(name, 0.0) for name in gzip.decompress(blob).decode("ascii").split("\n") if name]


@functools.cache
def country_names() -> frozenset[str]:
    """Return the bundled country and territory names, upper case (see data/README.md)."""
    text = resources.files(_DATA_PACKAGE).joinpath("data", "country_names.txt").read_text("utf-8")
    return frozenset(w for w in text.split("\n") if w and not w.startswith("#"))


def is_country_name(value: str) -> bool:
    """Return True if a cell is the name of a country or territory ("Jordan", "Chad")."""
    return " ".join(value.split()).upper() in country_names()


@functools.cache
def _load_default() -> NameLists:
    """Load the packaged lists; cached so every recognizer shares one copy.

    Census 1990 names first (their rank and frequency are known), then the SSA
    baby names and Argentine RENAPER names that widen the coverage (see data/README.md).
    """
    text = resources.files(_DATA_PACKAGE).joinpath("data", "common_words.txt").read_text("ascii")
    common = [w for w in text.split("\n") if w and not w.startswith("#")]
    first = _read_rows("first_names.txt.gz") + _read_names("given_names_extra.txt.gz")
    last = _read_rows("last_names.txt.gz") + _read_names("surnames_extra.txt.gz")
    lists = NameLists(first, last, common)
    logger.debug("loaded census name lists: %r", lists)
    return lists
