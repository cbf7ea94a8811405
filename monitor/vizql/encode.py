"""Build VizQL responses shaped like recorded real ones: for the Tableau stand-in server and tests.

Example::

    from monitor.vizql.encode import (
        encode_bootstrap, encode_config_page, encode_underlying_data,
    )

    page = encode_config_page(vizql_root="/vizql/w/CCW/v/Applicants", session_id="S1",
                              sheet_id="Applicants", permissions={"allow_view_underlying": True})
    boot_segments = {}
    body = encode_bootstrap(sheet_name="Applicants", worksheets=["Applicants"],
                            view_ids={"Applicants": "1234_5678"}, segments=boot_segments)
    new_segments, response = encode_underlying_data(
        ["Name", "DOB"], [["Ann Lee", datetime.date(1980, 1, 2)]],
        session_segments=boot_segments,
    )
    json.dumps(response)  # the get-underlying-data answer; merge new_segments into the session

Shapes copied from bertrandmartel/tableau-scraping tests/python/test_common.py
(``tableauDownloadableUnderlyingData``, ``tableauDownloadableSummaryData``, ``info``,
``data``, ``tableauExportCrosstab*``, ``tableauVizHtmlResponse``): the keys, their order,
the per-type lists (``integer, real, cstring, datetime, boolean, date``), the cstring
list built column by column with each value then its formatted text, ``"%null%"`` and
``"Null"`` for nulls (a positive index in a cstring column, ``-(k+1)`` in typed ones),
``aliasIndices`` ``-1`` when unaliased. The ``<len>;<json>`` framing counts characters
of ASCII-only JSON.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from typing import TYPE_CHECKING, Any

from monitor.vizql.dictionary import NULL_VALUE
from monitor.vizql.segments import value_lists

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "encode_bootstrap",
    "encode_config_page",
    "encode_crosstab_dialog",
    "encode_crosstab_export",
    "encode_start_session",
    "encode_underlying_data",
    "frame_chunks",
]

_TYPE_ORDER = ("integer", "real", "cstring", "datetime", "boolean", "date")
_NULL_TEXT = "Null"
_DATASOURCE = "federated.0leakmon0standin0000000000"


def frame_chunks(*chunks: Mapping[str, Any]) -> bytes:
    """Return objects framed as ``<len>;<json>`` one after another (ASCII JSON)."""
    parts = []
    for chunk in chunks:
        text = json.dumps(chunk, separators=(",", ":"))
        parts.append(f"{len(text)};{text}")
    return "".join(parts).encode("ascii")


def encode_config_page(
    *,
    vizql_root: str,
    session_id: str,
    sheet_id: str,
    permissions: Mapping[str, bool] | None = None,
    extra: Mapping[str, Any] | None = None,
    empty: bool = False,
) -> str:
    """Return a view page whose ``tsConfigContainer`` holds the config (empty if ``empty``)."""
    config: dict[str, Any] = {
        "vizql_root": vizql_root,
        "sessionid": session_id,
        "sheetId": sheet_id,
        "showParams": json.dumps({"checkpoint": False, "refresh": False}),
        "stickySessionKey": json.dumps({"workbookId": 1}),
        **dict(permissions or {}),
        **dict(extra or {}),
    }
    body = "" if empty else html.escape(json.dumps(config), quote=True)
    return (
        "<!DOCTYPE html>\n<html><head><title>Tableau</title></head><body>\n"
        f'<textarea id="tsConfigContainer">{body}</textarea>\n</body></html>\n'
    )


def encode_start_session(
    *, session_id: str, permissions: Mapping[str, bool] | None = None
) -> bytes:
    """Return a ``startSession/viewing`` answer: ``{"sessionid": ...}`` and the flags."""
    return json.dumps({"sessionid": session_id, **dict(permissions or {})}).encode()


def encode_bootstrap(
    *,
    sheet_name: str,
    worksheets: Sequence[str],
    view_ids: Mapping[str, str],
    dashboard: bool = False,
    segments: Mapping[str, Any] | None = None,
) -> bytes:
    """Return a framed ``bootstrapSession`` body (info chunk, then data chunk).

    ``dashboard=True`` makes ``sheet_name`` a dashboard whose zones are ``worksheets``;
    otherwise the view is the one worksheet ``sheet_name``. ``segments`` becomes the
    data dictionary (``None``: no data chunk, as a server rendering on its side sends).
    """
    zones: dict[str, Any] = {}
    for number, sheet in enumerate(worksheets, start=3):
        zones[str(number)] = {
            "worksheet": sheet,
            "presModelHolder": {"visual": {"filtersJson": "[]"}},
        }
    sheets_info = [
        {
            "sheet": sheet_name,
            "isDashboard": dashboard,
            "isVisible": True,
            "namesOfSubsheets": list(worksheets) if dashboard else [],
            "windowId": "{00000000-0000-0000-0000-000000000000}",
        }
    ]
    info = {
        "sheetName": sheet_name,
        "worldUpdate": {
            "applicationPresModel": {
                "workbookPresModel": {
                    "dashboardPresModel": {"zones": zones, "viewIds": dict(view_ids)},
                    "sheetsInfo": sheets_info,
                }
            }
        },
    }
    if segments is None:
        return frame_chunks(info)
    viz: dict[str, Any] = {
        sheet: {"presModelHolder": {"genVizDataPresModel": {}}} for sheet in worksheets
    }
    data = {
        "secondaryInfo": {
            "presModelMap": {
                "vizData": {"presModelHolder": {"genPresModelMapPresModel": {"presModelMap": viz}}},
                "dataDictionary": {
                    "presModelHolder": {
                        "genDataDictionaryPresModel": {"dataSegments": dict(segments)}
                    }
                },
            }
        }
    }
    return frame_chunks(info, data)


def encode_underlying_data(
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    session_segments: Mapping[str, Any] | None = None,
    segment_key: str | None = None,
    num_rows: int | None = None,
    summary: bool = False,
    aliases: Mapping[str, Mapping[object, str]] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return ``(new segments, command response)`` for a get-underlying/summary-data answer.

    Values are typed by their Python type (``str`` cstring, ``bool`` boolean, ``int``
    integer, ``float`` real, ``datetime`` datetime, ``date`` date, ``None`` null; a
    column takes the type of its first non-null value). Indices continue after the
    values already in ``session_segments``; the new values go in segment
    ``segment_key`` (default: one past the highest key). ``num_rows`` sets ``numRows``
    (more than ``len(rows)`` is how a server that capped the rows answers).
    ``aliases`` maps a column's values to alias strings.
    """
    session = dict(session_segments or {})
    key = segment_key if segment_key is not None else _next_key(session)
    # The new segment's indices start after the values of the segments merged before it:
    # all of them for a new key, those ahead of it for a key it replaces.
    keys = list(session)
    before = {k: session[k] for k in keys[: keys.index(key)]} if key in session else session
    builder = _SegmentBuilder({t: len(v) for t, v in value_lists(before).items()})
    specs = []
    for number, caption in enumerate(columns):
        cells = [row[number] for row in rows]
        specs.append(builder.column(caption, cells, (aliases or {}).get(caption)))
    segment = {"dataColumns": builder.data_columns()}
    command = "tabdoc:get-summary-data" if summary else "tabdoc:get-underlying-data"
    response = {
        "vqlCmdResponse": {
            "layoutStatus": {},
            "cmdResultList": [
                {
                    "commandName": command,
                    "commandReturn": {
                        "underlyingDataTable": {
                            "tableAlias": "",
                            "tableName": "",
                            "numRows": len(rows) if num_rows is None else num_rows,
                            "dataDictionary": {"dataSegments": {key: segment}},
                            "underlyingDataTableColumns": specs,
                        }
                    },
                }
            ],
        }
    }
    return {key: segment}, response


