"""Value shapes checked over whole columns at compiled-regex speed.

Presidio runs its regexes one cell at a time in Python; on a 200,000-row file
that is minutes. These shapes run in polars' Rust regex engine over a whole
column at once, and only the few cells that match go on to Presidio's
validation hooks (checksums, invalid ranges) in ``validate.py``.

Two uses: ``CELL`` shapes say what a whole cell looks like (a column of them
is a column of that entity); ``NEEDLES`` find an identifier inside free text
anywhere in a column, so a handful of SSNs in 60,000 notes is not missed by
sampling.
"""

from __future__ import annotations

import polars as pl

__all__ = [
    "CELL",
    "LINKS",
    "NEEDLES",
    "NEEDLE_UNION",
    "STREET_SUFFIXES",
    "cell_shares",
    "find_needles",
]

STREET_SUFFIXES = (
    "aly alley anx annex arc arcade av ave aven avenue avn bayou bch beach bnd bend blf bluff "
    "blfs bluffs btm bottom blvd boulevard br branch brg bridge brk brook brks brooks burg "
    "byp bypass camp cp cyn canyon cpe cape cswy causeway ctr center centre cir circle circles "
    "clf cliff clfs cliffs clb club common cor corner corners crse course ct court cts courts "
    "cv cove coves crk creek cres crescent crst crest xing crossing crossroad curve dl dale dm "
    "dam dv divide dr drive drs drives est estate estates expy expressway ext extension fall "
    "falls fry ferry fld field flds fields flt flat flts flats frd ford frst forest forge fork "
    "forks ft fort fwy freeway gdn garden gdns gardens gtwy gateway gln glen glens grn green "
    "greens grv grove groves hbr harbor harbors hvn haven hts heights hwy highway hl hill hls "
    "hills holw hollow inlt inlet is island isle jct junction jcts junctions ky key keys knl "
    "knoll knls knolls lk lake lks lakes land lndg landing ln lane lgt light lgts lights lf "
    "loaf lck lock lcks locks ldg lodge loop mall mnr manor mnrs manors mdw meadow mdws meadows "
    "mews ml mill mls mills msn mission mtwy motorway mt mount mtn mountain mtns mountains nck "
    "neck orch orchard oval opas overpass park parks pkwy parkway parkways pass psge passage "
    "path pike pne pine pnes pines pl place pln plain plns plains plz plaza pt point pts points "
    "prt port prts ports pr prairie radl radial ramp rnch ranch rpd rapid rpds rapids rst rest "
    "rdg ridge rdgs ridges riv river rd road rds roads rte route row rue run shl shoal shls "
    "shoals shr shore shrs shores skwy skyway spg spring spgs springs spur spurs sq square sqs "
    "squares sta station stra stravenue strm stream st street sts streets smt summit ter "
    "terrace trwy throughway trce trace trak track trfy trafficway trl trail trlr trailer "
    "tunl tunnel tpke turnpike upas underpass un union uns unions vly valley vlys valleys via "
    "viaduct vw view vws views vlg village vlgs villages vl ville vis vista walk walks wall way "
    "ways wl well wls wells"
).split()

_SUFFIX_ALT = "|".join(sorted(set(STREET_SUFFIXES), key=len, reverse=True))

#: Whole-cell shapes. Rust regex syntax (no look-around).
CELL: dict[str, str] = {
    "EMAIL_ADDRESS": r"(?i)^[a-z0-9._%+\-']+@[a-z0-9.\-]+\.[a-z]{2,24}$",
    "US_SSN": r"^\d{3}[- .]\d{2}[- .]\d{4}$",
    "DIGITS9": r"^\d{9}$",
    "DIGITS8": r"^\d{8}$",
    "PHONE_NUMBER": (
        r"^(?:\+?1[\s.\-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.\-])\d{3}[\s.\-]\d{4}"
        r"(?:\s*(?:x|ext\.?)\s*\d{1,5})?$"
    ),
    "DIGITS10": r"^(?:\+?1)?\d{10}$",
    "CREDIT_CARD": r"^(?:\d{4}[ \-]?){3}\d{1,7}$",
    "ZIP": r"^\d{5}(?:-\d{4})?$",
    "CA_DRIVER_LICENSE": r"^[A-Za-z]\d{7}$",
    "STATE_ID": r"^(?:[A-Za-z]\d{8}|\d{8,10})$",
    "ADDRESS": (
        r"(?i)^(?:\d{1,6}[a-z]?(?:-\d{1,4})?\s+(?:[nsew]\.?\s+|north\s+|south\s+|east\s+|west\s+)?"
        r"(?:[a-z0-9.'\-]+\s+){0,5}(?:" + _SUFFIX_ALT + r")\b\.?"
        r"|p\.?\s?o\.?\s+box\s+\d+)"
    ),
    "HASH": r"(?i)^[0-9a-f]{32,128}$",
    "SEX": r"(?i)^(?:m|f|male|female|x|u|unknown|non-binary|nonbinary)$",
    "NUMBER": r"^[+\-]?\d+(?:[.,]\d+)?$",
}

