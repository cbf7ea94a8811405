"""What a column's header says about its contents, before any value is read.

A header is evidence, never proof: ``Date of Birth`` may hold only redaction
notes, and ``c3`` may hold birth dates. The classifier weighs these hints
against the values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["HeaderHint", "header_hint", "header_tokens"]

_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_NON_ALNUM = re.compile(r"[^a-z0-9#]+")

# Words that, before "name", make it the name of a thing rather than a person.
_THING_WORDS = frozenset(
    "hospital agency facility provider business company organization organisation org school "
    "county city street program programme dataset hpsa site station department dept unit "
    "district court jurisdiction place location product file sheet project vendor store "
    "institution clinic center centre plant firm employer entity office bureau division "
    "precinct command team brand drug model course field table column layer state country "
    "region area zone village town municipality parish campus building park lake river road "
    "event category type class group offense offence crime charge animal animals pet pets dog "
    "cat horse breed species".split()
)
_PERSON_WORDS = frozenset(
    "applicant employee officer defendant victim suspect owner patient student resident person "
    "member worker staff contact subject inmate decedent deceased purchaser buyer seller "
    "licensee customer client user respondent complainant witness driver passenger holder "
    "arrestee offender parolee tenant voter donor beneficiary plaintiff claimant payee visitor "
    "guest petitioner appellant appellee debtor decedent beneficiario solicitante demandado "
    "demandante victima paciente alumno empleado trabajador funcionario".split()
)
_PERSON_EXACT = frozenset(
    "fullname firstname lastname givenname surname familyname middlename fname lname "
    "mname forename firstnm lastnm middleinitial personname legalname aka alias "
    "worker employee applicant defendant suspect victim decedent inmate patient arrestee "
    "purchaser licensee officer respondent complainant cardholder payee plaintiff claimant "
    "visitor nombre apellido apellidos nome sobrenome titular".split()
)
_EVENT_WORDS = frozenset(
    "death died issue issued expire expiration expiry arrest arrested incident report reported "
    "created updated modified occurred occurrence booking booked hire hired start end closed "
    "opened filed filing designation update release released admission admitted discharge "
    "effective approval approved submitted received stop event offense offence sentence "
    "application renewal inspection service visit".split()
)


_AGE_COMPACT = frozenset({"age", "ageyears", "ageatarrest", "ageatdeath"})


@dataclass(frozen=True)
class HeaderHint:
    """What a header suggests.

    Attributes:
        entity: the entity or quasi-identifier the header names (``PERSON``,
            ``DATE_OF_BIRTH``, ``ZIP``, ``SEX``...), or ``None``.
        strong: True when the header leaves little doubt (``ssn``, ``dob``).
        home: True for a residential address header (``home address``).
        thing_name: True for ``Hospital Name``-like headers (a name, not a person's).
        event_date: True for headers of event dates (``issue date``), never birth dates.
    """

    entity: str | None
    strong: bool = False
    home: bool = False
    thing_name: bool = False
    event_date: bool = False


def _tokens(header: str) -> list[str]:
    spaced = _CAMEL.sub(" ", header).lower().replace("_", " ")
    return [t for t in _NON_ALNUM.split(spaced) if t]


def header_tokens(header: str) -> list[str]:
    """Return a header's lower-case words: ``"defendantNameLast"`` -> defendant, name, last."""
    return _tokens(header.rsplit(".", 1)[-1] if " " not in header else header)


def _person_hint(tokens: list[str], compact: str) -> HeaderHint | None:
    if compact in _PERSON_EXACT:
        return HeaderHint("PERSON", strong=True)
    if "name" in tokens or compact.endswith("name"):
        before = tokens[: tokens.index("name")] if "name" in tokens else [compact[:-4]]
        if any(t in _THING_WORDS for t in before):
            return HeaderHint(None, thing_name=True)
        after = tokens[tokens.index("name") + 1 :] if "name" in tokens else []
        if any(
            t in ("first", "last", "middle", "given", "sur", "family", "full", "maiden")
            or t in _PERSON_WORDS
            for t in before
        ) or any(t in ("first", "last", "middle", "given", "family", "full") for t in after):
            # "defendant_name_last", "name_first", "lastName": the name of a person.
            return HeaderHint("PERSON", strong=True)
        return HeaderHint("PERSON", strong=False)
    if any(t in _PERSON_WORDS for t in tokens) and len(tokens) <= 2:
        return HeaderHint("PERSON", strong=False)
    return None


def _date_hint(tokens: list[str], compact: str) -> HeaderHint | None:
    if compact in ("birthyear", "yearofbirth", "yob", "byear"):
        return HeaderHint("BIRTH_YEAR", strong=True)
    if (
        "dob" in tokens
        or compact in ("dob", "bdate", "birthdt", "dtbirth")
        or "birth" in compact
        or "born" in tokens
        or compact == "birthday"
    ):
        return HeaderHint("DATE_OF_BIRTH", strong=True)
    if any(t in _EVENT_WORDS for t in tokens) or compact.startswith("date") or "date" in tokens:
        return HeaderHint(None, event_date=True)
    return None


_SIMPLE: tuple[tuple[tuple[str, ...], str, bool], ...] = (
    (("ssn", "socialsecurity", "socsec", "ss#", "ssno", "ssnumber"), "US_SSN", True),
    (
        ("driverslicense", "driverlicense", "driverlic", "dlnumber", "dlno", "dl#", "dln", "cdl"),
        "US_DRIVER_LICENSE",
        True,
    ),
    (
        (
            "cii",
            "ciinumber",
            "ciino",
            "stateid",
            "sid",
            "sidnumber",
            "fbinumber",
            "fbino",
            "criminalid",
            "stateidentification",
        ),
        "STATE_ID",
        True,
    ),
    (("email", "emailaddress", "mail"), "EMAIL_ADDRESS", True),
    (
        (
            "phone",
            "telephone",
            "tel",
            "mobile",
            "cell",
            "cellphone",
            "phonenumber",
            "homephone",
            "contactnumber",
            "fax",
            "telefone",
            "telefono",
            "celular",
            "movil",
            "fono",
        ),
        "PHONE_NUMBER",
        True,
    ),
    (
        (
            "creditcard",
            "cardnumber",
            "cardno",
            "card#",
            "ccnumber",
            "ccno",
            "cardholdernumber",
            "pan",
            "tarjeta",
            "numerotarjeta",
        ),
        "CREDIT_CARD",
        True,
    ),
    (("cpf", "nrcpf", "numerocpf", "cpfcnpj"), "NATIONAL_ID", True),
    (("zip", "zipcode", "postal", "postalcode", "postcode", "zip5"), "ZIP", True),
    (("sex", "gender"), "SEX", True),
    (("race", "ethnicity", "ethnic", "raceethnicity"), "RACE", True),
    (("age",), "AGE", True),
)


@lru_cache(maxsize=4096)
def header_hint(header: str) -> HeaderHint:
    """Return what a header suggests about its column."""
    tokens = _tokens(header)
    compact = "".join(tokens)
    if not tokens or re.fullmatch(r"c\d+", compact):
        return HeaderHint(None)
    for keys, entity, strong in _SIMPLE:
        if (
            compact in keys
            or any(t in keys for t in tokens)
            or any(len(k) > 4 and k in compact for k in keys)
        ):
            if entity == "AGE" and "age" not in tokens and compact not in _AGE_COMPACT:
                continue
            if entity == "EMAIL_ADDRESS" and compact == "mail":
                continue
            return HeaderHint(entity, strong=strong)
    if compact in ("dl", "dlnum", "license", "licenseno", "licensenumber", "licno", "permitno"):
        return HeaderHint("US_DRIVER_LICENSE", strong=compact.startswith("dl"))
    date = _date_hint(tokens, compact)
    if date is not None:
        return date
    if (
        any(
            t in ("address", "addr", "street", "residence", "line1", "address1", "addressline1")
            for t in tokens
        )
        or "address" in compact
        or "street" in compact
    ):
        home = any(t in ("home", "residence", "residential", "mailing", "primary") for t in tokens)
        thing = any(t in _THING_WORDS and t not in ("street", "road") for t in tokens)
        return HeaderHint(None if thing else "ADDRESS", strong=home, home=home, thing_name=thing)
    person = _person_hint(tokens, compact)
    if person is not None:
        return person
    return HeaderHint(None)
