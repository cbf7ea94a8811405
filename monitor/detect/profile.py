"""Per-column statistics gathered over every chunk of a table.

A profile keeps a bounded sample of values (for shape and name checks), exact
counts from full passes (for needles hidden in free text), and nothing else.
Raw values live here only while a table is being scanned and never leave the
detector unmasked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from monitor.detect.shapes import cell_shares, find_needles

__all__ = ["ColumnProfile"]

SAMPLE_SIZE = 1000
_NEEDLE_KEEP = 200
#: Placeholders portals write for a missing value; they say nothing about the column.
_MISSING = frozenset({"NA", "N/A", "#N/A", "NULL", "NONE", "NAN", "-", "--", ".", "?", "NIL"})


@dataclass
class ColumnProfile:
    """What leakmon knows about one column so far.

    Attributes:
        name: the column header (or dotted path).
        rows: rows seen, empty cells included.
        filled: non-empty cells seen.
        sample: up to ``SAMPLE_SIZE`` non-empty values, spread over the first chunk.
        distinct_ratio: distinct / non-empty values in the first chunk.
        shapes: whole-cell shape counts over the sample.
        needles: per needle kind, matches over every row and up to 200 matched strings.
        needle_pass: whether full-pass needle search ran on this column.
    """

    name: str
    rows: int = 0
    filled: int = 0
    sample: list[str] = field(default_factory=list)
    distinct_ratio: float = 0.0
    shapes: dict[str, int] = field(default_factory=dict)
    needles: dict[str, tuple[int, list[str]]] = field(default_factory=dict)
    needle_pass: bool = False

    def add_sample(self, values: pl.Series) -> None:
        """Take a spread sample from a chunk while the sample is not full."""
        if len(self.sample) >= SAMPLE_SIZE:
            return
        filled = values.drop_nulls()
        if filled.len() == 0:
            return
        if not self.sample:
            self.distinct_ratio = filled.n_unique() / filled.len()
        room = SAMPLE_SIZE - len(self.sample)
        step = max(1, filled.len() // room)
        taken = (v.strip() for v in filled.gather_every(step).head(room * 2).to_list())
        self.sample.extend([v for v in taken if v and v.upper() not in _MISSING][:room])
        self.shapes = cell_shares(_series(self.sample))

    def add_counts(self, values: pl.Series) -> None:
        """Count rows and non-empty cells of a chunk."""
        self.rows += values.len()
        self.filled += int(values.str.len_bytes().gt(0).sum())

    def add_needles(self, values: pl.Series) -> None:
        """Search every cell of a chunk for identifiers hidden in text."""
        self.needle_pass = True
        for kind, (count, found) in find_needles(values, _NEEDLE_KEEP).items():
            old_count, old_found = self.needles.get(kind, (0, []))
            keep = old_found + found[: max(0, _NEEDLE_KEEP - len(old_found))]
            self.needles[kind] = (old_count + count, keep)

    def share(self, shape: str) -> float:
        """Return the share of sampled values having a whole-cell shape."""
        return self.shapes.get(shape, 0) / len(self.sample) if self.sample else 0.0

    @property
    def mean_length(self) -> float:
        """Return the mean length of sampled values."""
        return sum(map(len, self.sample)) / len(self.sample) if self.sample else 0.0

    @property
    def is_free_text(self) -> bool:
        """Say whether the column reads like notes or comments rather than codes."""
        if not self.sample:
            return False
        wordy = sum(1 for v in self.sample if v.count(" ") >= 3)
        return self.mean_length >= 25 and wordy / len(self.sample) >= 0.5


def _series(values: list[str]) -> pl.Series:
    return pl.Series("v", values, dtype=pl.String)
