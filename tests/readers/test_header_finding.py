"""Header rows are found when most cells are labels, and data rows are not taken for one."""

from __future__ import annotations

import pytest

from monitor.readers.tabular import find_header

_BODY = [["1", "SMITH", "JOHN"], ["2", "JONES", "MARY"], ["3", "BROWN", "ANA"]]


@pytest.mark.parametrize(
    ("rows", "header_row"),
    [
        ([["_", "name_last", "name_first"], *_BODY], 0),  # an underscore over row numbers
        ([["#", "Last Name", "First Name"], *_BODY], 0),
        ([["", "Crime Count", "population"], ["0", "3525", "54991"], ["1", "3063", "7194"]], 0),
        ([["Roster of officers", None, None], ["#", "last", "first"], *_BODY], 1),  # title row
        ([["case", "filed", "party", "status"], ["A1", "2021-01-01", "X", "open"]], 0),
        # Data rows: a number over numbers, names with a number, dates.
        ([["0", "SMITH", "JOHN"], *_BODY], None),
        ([["1", "SMITH", "JOHN", "2021-01-01"], ["2", "JONES", "MARY", "2021-01-02"]], None),
        ([["12", "14", "Fresno"], ["13", "15", "Kern"]], None),
    ],
)
def test_finds_header_when_most_cells_are_labels(
    rows: list[list[str | None]], header_row: int | None
) -> None:
    assert find_header(rows).header_row == header_row