def encode_crosstab_dialog(sheets: Mapping[str, str]) -> dict[str, Any]:
    """Return an export-crosstab-server-dialog answer listing ``{sheetName: sheetdocId}``."""
    items = [
        {"thumbnailUri": "", "sheetName": name, "sheetdocId": doc} for name, doc in sheets.items()
    ]
    holder = {"genExportCrosstabOptionsDialogPresModel": {"thumbnailSheetPickerItems": items}}
    return {
        "vqlCmdResponse": {
            "layoutStatus": {
                "applicationPresModel": {
                    "presentationLayerNotification": [{"presModelHolder": holder}],
                    "dashboardObjectsLibrary": [],
                },
                "isWorldNew": False,
                "guid": "",
            }
        }
    }


def encode_crosstab_export(key: str, *, file_download: bool = False) -> dict[str, Any]:
    """Return an export-crosstab-to-csvserver answer (``resultKey``, or ``tempfileKey``)."""
    holder = (
        {"genFileDownloadPresModel": {"tempfileKey": key}}
        if file_download
        else {"genExportFilePresModel": {"resultKey": key}}
    )
    return {
        "vqlCmdResponse": {
            "layoutStatus": {
                "applicationPresModel": {
                    "presentationLayerNotification": [{"presModelHolder": holder}]
                }
            }
        }
    }


