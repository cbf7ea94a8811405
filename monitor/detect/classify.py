"""Decide what one column holds by weighing its header against its values.

Each rule needs value evidence: a header alone never makes a finding above
``low`` (a ``Date of Birth`` column of redaction notes is not a leak), and
values alone need a stricter share than values backed by a header.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from monitor.detect.dates import birth_date_verdict, date_stats
from monitor.detect.headers import HeaderHint, header_hint
from monitor.detect.names import is_country_name, is_org_name
from monitor.detect.shapes import CELL
from monitor.detect.validate import valid_values

if TYPE_CHECKING:
    import datetime as dt

    from monitor.detect.profile import ColumnProfile

__all__ = ["QUASI_IDENTIFIERS", "ColumnVerdict", "NameScorer", "classify_column"]

#: Entities that identify nobody alone but narrow people down together.
QUASI_IDENTIFIERS = frozenset({"ZIP", "SEX", "RACE", "AGE", "BIRTH_YEAR", "DATE_OF_BIRTH"})

_NAME_NOISE = re.compile(r"\s*[(\[][^)\]]*[)\]]|\s*[:#]?\s*\b\d+\b")
# A letter, then letters and separators. Every repeated group must take a letter, so a
# run of separators splits one way only: the group with an optional letter part backtracked
# exponentially on a long sentence with ". " runs ending in a digit (a hung scan).
_ALPHA_NAME = re.compile(r"^[^\W\d_][^\W\d_ .,'\-]*(?:[ .,'\-]+[^\W\d_]+)*[ .,'\-]*$")
_REDACTED = re.compile(
    r"(?i)redact|withheld|exempt|confidential|not disclosed|n/?a\b|^\W*x{3,}\W*$|\*{3,}|█|gp ?4-"
)
_CELL_RE = {name: re.compile(pattern) for name, pattern in CELL.items()}
_CPF = re.compile(r"^\d{3}\.?\d{3}\.?\d{3}-?\d{2}$")
_PHONE_CHARS = re.compile(r"^\+?[\d\s().\-/]+(?:\s*(?:x|ext\.?|ramal)\s*\d{1,5})?$")
_BLOCK = re.compile(r"(?i)\b(?:block|blk|blq|cuadra)\b|\b\d+X{2}\b|^\d+\s*-\s*\d+\s")
_FREEMAIL = re.compile(
    r"(?i)@(?:gmail|yahoo|hotmail|outlook|aol|icloud|me|live|msn|comcast|att|verizon|protonmail"
    r"|proton|gmx|mail|ymail|sbcglobal|cox|charter|earthlink|rocketmail)\."
)


class NameScorer(Protocol):
    """The name knowledge the classifier needs (``monitor.detect.names.NameLists``)."""

    def is_first(self, token: str) -> bool:
        """Say whether a token is a known given name."""
        ...

    def is_last(self, token: str) -> bool:
        """Say whether a token is a known surname."""
        ...

    def looks_like_person_name(self, text: str) -> bool:
        """Say whether a cell reads like a person's full name."""
        ...


@dataclass(frozen=True)
class ColumnVerdict:
    """What a column holds.

    Attributes:
        column: the column name.
        entity: what it holds, or ``None``; besides reportable entities this may
            be a quasi-identifier (``ZIP``...), ``ORG`` (organisation names),
            ``HASH`` or ``REDACTED`` (a personal-data header over redacted values).
        confidence: 0..1.
        share: share of sampled values that support the verdict.
        samples: a few raw supporting values; masked before they leave the detector.
        reason: one phrase saying why.
        home: the header names a residential address.
        business: the header names an organisation's address or contact.
        strong_header: the header names the entity without doubt.
        freemail_share: for e-mail columns, the share of free-mail domains.
    """

    column: str
    entity: str | None
    confidence: float = 0.0
    share: float = 0.0
    samples: tuple[str, ...] = ()
    reason: str = ""
    home: bool = False
    business: bool = False
    strong_header: bool = False
    freemail_share: float = 0.0
    name_shares: dict[str, float] = field(default_factory=dict)
    header_entity: str | None = None
    distinct_ratio: float = 1.0