#: Identifiers searched for anywhere inside a cell, over every row.
NEEDLES: dict[str, str] = {
    "US_SSN": r"\b\d{3}-\d{2}-\d{4}\b|\b\d{3} \d{2} \d{4}\b",
    "US_SSN_CONTEXT": r"(?i)(?:ssn|social security|soc\.? sec\.?|ss#)\D{0,20}\d{9}\b",
    "EMAIL_ADDRESS": r"(?i)\b[a-z0-9._%+\-]+@[a-z0-9.\-]+\.[a-z]{2,24}\b",
    "PHONE_NUMBER": r"(?:\(\d{3}\)\s?|\b\d{3}[.\-])\d{3}[.\-]\d{4}\b",
    # A 16-digit figure passes the Luhn check one time in ten: only a number that text
    # calls a card is one ("Visa 4111 1111 1111 1111", "card no. 5500-0000-0000-0004").
    "CREDIT_CARD": (
        r"(?i)(?:card|visa|master\s?card|amex|american express|discover|tarjeta|\bcc\b)"
        r"\D{0,30}(?:\b(?:\d{4}[ \-]){3}\d{4}\b|\b\d{4}[ \-]\d{6}[ \-]\d{5}\b)"
    ),
}

#: Links and file names: digits inside them ("/2019/123-45-2019.pdf") are no identifiers.
LINKS = (
    r"(?i)\b(?:https?://|www\.)\S+|[\w\-./]+\.(?:pdf|docx?|xlsx?|csv|zip|txt|jpe?g|png|gif|html?)\b"
)

_CARD_DIGITS = r"\b(?:\d{4}[ \-]){3}\d{4}\b|\b\d{4}[ \-]\d{6}[ \-]\d{5}\b"
#: One pass over every row keeps the cells that may hold a needle. Cards enter it by
#: their digits alone, so the pass stays a digit search; their context is checked on
#: the few cells it keeps.
NEEDLE_UNION = "|".join(
    f"(?:{_CARD_DIGITS if kind == 'CREDIT_CARD' else p})" for kind, p in NEEDLES.items()
)


def cell_shares(values: pl.Series) -> dict[str, int]:
    """Count, for each whole-cell shape, how many non-null values have it."""
    values = values.drop_nulls()
    if values.len() == 0:
        return {}
    frame = pl.DataFrame({"v": values}).select(
        [pl.col("v").str.contains(p).sum().alias(name) for name, p in CELL.items()]
    )
    row = frame.row(0, named=True)
    return {name: int(count or 0) for name, count in row.items()}


def find_needles(values: pl.Series, keep: int = 200) -> dict[str, tuple[int, list[str]]]:
    """Find identifiers inside cells over a whole column.

    Returns, per needle kind that occurs, the number of matches and up to
    ``keep`` matched strings (held in memory only, for validation and masking).
    """
    hits = values.drop_nulls()
    hits = hits.filter(hits.str.contains(NEEDLE_UNION))
    found: dict[str, tuple[int, list[str]]] = {}
    if hits.len() == 0:
        return found
    hits = hits.str.replace_all(LINKS, " ")
    for name, pattern in NEEDLES.items():
        matches = hits.str.extract_all(pattern).explode().drop_nulls()
        if matches.len():
            found[name] = (matches.len(), matches.head(keep).to_list())
    return found