def _next_key(session: Mapping[str, Any]) -> str:
    """Return one past the highest numeric segment key (``"0"`` for none)."""
    numbers = [int(k) for k in session if k.isdigit()]
    return str(max(numbers) + 1) if numbers else "0"


class _SegmentBuilder:
    """Collects one segment's per-type value lists, deduplicated, as Tableau sends them."""

    def __init__(self, offsets: Mapping[str, int]) -> None:
        self._offsets = dict(offsets)
        self._values: dict[str, dict[Any, int]] = {}

    def index(self, data_type: str, value: object) -> int:
        """Return the session-wide index of a value in its type's list, adding it if new."""
        table = self._values.setdefault(data_type, {})
        key = (type(value), value)
        found = table.get(key)
        if found is None:
            found = table[key] = self._offsets.get(data_type, 0) + len(table)
        return found

    def column(
        self, caption: str, cells: list[object], alias_map: Mapping[object, str] | None
    ) -> dict[str, Any]:
        """Return one ``underlyingDataTableColumns`` entry, adding its values."""
        data_type = next((_type_of(c) for c in cells if c is not None), "cstring")
        values: list[int] = []
        formats: list[int] = []
        for cell in cells:
            if cell is None:
                null = self.index("cstring", NULL_VALUE)
                values.append(null if data_type == "cstring" else -(null + 1))
                formats.append(self.index("cstring", _NULL_TEXT))
            elif data_type == "cstring":
                values.append(self.index("cstring", str(cell)))
                formats.append(values[-1])
            else:
                values.append(self.index(data_type, _wire(data_type, cell)))
                formats.append(self.index("cstring", _formatted(data_type, cell)))
        alias_indices = [
            self.index("cstring", alias_map[c]) if alias_map and c in alias_map else -1
            for c in cells
        ]
        field = f"[{_DATASOURCE}].[{caption}]"
        return {
            "dataType": data_type,
            "fieldCaption": caption,
            "fn": field,
            "isReferenced": True,
            "valueIndices": values,
            "formatValIdxs": formats,
            "aliasIndices": alias_indices,
        }

    def data_columns(self) -> list[dict[str, Any]]:
        """Return the segment's ``dataColumns`` in the recorded type order."""
        return [
            {"dataType": t, "dataValues": [v for _, v in self._values[t]]}
            for t in _TYPE_ORDER + tuple(sorted(set(self._values) - set(_TYPE_ORDER)))
            if t in self._values
        ]


def _type_of(value: object) -> str:
    """Return the Tableau dataType of a Python value."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "real"
    if isinstance(value, dt.datetime):
        return "datetime"
    if isinstance(value, dt.date):
        return "date"
    return "cstring"


def _wire(data_type: str, value: object) -> object:
    """Return a value as the dictionary carries it for its type."""
    if data_type == "datetime" and isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if data_type == "date" and isinstance(value, dt.date):
        return value.isoformat()
    if data_type == "real" and isinstance(value, float) and value.is_integer():
        return int(value)  # recorded real lists hold whole numbers as JSON integers
    return value


def _formatted(data_type: str, value: object) -> str:
    """Return a value as Tableau's en-US display formats it (``formatValIdxs``)."""
    if isinstance(value, dt.datetime | dt.date):
        return f"{value.month}/{value.day}/{value.year}"
    if data_type == "boolean":
        return "True" if value else "False"
    if data_type == "real" and isinstance(value, float):
        return f"{value:,.2f}"
    if data_type == "integer" and isinstance(value, int):
        return f"{value:,}"
    return str(value)
