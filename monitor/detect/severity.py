"""How urgent each finding is, judged from the whole table rather than one column.

The same column means different things in different tables: a street address
beside hospital names is a business address (low); beside people's names it
is a home address of an identifiable person (critical). Severity rules:

- ``critical``: identifiable people with sensitive identifiers: a name column
  together with birth dates, home addresses, SSNs, licence or state ID numbers.
- ``high``: personal data of identifiable people: a column of names, home
  addresses, birth dates, personal e-mails or phones, unique quasi-identifier
  rows, any SSN.
- ``medium``: weak or partial evidence.
- ``low``: informational: business contact details, redacted personal headers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from monitor.models import Severity

if TYPE_CHECKING:
    from monitor.detect.classify import ColumnVerdict
    from monitor.detect.reid import ReidResult

__all__ = ["Assessment", "NeedleHit", "assess_table"]

_SENSITIVE = frozenset(
    {
        "DATE_OF_BIRTH",
        "ADDRESS",
        "US_SSN",
        "US_DRIVER_LICENSE",
        "STATE_ID",
        "CREDIT_CARD",
        "NATIONAL_ID",
    }
)
_STRONG_QI = frozenset({"DATE_OF_BIRTH", "ZIP"})


@dataclass(frozen=True)
class NeedleHit:
    """Identifiers found inside the cells of one column by the full pass."""

    column: str
    entity: str
    matched: int
    samples: tuple[str, ...]
    scanned: int
    prose: bool = False


@dataclass(frozen=True)
class Assessment:
    """A finding before masking: the detector masks ``samples`` before it leaves."""

    column: str | None
    entity: str
    severity: Severity
    score: float
    matched: int
    scanned: int
    samples: tuple[str, ...]
    reason: str
    columns: tuple[str, ...] = ()


def _is_business(v: ColumnVerdict, org_table: bool, has_person: bool) -> bool:
    """Say whether contact details belong to organisations rather than people.

    Homes are nearly unique per person; workplaces repeat down a roster.
    """
    if v.home:
        return False
    shared = v.entity in ("ADDRESS", "PHONE_NUMBER") and v.distinct_ratio < 0.3
    return shared or ((v.business or org_table) and not has_person)


def _column_severity(
    v: ColumnVerdict, has_person: bool, has_sensitive: bool, org_table: bool
) -> tuple[Severity, str]:
    """Return a column finding's severity and the clause that explains it."""
    e = v.entity
    if e == "PERSON":
        if has_sensitive:
            return Severity.CRITICAL, "names appear with sensitive identifiers in the same rows"
        return Severity.HIGH, "a column of people's names"
    if e == "REDACTED":
        return Severity.LOW, "header only; values are redacted"
    if e in ("ADDRESS", "PHONE_NUMBER", "EMAIL_ADDRESS") and _is_business(v, org_table, has_person):
        return Severity.LOW, "contact details of organisations, not people"
    if e in _SENSITIVE and has_person:
        return Severity.CRITICAL, "identifiable people (names in the same rows)"
    if e == "ADDRESS":
        return (
            (Severity.HIGH, "home addresses")
            if v.home
            else (Severity.MEDIUM, "street addresses with no names beside them")
        )
    if e in ("PHONE_NUMBER", "EMAIL_ADDRESS"):
        if has_person:
            return Severity.HIGH, "contact details of named people"
        if e == "EMAIL_ADDRESS" and v.freemail_share >= 0.3:
            return Severity.HIGH, "personal e-mail addresses"
        return Severity.MEDIUM, "contact details with no names beside them"
    if e in ("US_DRIVER_LICENSE", "STATE_ID") and v.confidence < 0.8:
        return Severity.MEDIUM, "identifier shapes without a header to confirm them"
    return Severity.HIGH, "personal identifiers"


def _needle_severity(hit: NeedleHit, has_person: bool) -> Severity:
    if hit.entity in ("US_SSN", "CREDIT_CARD"):
        return Severity.CRITICAL if has_person else Severity.HIGH
    if hit.entity == "PERSON":
        if hit.prose:
            # Board members and authors named in a report's prose are no leak; a PDF
            # table of applicants is read as a table and judged as one.
            return Severity.LOW
        return Severity.HIGH if hit.matched >= 5 else Severity.MEDIUM
    return Severity.HIGH if has_person and hit.matched >= 5 else Severity.MEDIUM


def _reid(result: ReidResult, entities: dict[str, str]) -> Assessment | None:
    """Judge unique quasi-identifier rows: high with a strong QI, medium with weak ones."""
    if result.rows < 20 or result.unique_share < 0.5 or len(result.columns) < 2:
        return None
    kinds = {entities[c] for c in result.columns}
    strong = "DATE_OF_BIRTH" in kinds or ("ZIP" in kinds and len(kinds) >= 3)
    severity = Severity.HIGH if strong else Severity.MEDIUM
    return Assessment(
        column=None,
        entity="REIDENTIFICATION",
        severity=severity,
        score=min(1.0, result.unique_share),
        matched=result.unique_rows,
        scanned=result.rows,
        samples=(),
        reason=(
            f"{result.unique_share:.0%} of rows are unique by "
            f"({', '.join(result.columns)}) (k-anonymity k={result.k_min}), "
            + ("so rows single out individuals" if strong else "weak quasi-identifiers only")
        ),
        columns=result.columns,
    )


def assess_table(
    verdicts: list[ColumnVerdict],
    needles: list[NeedleHit],
    reid: ReidResult | None,
    scanned: dict[str, int],
) -> list[Assessment]:
    """Return the table's findings with severities that account for the whole table."""
    reportable = [
        v
        for v in verdicts
        if v.entity and v.entity not in ("ORG", "HASH", "ZIP", "SEX", "RACE", "AGE", "BIRTH_YEAR")
    ]
    has_person = any(v.entity == "PERSON" for v in reportable) or any(
        n.entity == "PERSON" and n.matched >= 5 and not n.prose for n in needles
    )
    org_table = any(v.entity == "ORG" for v in verdicts)
    has_sensitive = any(
        v.entity in _SENSITIVE and not _is_business(v, org_table, False) and v.confidence >= 0.7
        for v in reportable
    )
    out: list[Assessment] = []
    for v in reportable:
        assert v.entity is not None  # noqa: S101  (filtered above; narrows the type)
        severity, why = _column_severity(v, has_person, has_sensitive, org_table)
        n = scanned.get(v.column, 0)
        out.append(
            Assessment(
                v.column,
                (v.header_entity or "PERSON") if v.entity == "REDACTED" else v.entity,
                severity,
                v.confidence,
                0 if v.entity == "REDACTED" else round(v.share * n),
                n,
                v.samples,
                f"{v.reason}: {why}.",
            )
        )
    for hit in needles:
        out.append(
            Assessment(
                hit.column,
                hit.entity,
                _needle_severity(hit, has_person),
                0.85,
                hit.matched,
                hit.scanned,
                hit.samples,
                f"{hit.matched} {hit.entity.lower().replace('_', ' ')} value(s) found inside "
                "the text of the column by a full pass over every row"
                + (": people named in a document's prose." if hit.prose else "."),
            )
        )
    if reid is not None and not has_person:
        entities = {v.column: v.entity or "" for v in verdicts}
        finding = _reid(reid, entities)
        if finding is not None:
            out.append(finding)
    return out