def _pick(values: list[str], keep: int = 3) -> tuple[str, ...]:
    seen: list[str] = []
    for v in values:
        if v not in seen:
            seen.append(v)
        if len(seen) >= keep:
            break
    return tuple(seen)


def name_shares(sample: list[str], names: NameScorer) -> dict[str, float]:
    """Return shares of sampled cells that are full names, given names, surnames, org names."""
    return _name_stats(tuple(sample), names)[0]


def _name_stats(sample: tuple[str, ...], names: NameScorer) -> tuple[dict[str, float], list[str]]:
    """Return name shares and the sampled cells that read as full names.

    Works over distinct values weighted by their counts: a roster repeats
    given names, a category column repeats everything.
    """
    if not sample:
        return {"full": 0.0, "first": 0.0, "last": 0.0, "org": 0.0, "alpha": 0.0}, []
    counts = Counter(sample)
    tally = Counter[str]()
    full: list[str] = []
    for raw, k in counts.items():
        if len(raw) <= 80 and raw.count(" ") < 8 and is_org_name(raw):
            tally["org"] += k
        value = _NAME_NOISE.sub("", raw).strip(" ,;:-")
        if not _ALPHA_NAME.match(value):
            continue
        tally["alpha"] += k
        tokens = [t for t in re.split(r"[ ,]+", value) if t]
        if names.is_first(tokens[0]):
            tally["first"] += k
        if len(tokens) == 1 and names.is_last(tokens[0]):
            tally["last"] += k
        if len(tokens) > 1 and names.looks_like_person_name(value):
            tally["full"] += k
            full.append(raw)
    n = len(sample)
    keys = ("full", "first", "last", "org", "alpha")
    return {key: tally[key] / n for key in keys}, full


def _person(p: ColumnProfile, hint: HeaderHint, names: NameScorer) -> ColumnVerdict | None:
    shares, full_names = _name_stats(tuple(p.sample), names)

    def verdict(
        entity: str,
        confidence: float,
        share: float,
        samples: tuple[str, ...],
        reason: str,
        strong: bool = False,
    ) -> ColumnVerdict:
        return ColumnVerdict(
            p.name,
            entity,
            confidence,
            share,
            samples,
            reason,
            strong_header=strong,
            name_shares=shares,
        )

    # Organisation names are evidence against people, weighed against the names found:
    # a fifth of organisations beside half unknown values is a business directory.
    if (shares["org"] >= 0.2 and shares["full"] < 0.5) or (
        shares["org"] >= 0.1 and shares["org"] >= shares["full"] and shares["first"] < 0.5
    ):
        return verdict("ORG", 0.7, shares["org"], (), "values name organisations")
    if hint.thing_name:
        return None
    # Countries that are also surnames ("Jordan", "Chad", "France") are places: a column
    # of them under a donor or owner header is a list of states, not of people.
    if p.sample and sum(map(is_country_name, p.sample)) >= 0.5 * len(p.sample):
        return None
    best = max(shares["full"], shares["first"], shares["last"])
    matched = full_names or p.sample
    if hint.entity == "PERSON" and hint.strong and shares["alpha"] >= 0.6 and best >= 0.3:
        return verdict(
            "PERSON",
            0.9,
            best,
            _pick(matched),
            f"header names people and {best:.0%} of values are known names",
            True,
        )
    if hint.entity == "PERSON" and (shares["full"] >= 0.4 or shares["first"] >= 0.5):
        return verdict(
            "PERSON",
            0.8,
            best,
            _pick(matched),
            f"header suggests names and {best:.0%} of values are names",
        )
    distinct = p.distinct_ratio
    if shares["full"] >= 0.6 and distinct >= 0.2:
        return verdict(
            "PERSON",
            0.75,
            shares["full"],
            _pick(matched),
            f"{shares['full']:.0%} of values read as full person names",
        )
    if shares["first"] >= 0.75 and shares["alpha"] >= 0.9 and len(set(p.sample)) >= 20:
        return verdict(
            "PERSON",
            0.6,
            shares["first"],
            _pick(p.sample),
            f"{shares['first']:.0%} of values are known given names",
        )
    return None


