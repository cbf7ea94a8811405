"""Re-identification risk: k-anonymity over a table's quasi-identifiers.

A file with no names can still point at one person: 87% of Americans are
unique by birth date, ZIP code and sex. Counting how many rows share each
combination of quasi-identifiers tells whether rows single people out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import polars as pl

__all__ = ["KAnonymity", "ReidResult"]

logger = logging.getLogger(__name__)

_MAX_GROUPS = 5_000_000


@dataclass(frozen=True)
class ReidResult:
    """How identifying a table's quasi-identifier combinations are.

    Attributes:
        columns: the quasi-identifier columns used.
        rows: rows counted (rows with every quasi-identifier empty are skipped).
        unique_rows: rows whose combination no other row shares (k = 1).
        k_min: the smallest group size.
        complete: False when counting stopped at the group bound.
    """

    columns: tuple[str, ...]
    rows: int
    unique_rows: int
    k_min: int
    complete: bool = True

    @property
    def unique_share(self) -> float:
        """Return the share of rows that are unique."""
        return self.unique_rows / self.rows if self.rows else 0.0


class KAnonymity:
    """Count quasi-identifier combinations over every chunk of a table."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns
        self._counts: pl.DataFrame | None = None
        self._complete = True

    def add(self, frame: pl.DataFrame) -> None:
        """Add a chunk's rows to the counts."""
        if not self._complete:
            return
        part = (
            frame.select(self.columns)
            .filter(~pl.all_horizontal(pl.all().is_null()))
            .group_by(self.columns)
            .agg(pl.len().alias("_n"))
        )
        if self._counts is None:
            self._counts = part
        else:
            self._counts = (
                pl.concat([self._counts, part]).group_by(self.columns).agg(pl.col("_n").sum())
            )
        if self._counts.height > _MAX_GROUPS:
            logger.warning(
                "k-anonymity stopped counting at %d quasi-identifier groups", self._counts.height
            )
            self._complete = False

    def result(self) -> ReidResult:
        """Return the k-anonymity of the rows counted."""
        if self._counts is None or self._counts.height == 0:
            return ReidResult(tuple(self.columns), 0, 0, 0, self._complete)
        n = self._counts["_n"]
        return ReidResult(
            columns=tuple(self.columns),
            rows=int(n.sum()),
            unique_rows=int((n == 1).sum()),
            k_min=int(n.min()),  # type: ignore[arg-type]  # polars types min() loosely
            complete=self._complete,
        )
