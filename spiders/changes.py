"""Change feeds: when a catalogue entry last changed, read from the shapes portals write it in."""

from __future__ import annotations

import datetime as dt

__all__ = ["moment"]


def moment(value: object, *, end_of_day: bool = False) -> dt.datetime | None:
    """Return a portal's modification time as an aware UTC time, or ``None``.

    Portals write it as ISO 8601 text (CKAN ``metadata_modified``, Socrata
    ``updatedAt``, DCAT ``modified``; with or without a zone, which is then
    UTC) or as epoch milliseconds (ArcGIS ``editingInfo.lastEditDate``). A date
    alone stands for the end of that day when ``end_of_day`` (so an entry
    changed "today" is not missed), else its start; a repeating interval
    (``R/P1D``), a boolean or an impossible value is no time.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return dt.datetime.fromtimestamp(value / 1000, dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            when = dt.datetime.combine(day, dt.time.max if end_of_day else dt.time.min)
        else:
            when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)
