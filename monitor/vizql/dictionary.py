"""Decode an ``underlyingDataTable`` against the session's data dictionary into a polars frame.

Example::

    from monitor.vizql.bootstrap import parse_bootstrap
    from monitor.vizql.commands import underlying_table
    from monitor.vizql.dictionary import decode_table

    boot = parse_bootstrap(bootstrap_body)
    table = underlying_table(command_response)
    decoded = decode_table(table, boot.segments)
    decoded.frame  # one String column per fieldCaption, null for Tableau's %null%
    decoded.capped  # numRows says more rows than the response holds

The rules, from bertrandmartel/tableau-scraping (tableauscraper/utils.py
``getDataFullCmdResponse``, ``onDataValue``, ``getData``; TableauWorksheet.py
``updateFullData``) and the recorded real responses in its
tests/python/test_common.py (``tableauDownloadableUnderlyingData``,
``tableauDownloadableSummaryData``):

- Values live in numbered segments, one list per ``dataType`` each. The session keeps
  the segments it has received (bootstrap's ``"0"`` first); a response's segments are
  merged in, a key it repeats replacing the session's, and each type's lists are
  concatenated in segment order.
- A column's ``valueIndices`` index its ``dataType``'s list; a negative index ``-k``
  means ``cstring[k - 1]`` (recorded: ``-140`` → ``"%null%"`` in a ``real`` column).
- ``"%null%"`` is Tableau's null; the formatted ``"Null"`` is ignored with the rest of
  ``formatValIdxs``: leakmon scans values, not their display format.
- ``aliasIndices``: ``-1`` means no alias (every unaliased recorded column carries
  it); ``k >= 0`` is the alias ``cstring[k]`` (recorded on ``Measure Names``); other
  negative ``-k`` are ``cstring[k - 1]`` (tableau-scraping's rule). An alias replaces
  the value, as Tableau shows it.
- Values become text column by column: strings as they are, integers in decimal,
  reals without a trailing ``.0`` when whole, booleans ``true``/``false``, dates
  and datetimes as sent (``2021-06-16``, ``2021-06-16 00:00:00``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from monitor.errors import FileTooLarge, TableauProtocolError
from monitor.vizql.segments import merge_segments, value_lists

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "NULL_VALUE",
    "DecodedTable",
    "decode_table",
]

#: Tableau's null in the data dictionary (its formatted form is "Null").
NULL_VALUE = "%null%"
_NO_ALIAS = -1


@dataclass(frozen=True, eq=False)
class DecodedTable:
    """One decoded underlying or summary data table.

    Attributes:
        columns: the column captions, made unique (``Name``, ``Name (2)``).
        frame: one String column per caption, in order; null where Tableau has null.
        declared_rows: the table's ``numRows``, when it has one.
    """

    columns: tuple[str, ...]
    frame: pl.DataFrame
    declared_rows: int | None = None

    @property
    def capped(self) -> bool:
        """Say whether the server holds more rows than it sent (``numRows`` > rows present)."""
        return self.declared_rows is not None and self.declared_rows > self.frame.height


def decode_table(
    table: Mapping[str, Any],
    session_segments: Mapping[str, Any] | None = None,
    *,
    max_rows: int | None = None,
    max_columns: int | None = None,
) -> DecodedTable:
    """Decode an ``underlyingDataTable`` with the session's segments into text columns.

    Raises:
        TableauProtocolError: a key is missing or of the wrong type, an index points
            outside the dictionary, or the columns differ in length.
        FileTooLarge: the table has more rows or columns than the limits allow.
    """
    spec = table.get("underlyingDataTableColumns")
    if not isinstance(spec, list):
        raise TableauProtocolError("underlyingDataTable has no 'underlyingDataTableColumns' list")
    if max_columns is not None and len(spec) > max_columns:
        raise FileTooLarge(
            f"Tableau table has {len(spec)} columns, over the limit of {max_columns}"
        )
    dictionary = table.get("dataDictionary") or {}
    if not isinstance(dictionary, dict):
        raise TableauProtocolError("underlyingDataTable 'dataDictionary' is not an object")
    segments = merge_segments(session_segments, dictionary.get("dataSegments"))
    lookups = _Lookups(value_lists(segments))
    declared = table.get("numRows")
    declared_rows = declared if isinstance(declared, int) and declared >= 0 else None
    names = _captions(spec)
    series: list[pl.Series] = []
    height: int | None = None
    for number, (name, column) in enumerate(zip(names, spec, strict=True)):
        values = _decode_column(number, name, column, lookups, max_rows)
        if height is not None and values.len() != height:
            raise TableauProtocolError(
                f"column {number} has {values.len()} values, column 0 has {height}"
            )
        height = values.len()
        series.append(values)
    return DecodedTable(tuple(names), pl.DataFrame(series), declared_rows)


class _Lookups:
    """Per-type value lists as text Series, built once per table and type."""

    def __init__(self, lists: dict[str, list[Any]]) -> None:
        self._lists = lists
        self._text: dict[str, pl.Series] = {}
        self._with_cstring: dict[str, pl.Series] = {}

    def text(self, data_type: str) -> pl.Series:
        """Return a type's values as text (nulls for ``%null%``)."""
        found = self._text.get(data_type)
        if found is None:
            found = self._text[data_type] = _as_text(data_type, self._lists.get(data_type, []))
        return found

    def has(self, data_type: str) -> bool:
        """Say whether the dictionary holds values of this type."""
        return data_type in self._lists

    def with_cstring(self, data_type: str) -> pl.Series:
        """Return a type's values followed by the cstring values (for negative indices)."""
        found = self._with_cstring.get(data_type)
        if found is None:
            found = pl.concat([self.text(data_type), self.text("cstring")])
            self._with_cstring[data_type] = found
        return found


