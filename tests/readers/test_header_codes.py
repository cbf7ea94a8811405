"""A header of labels followed by column codes (years, precinct numbers) is a header."""

from __future__ import annotations

import pytest

from monitor.readers.tabular import find_header

_VOTES = [
    ["PRESIDENT", "REP", "MCCAIN", "166", "358", "183", "707"],
    ["PRESIDENT", "DEM", "OBAMA", "249", "545", "342", "1136"],
    ["CONGRESS", "DEM", "POMEROY", "250", "541", "340", "1131"],
]


@pytest.mark.parametrize(
    ("rows", "header_row"),
    [
        # A canvass: precinct numbers head the vote columns, a TOTAL label closes the row.
        ([["OFFICE", "PARTY", "CANDIDATE", "22401", "22402", "22006", "TOTAL"], *_VOTES], 0),
        # A wide statistical table: years head the value columns.
        (
            [["Country", "Code", "2010", "2011", "2012"], ["Albania", "ALB", "45", "49.5", "54.7"]],
            0,
        ),
        # Data rows stay data: counts no larger than the numbers below, short numbers,
        # repeated codes, or a single label in front.
        (
            [["SMITH", "JOHN", "1200", "4500", "3300"], ["JONES", "MARY", "1400", "5000", "3100"]],
            None,
        ),
        ([["SMITH", "JOHN", "12", "45", "33"], ["JONES", "MARY", "1", "5", "3"]], None),
        ([["A", "B", "2010", "2010", "2011"], ["x", "y", "1", "2", "3"]], None),
        ([["Total", "2010", "2011", "2012"], ["x", "1", "2", "3"]], None),
    ],
)
def test_labels_then_column_codes_make_a_header(
    rows: list[list[str | None]], header_row: int | None
) -> None:
    assert find_header(rows).header_row == header_row
