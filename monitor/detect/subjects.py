"""Whose data a table holds: people, animals, officials in their office, or statistics about names.

A column of given names and a column of birth dates are personal data when the
rows are people. The same columns beside ``species`` and ``breed`` describe
shelter animals; beside ``party`` and ``cargo`` they list office holders in their
public role; beside ``count`` and ``rank`` they are statistics about names. These
rules read the whole table, so they run after every column has a verdict.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

from monitor.detect.headers import header_tokens

if TYPE_CHECKING:
    from monitor.detect.classify import ColumnVerdict
    from monitor.detect.profile import ColumnProfile

__all__ = ["Subject", "apply_subject", "table_subject"]

_ANIMAL_HEADERS = frozenset("species breed animal animals pet pets kennel".split())
_ANIMALS = frozenset(
    "dog dogs cat cats bird birds rabbit rabbits reptile reptiles horse horses livestock "
    "puppy kitten canine feline equine bovine goat goats pig pigs chicken wildlife ferret "
    "guinea hamster turtle snake lizard perro gato".split()
)
_PARTY_HEADERS = frozenset("party partido partij parti".split())
_OFFICE_HEADERS = frozenset(
    "title titles cargo office position puesto role leadership funcion function designation".split()
)
_ELECTION_HEADERS = frozenset(
    "incumbent bioguide fec election elected district distrito constituency ward seat "
    "caucus legislature chamber".split()
)
#: Words of elected and senior appointed offices, English and Spanish.
_OFFICIAL_WORDS = frozenset(
    """
    speaker whip leader senator senators representative representatives delegate
    assemblymember assemblyman assemblywoman councilmember councilman councilwoman
    councillor councilor alderman alderperson mayor governor lieutenant-governor
    commissioner chair chairman chairwoman chairperson vice member caucus president
    secretary treasurer auditor comptroller controller clerk assessor attorney judge
    justice magistrate minister deputy director superintendent supervisor
    alcalde alcaldesa sindico síndico concejal concejala regidor regidora secretario
    secretaria subsecretario subsecretaria director directora coordinador coordinadora
    tesorero tesorera jefe jefa intendente diputado diputada senador senadora presidente
    presidenta vicepresidente ministro ministra magistrado magistrada gobernador gobernadora
    oficial mayor contralor contralora
    """.split()
)
#: Ranks and jobs of ordinary employees: a roster of these is not a list of officials.
_EMPLOYEE_WORDS = frozenset(
    "officer police sergeant lieutenant captain detective corporal trooper patrolman "
    "teacher aide clerk-typist firefighter fighter nurse laborer technician".split()
)
_COUNT_HEADERS = frozenset(
    "count counts rank ranking frequency frecuencia frequencia cantidad births occurrences "
    "total orden n prop proportion percent porcentaje share".split()
)
_INSTITUTIONAL_MAIL = re.compile(r"(?i)@[\w.-]*\.(?:gov|gob|gouv|govt|mil)(?:\.[a-z]{2})?$|\.gov$")
_PERSONAL = frozenset({"PERSON", "DATE_OF_BIRTH"})
_SENSITIVE_HOME = frozenset({"US_SSN", "US_DRIVER_LICENSE", "STATE_ID", "CREDIT_CARD"})


@dataclasses.dataclass(frozen=True)
class Subject:
    """What the rows of a table describe when it is not people's personal data.

    Attributes:
        kind: ``animals``, ``officials`` or ``name_statistics``.
        reason: one phrase for the finding text and the logs.
    """

    kind: str
    reason: str


def _share(values: list[str], test: re.Pattern[str] | frozenset[str]) -> float:
    if not values:
        return 0.0
    if isinstance(test, frozenset):
        hits = sum(1 for v in values if set(re.findall(r"[^\W\d_]+", v.lower())) & test)
    else:
        hits = sum(1 for v in values if test.search(v))
    return hits / len(values)


def _animals(profiles: dict[str, ColumnProfile]) -> str | None:
    for name, p in profiles.items():
        tokens = set(header_tokens(name))
        if tokens & _ANIMAL_HEADERS:
            return f"the rows are animals (column {name!r})"
        if tokens & {"type", "kind", "tipo", "intake"} and _share(p.sample, _ANIMALS) >= 0.6:
            return f"the rows are animals ({name!r} holds species)"
    return None


def _officials(
    profiles: dict[str, ColumnProfile], verdicts: dict[str, ColumnVerdict]
) -> str | None:
    if any(
        v.entity in _SENSITIVE_HOME or (v.entity == "ADDRESS" and v.home) for v in verdicts.values()
    ):
        return None
    party = election = offices = holders = False
    for name, p in profiles.items():
        tokens = set(header_tokens(name))
        party = party or bool(tokens & _PARTY_HEADERS)
        election = election or bool(tokens & _ELECTION_HEADERS)
        # A column named after an elected office ("alcalde", "mayor") holds its holders.
        holders = holders or bool(tokens & _OFFICIAL_WORDS - _EMPLOYEE_WORDS)
        if tokens & _OFFICE_HEADERS:
            official = _share(p.sample, _OFFICIAL_WORDS)
            employee = _share(p.sample, _EMPLOYEE_WORDS)
            offices = offices or (official >= 0.6 and employee < 0.2)
    mails = [p.sample for n, p in profiles.items() if verdicts[n].entity == "EMAIL_ADDRESS"]
    institutional = bool(mails) and all(_share(m, _INSTITUTIONAL_MAIL) >= 0.8 for m in mails)
    if party and (offices or election or holders):
        return "the rows are office holders (party with office or election columns)"
    if offices and (institutional or not mails):
        return "the rows are officials listed by office title"
    return None


def _name_statistics(
    profiles: dict[str, ColumnProfile], verdicts: dict[str, ColumnVerdict]
) -> str | None:
    people = [v for v in verdicts.values() if v.entity == "PERSON"]
    if not people or any(
        v.entity in _SENSITIVE_HOME | {"DATE_OF_BIRTH", "ADDRESS"} for v in verdicts.values()
    ):
        return None
    if any(v.name_shares.get("full", 0.0) >= 0.2 for v in people):
        return None
    for name, p in profiles.items():
        if set(header_tokens(name)) & _COUNT_HEADERS and p.share("NUMBER") >= 0.9:
            return f"a name beside a count ({name!r}) is a statistic about the name"
    return None


def table_subject(
    profiles: dict[str, ColumnProfile], verdicts: dict[str, ColumnVerdict]
) -> Subject | None:
    """Return what the table's rows describe when that is not people's personal data."""
    if not any(
        v.entity in _PERSONAL | {"EMAIL_ADDRESS", "PHONE_NUMBER"} or profiles[c].is_free_text
        for c, v in verdicts.items()
    ):
        return None
    for kind, why in (
        ("animals", _animals(profiles)),
        ("officials", _officials(profiles, verdicts)),
        ("name_statistics", _name_statistics(profiles, verdicts)),
    ):
        if why:
            return Subject(kind, why)
    return None


def apply_subject(
    verdicts: dict[str, ColumnVerdict], subject: Subject | None
) -> dict[str, ColumnVerdict]:
    """Clear the personal-data verdicts that the table's subject explains away."""
    if subject is None:
        return verdicts
    out = dict(verdicts)
    for col, v in verdicts.items():
        if v.entity in _PERSONAL:
            out[col] = dataclasses.replace(
                v, entity=None, confidence=0.0, reason=f"not personal data: {subject.reason}"
            )
        elif subject.kind == "officials" and v.entity in ("EMAIL_ADDRESS", "PHONE_NUMBER"):
            out[col] = dataclasses.replace(v, business=True)
    return out