def _decode_column(
    number: int,
    name: str,
    column: Any,  # Any: untrusted JSON, checked here
    lookups: _Lookups,
    max_rows: int | None,
) -> pl.Series:
    """Return one column's values as text, aliases applied."""
    if not isinstance(column, dict):
        raise TableauProtocolError(f"column {number} is not an object")
    data_type = column.get("dataType")
    if not isinstance(data_type, str):
        raise TableauProtocolError(f"column {number} has no 'dataType' string")
    indices = _indices(number, "valueIndices", column.get("valueIndices"))
    if max_rows is not None and len(indices) > max_rows:
        raise FileTooLarge(f"Tableau table has {len(indices)} rows, over the limit of {max_rows}")
    cstring_count = lookups.text("cstring").len()
    if data_type == "cstring" or not lookups.has(data_type):
        # tableau-scraping falls back to the cstring list for a type the dictionary lacks.
        lookup = lookups.text("cstring")
        typed_count = cstring_count
    else:
        lookup = lookups.with_cstring(data_type)
        typed_count = lookups.text(data_type).len()
    _check_bounds(number, "valueIndices", indices, typed_count, cstring_count)
    # -k is cstring[k - 1]: in the cstring list itself, or after the typed values.
    shift = 0 if lookup is lookups.text("cstring") else typed_count
    positions = np.where(indices >= 0, indices, shift - indices - 1) if len(indices) else indices
    values = lookup.gather(pl.Series("p", positions, dtype=pl.Int64))
    aliases = column.get("aliasIndices")
    if isinstance(aliases, list | np.ndarray) and len(aliases):
        values = _apply_aliases(number, values, aliases, lookups.text("cstring"))
    return values.alias(name)