def _dates(p: ColumnProfile, hint: HeaderHint, today: dt.date) -> ColumnVerdict | None:
    if hint.event_date:
        return None
    says_birth = hint.entity == "DATE_OF_BIRTH"
    # "19900809" is read as a date with a birth header, or when nearly the whole column is
    # eight digits: then the ages the dates imply decide, as for any unlabelled dates.
    compact = says_birth or p.share("DIGITS8") >= 0.9
    stats = date_stats(p.sample, today, compact=compact)
    if stats.parsed < max(3, 0.3 * len(p.sample)):
        return None
    is_birth, why = birth_date_verdict(stats, says_birth)
    if not is_birth:
        return None
    return ColumnVerdict(
        p.name,
        "DATE_OF_BIRTH",
        0.9 if says_birth else 0.7,
        stats.share,
        _pick(p.sample),
        why,
        strong_header=says_birth,
    )


def _simple(p: ColumnProfile, hint: HeaderHint) -> ColumnVerdict | None:
    """Entities decided by a whole-cell shape, with or without a header."""
    h = hint.entity
    rules: list[tuple[str, str, float, float]] = [
        # (entity, shape, share needed with header, share needed without)
        ("EMAIL_ADDRESS", "EMAIL_ADDRESS", 0.3, 0.5),
        ("US_SSN", "US_SSN", 0.3, 0.5),
        ("PHONE_NUMBER", "PHONE_NUMBER", 0.3, 0.6),
        # Luhn passes one random figure in ten: a column is cards only when its header says so.
        ("CREDIT_CARD", "CREDIT_CARD", 0.5, 2.0),
        ("ADDRESS", "ADDRESS", 0.25, 0.5),
    ]
    if h == "US_SSN":
        rules.insert(0, ("US_SSN", "DIGITS9", 0.5, 2.0))
    elif h is None and p.share("DIGITS9") >= 0.9:
        bare = _bare_ssns(p)
        if bare is not None:
            return bare
    if h == "PHONE_NUMBER":
        rules.append(("PHONE_NUMBER", "DIGITS10", 0.5, 2.0))
    for entity, shape, with_header, without in rules:
        share = p.share(shape)
        if share < (with_header if h == entity else without):
            continue
        if entity == "PHONE_NUMBER" and h == entity:
            share = p.share("PHONE_NUMBER") + p.share("DIGITS10")
        matched = [v for v in p.sample if _CELL_RE[shape].search(v)]
        if entity == "ADDRESS":
            # "3200 - 3299 BLOCK OF ELM ST", "016XX E 86TH PL": a block locates an event.
            matched = [v for v in matched if not _BLOCK.search(v)]
            share = len(matched) / len(p.sample)
            if share < (with_header if h == entity else without):
                continue
        if entity in ("US_SSN", "CREDIT_CARD", "EMAIL_ADDRESS"):
            valid = valid_values(
                entity if shape != "DIGITS9" else "US_SSN_CONTEXT",
                [f"ssn {v}" if shape == "DIGITS9" else v for v in matched[:300]],
            )
            if len(valid) < 0.8 * min(len(matched), 300):
                continue
        verdict = ColumnVerdict(
            p.name,
            entity,
            0.9 if h == entity else 0.75,
            share,
            _pick(matched),
            f"{share:.0%} of values are shaped like {entity.lower().replace('_', ' ')}"
            + (" under a matching header" if h == entity else ""),
            home=hint.home,
            business=hint.thing_name,
            strong_header=hint.strong and h == entity,
        )
        if entity == "EMAIL_ADDRESS":
            free = sum(1 for v in matched if _FREEMAIL.search(v)) / max(1, len(matched))
            verdict = ColumnVerdict(**{**verdict.__dict__, "freemail_share": free})
        return verdict
    return None


