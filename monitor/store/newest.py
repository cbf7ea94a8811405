"""Newest-wins saves for per-target state written from the daemon's worker threads.

The carry-over, the walk cursor and the coverage are each saved after a poll on a worker
thread, so two polls' saves can land out of order behind a slow store. Each save carries
the time its poll ended; the stored one is replaced only by a save at least as new. A
stored time still in the future is a clock that was set back: it does not win, or that
state would stop being saved until the clock caught up.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import or_

if TYPE_CHECKING:
    from sqlalchemy.orm import InstrumentedAttribute
    from sqlalchemy.sql.elements import ColumnElement

__all__ = ["is_superseded", "newest_wins"]


def newest_wins(
    stored: InstrumentedAttribute[dt.datetime] | InstrumentedAttribute[dt.datetime | None],
    at: dt.datetime,
) -> ColumnElement[bool]:
    """Return the WHERE clause under which a save made ``at`` may replace the stored row."""
    return or_(stored.is_(None), stored <= at, stored > dt.datetime.now(dt.UTC))


def is_superseded(at: dt.datetime | None, stored: dt.datetime | None) -> bool:
    """Say whether a save made ``at`` must leave the row saved ``stored`` alone (unknown: no)."""
    if at is None or stored is None:
        return False
    return at < stored <= dt.datetime.now(dt.UTC)