def _apply_aliases(
    number: int,
    values: pl.Series,
    aliases: Any,  # Any: a JSON list or a numpy array from fastload
    cstring: pl.Series,
) -> pl.Series:
    """Replace values by their aliases where the column has any (``-1`` = none)."""
    alias = _indices(number, "aliasIndices", aliases)
    if len(alias) != values.len():
        raise TableauProtocolError(
            f"column {number} has {len(alias)} aliasIndices for {values.len()} values"
        )
    has_alias = alias != _NO_ALIAS
    if not has_alias.any():
        return values
    _check_bounds(number, "aliasIndices", alias, cstring.len(), cstring.len())
    positions = np.where(alias >= 0, alias, -alias - 1)
    aliased = cstring.gather(pl.Series("p", np.where(has_alias, positions, 0), dtype=pl.Int64))
    return (
        pl.DataFrame([pl.Series("m", has_alias), aliased.alias("x"), values.alias("v")])
        .select(pl.when(pl.col("m")).then(pl.col("x")).otherwise(pl.col("v")))
        .to_series()
    )


def _indices(number: int, key: str, raw: Any) -> np.ndarray[Any, np.dtype[np.int64]]:  # Any: JSON
    """Return an index list as an int64 array, refusing anything but a list of integers.

    ``monitor.vizql.fastload`` hands over numpy ``int64`` arrays instead of lists.
    """
    if isinstance(raw, np.ndarray) and raw.dtype == np.int64 and raw.ndim == 1:
        return raw
    if not isinstance(raw, list):
        raise TableauProtocolError(f"column {number} has no '{key}' list")
    if not all(type(item) is int for item in raw):
        raise TableauProtocolError(f"column {number} '{key}' holds a non-integer")
    try:
        return np.array(raw, dtype=np.int64)
    except OverflowError:
        raise TableauProtocolError(f"column {number} '{key}' holds a non-integer") from None


def _check_bounds(
    number: int,
    key: str,
    indices: np.ndarray[Any, np.dtype[np.int64]],
    typed_count: int,
    cstring_count: int,
) -> None:
    """Refuse indices outside the dictionary (tableau-scraping drops them silently)."""
    if len(indices) == 0:
        return
    high = int(indices.max())
    low = int(indices.min())
    if high >= typed_count:
        raise TableauProtocolError(
            f"column {number} {key} point past the dictionary (index {high}, {typed_count} values)"
        )
    if low < 0 and -low > cstring_count:
        raise TableauProtocolError(
            f"column {number} {key} point past the cstring list "
            f"(index {low}, {cstring_count} strings)"
        )


def _captions(spec: list[Any]) -> list[str]:
    """Return unique column names: the caption, else the field name, else ``column_<n>``."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for number, column in enumerate(spec):
        caption = column.get("fieldCaption") if isinstance(column, dict) else None
        if not isinstance(caption, str) or not caption:
            field = column.get("fn") if isinstance(column, dict) else None
            caption = field if isinstance(field, str) and field else f"column_{number + 1}"
        count = seen.get(caption, 0) + 1
        seen[caption] = count
        names.append(caption if count == 1 else f"{caption} ({count})")
    return names


def _as_text(data_type: str, values: list[Any]) -> pl.Series:
    """Return a dictionary list as text, with ``%null%`` and JSON nulls as null."""
    if data_type in ("cstring", "date", "datetime"):
        try:
            series = pl.Series(data_type, values, dtype=pl.String, strict=True)
        except (TypeError, ValueError, pl.exceptions.PolarsError):
            series = pl.Series(data_type, _texts(values), dtype=pl.String)
    else:
        series = pl.Series(data_type, _texts(values), dtype=pl.String)
    if data_type == "cstring":
        series = series.set(series == NULL_VALUE, None)
    return series


def _texts(values: Iterable[Any]) -> list[str | None]:
    """Return each dictionary value as text."""
    return [_text(value) for value in values]


def _text(value: Any) -> str | None:  # Any: untrusted JSON scalar
    """Return one dictionary value as text."""
    if value is None:
        return None
    if isinstance(value, str):
        return None if value == NULL_VALUE else value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