def _cpf_ok(value: str) -> bool:
    """Return True for a Brazilian CPF number whose two check digits are right."""
    d = [int(c) for c in value if c.isdigit()]
    if len(d) != 11 or len(set(d)) == 1:
        return False
    for n in (9, 10):
        total = sum(x * w for x, w in zip(d[:n], range(n + 1, 1, -1), strict=True))
        if (total * 10 % 11) % 10 != d[n]:
            return False
    return True


def _national_ids(p: ColumnProfile, hint: HeaderHint) -> ColumnVerdict | None:
    """Brazilian CPF numbers: the check digits decide, with or without a header."""
    shaped = [v for v in p.sample if _CPF.match(v)]
    valid = [v for v in shaped if _cpf_ok(v)]
    need = 0.5 if hint.entity == "NATIONAL_ID" else 0.9
    if not p.sample or len(valid) < need * len(p.sample):
        return None
    return ColumnVerdict(
        p.name,
        "NATIONAL_ID",
        0.9 if hint.entity == "NATIONAL_ID" else 0.8,
        len(valid) / len(p.sample),
        _pick(valid),
        f"{len(valid) / len(p.sample):.0%} of values are Brazilian CPF numbers with valid "
        "check digits",
        strong_header=hint.entity == "NATIONAL_ID",
    )


def _phones_abroad(p: ColumnProfile, hint: HeaderHint) -> ColumnVerdict | None:
    """Phone numbers written the way other countries write them, under a phone header."""
    if hint.entity != "PHONE_NUMBER" or not p.sample:
        return None
    matched = [
        v for v in p.sample if _PHONE_CHARS.match(v) and 8 <= sum(c.isdigit() for c in v) <= 15
    ]
    share = len(matched) / len(p.sample)
    if share < 0.6:
        return None
    return ColumnVerdict(
        p.name,
        "PHONE_NUMBER",
        0.85,
        share,
        _pick(matched),
        f"{share:.0%} of values are phone numbers (8 to 15 digits) under a phone header",
        home=hint.home,
        business=hint.thing_name,
        strong_header=hint.strong,
    )


def _bare_ssns(p: ColumnProfile) -> ColumnVerdict | None:
    """Judge a column of bare 9-digit numbers with no header by how its numbers spread.

    SSNs are unique, pass the area/group/serial rules, scatter over hundreds of area
    numbers and follow no order. Case numbers count up; ZIP+4 codes share a few
    prefixes; both fail.
    """
    values = [v for v in p.sample if len(v) == 9 and v.isdigit()]
    if len(values) < 20 or p.distinct_ratio < 0.95:
        return None
    valid = valid_values("US_SSN_CONTEXT", [f"ssn {v}" for v in values[:300]])
    areas = {v[:3] for v in values}
    ordered = sum(1 for a, b in itertools.pairwise(values) if a < b) / (len(values) - 1)
    if len(valid) < 0.98 * min(len(values), 300) or len(areas) < 0.3 * len(values):
        return None
    if not 0.2 <= ordered <= 0.8:
        return None
    return ColumnVerdict(
        p.name,
        "US_SSN",
        0.75,
        len(values) / len(p.sample),
        _pick(values),
        "bare 9-digit numbers that pass the SSN area, group and serial rules, are unique, "
        f"spread over {len(areas)} area numbers and follow no order",
    )


