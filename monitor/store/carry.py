"""The HTML rotation's carry-over, kept in the store so a restart continues the rotation.

A plain-site poll cut short by its request budget hands the files it could not
fetch to the next poll, which fetches them first (``monitor.crawl.carry``).
Kept in memory only, a restart forgot them and began again with the site's own
order, so the same tail could go unchecked poll after poll across restarts.
One row per target holds the list (URL, portal, dataset, title, referer: what
the crawl found, never a file's content), replaced after every poll.
"""

from __future__ import annotations

import datetime as dt  # noqa: TC003  (SQLAlchemy resolves Mapped[...] annotations at runtime)
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, select, update
from sqlalchemy.orm import Mapped, mapped_column

from monitor.store.columns import JSONDocument
from monitor.store.newest import newest_wins
from monitor.store.schema import Base
from monitor.store.upsert import insert_if_absent

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["CarryRow", "carried", "save_carry"]

#: The fields of one carried file; anything else in a stored entry is dropped.
FIELDS = ("url", "portal", "dataset", "title", "referer")
#: Entries kept per target at most: a carry-over is at most one poll's budget of files.
MAX_ENTRIES = 100_000


class CarryRow(Base):
    """The files a target's last poll could not fetch for its budget (one process)."""

    __tablename__ = "carry_over"

    target: Mapped[str] = mapped_column(String(200), primary_key=True)
    # Any: a JSON list of {url, portal, dataset, title, referer} (found links, no values).
    entries: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    saved_at: Mapped[dt.datetime]


def save_carry(
    session: Session, target: str, entries: list[dict[str, str | None]], at: dt.datetime
) -> None:
    """Replace a target's carry-over (empty: none) unless a newer one is stored.

    Two polls' saves run on the daemon's worker threads and may land out of order; the
    one saved ``at`` the later time wins, so a late write never brings back a tail that
    the next poll fetched. An empty carry-over is kept as an empty row for that reason.
    A stored time still in the future does not win (``monitor.store.newest``).
    """
    kept = [{k: e.get(k) for k in FIELDS} for e in entries[:MAX_ENTRIES] if e.get("url")]
    insert_if_absent(
        session, CarryRow, {"target": target, "entries": [], "saved_at": at}, ["target"]
    )
    session.execute(
        update(CarryRow)
        .where(CarryRow.target == target, newest_wins(CarryRow.saved_at, at))
        .values(entries=kept, saved_at=at)
    )


def carried(session: Session) -> dict[str, list[dict[str, str | None]]]:
    """Return every target's stored carry-over; malformed entries are skipped."""
    out: dict[str, list[dict[str, str | None]]] = {}
    for target, entries in session.execute(select(CarryRow.target, CarryRow.entries)):
        kept = [
            {k: (str(e[k]) if e.get(k) is not None else None) for k in FIELDS}
            for e in (entries if isinstance(entries, list) else [])
            if isinstance(e, dict) and isinstance(e.get("url"), str) and e["url"]
        ]
        if kept:
            out[target] = kept
    return out
