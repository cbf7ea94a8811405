"""Names of people as column headers over counts are the labels of a cross-tabulation."""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING

import polars as pl

from monitor.detect.names import NameLists
from monitor.identifiers import IdentifierGuard
from monitor.models import Severity, Table
from monitor.scan import scan_path

if TYPE_CHECKING:
    from pathlib import Path


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _table(columns: dict[str, list[str]]) -> Table:
    return Table(source="t.csv", name=None, frame=pl.DataFrame(columns))


def _name_findings(path: Path) -> list[object]:
    report = scan_path(path)
    return [f for f in report.findings if f.column is None and f.entity == "PERSON"]


def test_candidates_over_vote_counts_are_no_personal_header(tmp_path: Path) -> None:
    rows = [["County", "Jack Seaman", "Kevin Cramer", "Write-in", "TOTALS"]]
    rows += [
        [f"County {i}", str(50 + i), f"{900 + i} - 8{i % 10}.5%", "0", "1000"] for i in range(30)
    ]
    path = _write(tmp_path / "results.csv", rows)
    assert _name_findings(path) == []
    assert scan_path(path).worst is None or scan_path(path).worst < Severity.MEDIUM


def test_names_over_text_are_no_count_labels() -> None:
    guard = IdentifierGuard(NameLists.default())
    counts = {"Jack Seaman": ["58", "1,003"], "Kevin Cramer": ["12 (3.1%)", "7"]}
    assert guard.count_labels(_table(counts)) == {"Jack Seaman", "Kevin Cramer"}
    words = {"Jack Seaman": ["58", "1,003"], "Kevin Cramer": ["Linda Miller", "James Wilson"]}
    assert guard.count_labels(_table(words)) == frozenset()
    assert guard.count_labels(_table({"Jack Seaman": ["58", "7"], "Total": ["58", "7"]})) == set()


def test_one_name_over_counts_is_still_personal(tmp_path: Path) -> None:
    rows = [["Region", "Mary Jones", "Total"]] + [[f"R{i}", str(i), str(i)] for i in range(30)]
    assert _name_findings(_write(tmp_path / "one.csv", rows))
