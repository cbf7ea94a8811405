"""Merge a session's data segments and list each type's values: plain Python, no polars.

The crawl keeps a Tableau session's segments as they arrive (``merge_segments``);
only the scan worker decodes them into a frame (``monitor.vizql.dictionary``). Kept
apart so the daemon, which only merges, never loads polars and numpy (about 20 MB
of its memory) for it. The rules are ``monitor.vizql.dictionary``'s docstring's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from monitor.errors import TableauProtocolError

__all__ = ["merge_segments", "value_lists"]


def merge_segments(*segment_maps: Mapping[str, Any] | None) -> dict[str, Any]:
    """Merge segment maps in arrival order; a later map's key replaces an earlier one's.

    ``None`` segments (sent for segments the client already holds) are skipped.
    """
    merged: dict[str, Any] = {}
    for segments in segment_maps:
        if segments is None:
            continue
        if not isinstance(segments, Mapping):
            raise TableauProtocolError("dataSegments is not an object")
        for key, segment in segments.items():
            if segment is not None:
                merged[str(key)] = segment
    return merged


def value_lists(segments: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Concatenate each ``dataType``'s values across segments, in segment order."""
    lists: dict[str, list[Any]] = {}
    for key, segment in segments.items():
        columns = segment.get("dataColumns") if isinstance(segment, dict) else None
        if not isinstance(columns, list):
            raise TableauProtocolError(f"data segment {key!r} has no 'dataColumns' list")
        for number, column in enumerate(columns):
            values = column.get("dataValues") if isinstance(column, dict) else None
            data_type = column.get("dataType") if isinstance(column, dict) else None
            if not isinstance(values, list) or not isinstance(data_type, str):
                raise TableauProtocolError(
                    f"data segment {key!r} column {number} lacks 'dataType' or 'dataValues'"
                )
            lists.setdefault(data_type, []).extend(values)
    return lists