def _ids(p: ColumnProfile, hint: HeaderHint) -> ColumnVerdict | None:
    """Licence and state ID numbers: shapes too common to trust without a header."""
    if hint.entity == "US_DRIVER_LICENSE":
        share = p.share("CA_DRIVER_LICENSE")
        alnum = sum(
            1
            for v in p.sample
            if re.fullmatch(r"[A-Za-z0-9\-]{5,15}", v) and any(c.isdigit() for c in v)
        ) / max(1, len(p.sample))
        if share >= 0.5 or (hint.strong and alnum >= 0.7):
            return ColumnVerdict(
                p.name,
                "US_DRIVER_LICENSE",
                0.85,
                max(share, alnum),
                _pick(p.sample),
                "header names driver's licences and values are licence-number shaped",
                strong_header=True,
            )
    if hint.entity == "STATE_ID" and p.share("STATE_ID") >= 0.5:
        return ColumnVerdict(
            p.name,
            "STATE_ID",
            0.85,
            p.share("STATE_ID"),
            _pick(p.sample),
            "header names state identification (CII/SID) numbers and values are shaped like them",
            strong_header=True,
        )
    # "I1234567" down a column is an ID with a prefix; licences start with many letters.
    letters = {v[0].upper() for v in p.sample if v[:1].isalpha()}
    if (
        hint.entity is None
        and p.share("CA_DRIVER_LICENSE") >= 0.9
        and p.distinct_ratio >= 0.9
        and (len(letters) >= 3 or len(p.sample) < 20)
    ):
        return ColumnVerdict(
            p.name,
            "US_DRIVER_LICENSE",
            0.5,
            p.share("CA_DRIVER_LICENSE"),
            _pick(p.sample),
            "values are unique and shaped like California "
            "driver's licence numbers (letter + 7 digits)",
        )
    return None


def _quasi(p: ColumnProfile, hint: HeaderHint) -> ColumnVerdict | None:
    h = hint.entity
    if p.share("HASH") >= 0.9:
        return ColumnVerdict(p.name, "HASH", 0.9, p.share("HASH"), reason="values are hashes")
    if h == "ZIP" and p.share("ZIP") >= 0.7:
        return ColumnVerdict(p.name, "ZIP", 0.9, p.share("ZIP"), reason="ZIP codes")
    if p.share("SEX") >= 0.9 and (h == "SEX" or len(set(p.sample)) <= 4):
        return ColumnVerdict(p.name, "SEX", 0.8, p.share("SEX"), reason="sex or gender")
    if h == "RACE":
        return ColumnVerdict(p.name, "RACE", 0.8, 1.0, reason="race or ethnicity")
    if h in ("AGE", "BIRTH_YEAR") and p.share("NUMBER") >= 0.8:
        return ColumnVerdict(p.name, h, 0.8, p.share("NUMBER"), reason=h.lower().replace("_", " "))
    return None


def _redacted(p: ColumnProfile, hint: HeaderHint) -> ColumnVerdict | None:
    if hint.entity in (None, "ZIP", "SEX", "RACE", "AGE", "BIRTH_YEAR") or not p.sample:
        return None
    redacted = sum(1 for v in p.sample if _REDACTED.search(v)) / len(p.sample)
    top = max(p.sample.count(v) for v in set(p.sample[:200])) / min(len(p.sample), 200)
    if redacted >= 0.8 or (hint.strong and top >= 0.9 and len(p.sample) >= 10):
        return ColumnVerdict(
            p.name,
            "REDACTED",
            0.5,
            redacted,
            reason=f"header names {hint.entity.lower().replace('_', ' ')} but "
            "its values are redacted or constant",
            header_entity=hint.entity,
        )
    return None


def classify_column(p: ColumnProfile, names: NameScorer, today: dt.date) -> ColumnVerdict:
    """Return what a column holds, with a reason."""
    return dataclasses.replace(_classify(p, names, today), distinct_ratio=p.distinct_ratio)


def _classify(p: ColumnProfile, names: NameScorer, today: dt.date) -> ColumnVerdict:
    hint = header_hint(p.name)
    if not p.sample:
        return ColumnVerdict(p.name, None, reason="empty column")
    for verdict in (
        _quasi(p, hint) if hint.entity in ("ZIP", "SEX", "RACE", "AGE", "BIRTH_YEAR") else None,
        _simple(p, hint),
        _national_ids(p, hint),
        _phones_abroad(p, hint),
        _ids(p, hint),
        _dates(p, hint, today),
        _redacted(p, hint),
        _person(p, hint, names),
        _quasi(p, hint),
    ):
        if verdict is not None:
            return verdict
    return ColumnVerdict(
        p.name, None, reason="no personal data recognised", business=hint.thing_name
    )
