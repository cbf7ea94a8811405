"""Build VizQL command requests and read their answers (underlying data, summary data, crosstab).

Example::

    from monitor.vizql.commands import underlying_data_request, underlying_table

    body, content_type = underlying_data_request("Applicants", boot.sheet_name)
    # POST <server><vizql_root>/sessions/<sid>/commands/tabdoc/get-underlying-data
    table = underlying_table(json.loads(answer))

Field names and paths from bertrandmartel/tableau-scraping tableauscraper/api.py
(``getDownloadableUnderlyingData``, ``getDownloadableSummaryData``,
``exportCrosstabServerDialog``, ``exportCrosstabToCsvServer``), TableauWorkbook.py
``getCrossTabData`` and dashboard.py ``getWorksheetDownloadCmdResponse``. ``maxRows=0``
asks for every row (Tableau's JS API: 0 returns all rows); tableau-scraping sends the
view's ``sheetName`` as ``dashboard`` even for a worksheet view, and so should callers.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from monitor.errors import TableauProtocolError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from monitor.vizql.session import SessionConfig

__all__ = [
    "COMMAND_PATHS",
    "bootstrap_path",
    "bootstrap_request",
    "command_path",
    "command_segments",
    "crosstab_dialog_request",
    "crosstab_export_request",
    "crosstab_result_key",
    "crosstab_sheets",
    "multipart",
    "parse_multipart",
    "summary_data_request",
    "tempfile_path",
    "underlying_data_request",
    "underlying_table",
    "vudcsv_path",
]

#: Command → path after ``<vizql_root>/sessions/<sid>/commands/``.
COMMAND_PATHS = {
    "underlying_data": "tabdoc/get-underlying-data",
    "summary_data": "tabdoc/get-summary-data",
    "crosstab_dialog": "tabsrv/export-crosstab-server-dialog",
    "crosstab_export": "tabsrv/export-crosstab-to-csvserver",
}
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_NAME = re.compile(rb'name="([^"]*)"')


def bootstrap_path(config: SessionConfig) -> str:
    """Return the path to POST ``bootstrapSession`` to (prefix it with the server's origin).

    Session ids keep their ``:`` (``…-0:0``), as in the URLs public scripts recorded.
    """
    return f"{config.vizql_root}/bootstrapSession/sessions/{quote(config.session_id, safe=':')}"


def bootstrap_request(
    config: SessionConfig, *, width: int = 1920, height: int = 1080
) -> tuple[bytes, str]:
    """Return the form body and content type of ``bootstrapSession``.

    Fields as can-scrapers' ``get_tableau_view`` and tableau-scraping's ``getTableauData``
    send them: ``sheet_id``, ``showParams`` and ``stickySessionKey`` copied from the
    config when it has them, and ``clientDimension``. Browsers also send headers
    ``Accept: text/javascript``, ``X-Tsi-Active-Tab: <sheet_id>`` and
    ``X-Requested-With: XMLHttpRequest`` (the research note), which are the client's job.
    """
    fields = {"sheet_id": config.sheet_id or config.sheet_name or ""}
    if config.show_params is not None:
        fields["showParams"] = config.show_params
    if config.sticky_session_key is not None:
        fields["stickySessionKey"] = config.sticky_session_key
    fields["clientDimension"] = json.dumps({"w": width, "h": height})
    return urlencode(fields).encode(), "application/x-www-form-urlencoded"


def command_path(config: SessionConfig, command: str) -> str:
    """Return the path to POST a command to; ``command`` is a key of ``COMMAND_PATHS``."""
    session = quote(config.session_id, safe=":")
    return f"{config.vizql_root}/sessions/{session}/commands/{COMMAND_PATHS[command]}"


def vudcsv_path(config: SessionConfig, view_id: str, *, summary: bool = False) -> str:
    """Return the path of a worksheet's data as CSV (UTF-8 with BOM): full data or summary.

    Full data with ``csv=true&showall=true`` (tableau-scraping api.py ``getCsvData``),
    summary with ``summary=true`` (the research note's public URLs).
    """
    query = "summary=true" if summary else "csv=true&showall=true"
    session = quote(config.session_id, safe=":")
    return f"{config.vizql_root}/vudcsv/sessions/{session}/views/{quote(view_id, safe='')}?{query}"


def tempfile_path(config: SessionConfig, key: str) -> str:
    """Return the path of an exported crosstab (UTF-16, tab-separated) by its result key."""
    session = quote(config.session_id, safe=":")
    query = urlencode({"key": key, "keepfile": "yes", "attachment": "yes"})
    return f"{config.vizql_root}/tempfile/sessions/{session}/?{query}"


def underlying_data_request(
    worksheet: str, dashboard: str, *, max_rows: int = 0, boundary: str | None = None
) -> tuple[bytes, str]:
    """Return the multipart body and content type of ``tabdoc/get-underlying-data``.

    ``max_rows=0`` asks for all rows; every column is asked for (``includeAllColumns``).
    """
    return multipart(
        [
            ("maxRows", str(max_rows)),
            ("includeAllColumns", "true"),
            ("visualIdPresModel", _visual_id(worksheet, dashboard)),
        ],
        boundary=boundary,
    )


def summary_data_request(
    worksheet: str, dashboard: str, *, max_rows: int = 0, boundary: str | None = None
) -> tuple[bytes, str]:
    """Return the multipart body and content type of ``tabdoc/get-summary-data``."""
    return multipart(
        [("maxRows", str(max_rows)), ("visualIdPresModel", _visual_id(worksheet, dashboard))],
        boundary=boundary,
    )


def crosstab_dialog_request(*, boundary: str | None = None) -> tuple[bytes, str]:
    """Return the multipart body and content type of ``tabsrv/export-crosstab-server-dialog``."""
    return multipart([("thumbnailUris", json.dumps({}))], boundary=boundary)


def crosstab_export_request(sheetdoc_id: str, *, boundary: str | None = None) -> tuple[bytes, str]:
    """Return the multipart body and content type of ``tabsrv/export-crosstab-to-csvserver``."""
    return multipart(
        [("sheetdocId", sheetdoc_id), ("useTabs", "true"), ("sendNotifications", "true")],
        boundary=boundary,
    )


def multipart(
    fields: Sequence[tuple[str, str]], *, boundary: str | None = None
) -> tuple[bytes, str]:
    """Return ``multipart/form-data`` of plain fields, as ``requests`` sends ``files=``."""
    mark = boundary or secrets.token_hex(16)
    parts = [
        f'--{mark}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value.encode("utf-8")
        + b"\r\n"
        for name, value in fields
    ]
    return b"".join(parts) + f"--{mark}--\r\n".encode(), f"multipart/form-data; boundary={mark}"


def parse_multipart(body: bytes, content_type: str) -> dict[str, str]:
    """Return the fields of a multipart form built by ``multipart`` (or a browser).

    Raises:
        TableauProtocolError: no boundary, or a part without a name.
    """
    match = _BOUNDARY.search(content_type)
    if match is None:
        raise TableauProtocolError("multipart content type has no boundary")
    mark = b"--" + match.group(1).encode()
    fields: dict[str, str] = {}
    for part in body.split(mark)[1:]:
        if part.startswith(b"--"):
            break
        head, _, value = part.strip(b"\r\n").partition(b"\r\n\r\n")
        name = _NAME.search(head)
        if name is None:
            raise TableauProtocolError("multipart part has no name")
        fields[name.group(1).decode()] = value.decode("utf-8", errors="replace")
    return fields


def underlying_table(response: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``vqlCmdResponse.cmdResultList[0].commandReturn.underlyingDataTable``.

    The same shape answers get-underlying-data and get-summary-data.

    Raises:
        TableauProtocolError: the answer has another shape (the message says where it differs).
    """
    command_return = _command_return(response)
    table = command_return.get("underlyingDataTable")
    if not isinstance(table, dict):
        raise TableauProtocolError(
            "unknown response shape: commandReturn has no underlyingDataTable "
            f"(keys {sorted(command_return)[:8]})"
        )
    return table


def command_segments(response: Mapping[str, Any]) -> dict[str, Any]:
    """Return the data segments a command answer adds to the session (``{}`` for none).

    They sit in the underlying table's ``dataDictionary`` or in
    ``layoutStatus.applicationPresModel.dataDictionary`` (tableau-scraping
    TableauWorksheet.py ``updateFullData``).
    """
    vql = response.get("vqlCmdResponse")
    if not isinstance(vql, dict):
        return {}
    app = _path(vql, "layoutStatus", "applicationPresModel", "dataDictionary", "dataSegments")
    if isinstance(app, dict):
        return app
    results = vql.get("cmdResultList")
    if isinstance(results, list) and results and isinstance(results[0], dict):
        found = _path(
            results[0], "commandReturn", "underlyingDataTable", "dataDictionary", "dataSegments"
        )
        if isinstance(found, dict):
            return found
    return {}


def crosstab_sheets(response: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Return ``(sheetName, sheetdocId)`` for each sheet the crosstab dialog offers.

    Raises:
        TableauProtocolError: no ``genExportCrosstabOptionsDialogPresModel`` in the answer.
    """
    for holder in _notifications(response):
        dialog = holder.get("genExportCrosstabOptionsDialogPresModel")
        if not isinstance(dialog, dict):
            continue
        items = dialog.get("thumbnailSheetPickerItems")
        if not isinstance(items, list):
            raise TableauProtocolError("crosstab dialog has no thumbnailSheetPickerItems list")
        return [
            (item["sheetName"], item["sheetdocId"])
            for item in items
            if isinstance(item, dict)
            and isinstance(item.get("sheetName"), str)
            and isinstance(item.get("sheetdocId"), str)
        ]
    raise TableauProtocolError("unknown response shape: no genExportCrosstabOptionsDialogPresModel")


def crosstab_result_key(response: Mapping[str, Any]) -> str:
    """Return the tempfile key of a crosstab export (``resultKey`` or ``tempfileKey``).

    Raises:
        TableauProtocolError: neither ``genExportFilePresModel`` nor ``genFileDownloadPresModel``.
    """
    for holder in _notifications(response):
        for model, key in (
            ("genExportFilePresModel", "resultKey"),
            ("genFileDownloadPresModel", "tempfileKey"),
        ):
            found = _path(holder, model, key)
            if isinstance(found, str | int) and not isinstance(found, bool) and str(found):
                return str(found)
    raise TableauProtocolError(
        "unknown response shape: no genExportFilePresModel.resultKey or "
        "genFileDownloadPresModel.tempfileKey"
    )


def _visual_id(worksheet: str, dashboard: str) -> str:
    """Return the ``visualIdPresModel`` JSON naming a worksheet in its view."""
    return json.dumps(
        {"worksheet": worksheet, "dashboard": dashboard, "flipboardZoneId": 0, "storyPointId": 0}
    )


def _command_return(response: Mapping[str, Any]) -> dict[str, Any]:
    """Return the first command result's ``commandReturn``."""
    vql = response.get("vqlCmdResponse")
    if not isinstance(vql, dict):
        raise TableauProtocolError(
            f"unknown response shape: no vqlCmdResponse (keys {sorted(response)[:8]})"
        )
    results = vql.get("cmdResultList")
    if not isinstance(results, list) or not results or not isinstance(results[0], dict):
        raise TableauProtocolError("unknown response shape: empty or missing cmdResultList")
    command_return = results[0].get("commandReturn")
    if not isinstance(command_return, dict):
        raise TableauProtocolError("unknown response shape: cmdResultList[0] has no commandReturn")
    return command_return


def _notifications(response: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return the ``presModelHolder`` of each presentation-layer notification."""
    found = _path(
        response, "vqlCmdResponse", "layoutStatus", "applicationPresModel",
        "presentationLayerNotification",
    )  # fmt: skip
    if not isinstance(found, list):
        return []
    holders = [n.get("presModelHolder") for n in found if isinstance(n, dict)]
    return [h for h in holders if isinstance(h, dict)]


def _path(value: Any, *keys: str) -> Any:  # Any: walking untrusted JSON
    """Return ``value[k1][k2]...`` or ``None`` where a step is missing or not an object."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value
