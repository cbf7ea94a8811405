"""A table's schema as a baseline remembers it: column names, value types, entity classes.

No values are kept: a type (``number``, ``date``, ``text``) and the personal-data
class the detector gave each column are enough to tell when a later version of
a file adds a column of names or turns an aggregate table into row-level data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.detect.dates import parse_year
from monitor.models import PERSONAL_ENTITIES as _PERSONAL
from monitor.models import ColumnSchema, TableSchema

if TYPE_CHECKING:
    import datetime as dt

    from monitor.detect.classify import ColumnVerdict
    from monitor.detect.profile import ColumnProfile
    from monitor.models import Finding

__all__ = ["table_schema"]

_TYPE_SAMPLE = 200


def _value_type(profile: ColumnProfile, today: dt.date) -> str:
    sample = profile.sample[:_TYPE_SAMPLE]
    if not sample:
        return "empty"
    if profile.share("NUMBER") >= 0.9:
        return "number"
    dates = sum(1 for v in sample if parse_year(v, today) is not None)
    return "date" if dates >= 0.8 * len(sample) else "text"


def table_schema(
    name: str | None,
    rows: int,
    profiles: dict[str, ColumnProfile],
    verdicts: dict[str, ColumnVerdict],
    findings: list[Finding],
    today: dt.date,
) -> TableSchema:
    """Return the schema of a scanned table.

    A table is row-level when a column holds personal data of people (not of
    organisations) or its rows are unique by quasi-identifiers; otherwise it is
    an aggregate or a code list.
    """
    columns = tuple(
        ColumnSchema(col, _value_type(p, today), verdicts[col].entity)
        for col, p in profiles.items()
    )
    personal = any(v.entity in _PERSONAL and not v.business for v in verdicts.values())
    unique_rows = any(f.entity == "REIDENTIFICATION" for f in findings)
    return TableSchema(name, columns, personal or unique_rows, rows)
