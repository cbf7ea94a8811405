"""Read a ``bootstrapSession`` response: the view's worksheets, viewIds and data dictionary.

Example::

    from monitor.vizql.bootstrap import parse_bootstrap

    boot = parse_bootstrap(body)
    for sheet in boot.worksheets:
        view_id = boot.view_ids.get(sheet)  # for <vizql_root>/vudcsv/sessions/<sid>/views/<id>
    session_segments = dict(boot.segments)  # decode later command responses against these

Shape (bertrandmartel/tableau-scraping tableauscraper/utils.py ``getPresModelVizInfo``,
``listWorksheetInfo``, ``getDataFull``; tableauscraper/TableauScraper.py ``loads``;
tests/python/test_common.py ``info``, ``data``): the first chunk ("info") holds
``sheetName`` and ``worldUpdate.applicationPresModel.workbookPresModel`` with
``dashboardPresModel.{zones, viewIds}`` and ``sheetsInfo``; the second ("data") holds
``secondaryInfo.presModelMap.{dataDictionary, vizData}``. A server that renders on its
side sends no data chunk: the view then has no segments yet. Story points are not
followed: their worksheets are not listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from monitor.errors import TableauProtocolError
from monitor.vizql.framing import DEFAULT_MAX_BYTES, split_chunks
from monitor.vizql.session import permission_flags

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["Bootstrap", "parse_bootstrap"]


@dataclass(frozen=True)
class Bootstrap:
    """What a viz session's bootstrap says about the view.

    Attributes:
        sheet_name: the view's own sheet (``sheetName``): a dashboard or a worksheet.
        dashboard: the dashboard's name when the view is one, else ``None``.
        worksheets: the worksheets to ask for data: a dashboard's worksheet zones, or
            the view itself when it is a worksheet.
        view_ids: worksheet → ``viewId`` (``dashboardPresModel.viewIds``), for ``vudcsv`` URLs.
        permissions: ``allow_*``/``is_guest`` flags, when the bootstrap carries any.
        segments: the raw data-dictionary segments (``"0"`` first), needed to decode
            later command responses whose indices point into them.
    """

    sheet_name: str
    dashboard: str | None
    worksheets: tuple[str, ...]
    view_ids: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    permissions: Mapping[str, bool] = field(default_factory=lambda: MappingProxyType({}))
    segments: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        for name in ("view_ids", "permissions", "segments"):
            value = getattr(self, name)
            if not isinstance(value, MappingProxyType):
                object.__setattr__(self, name, MappingProxyType(dict(value)))


def parse_bootstrap(body: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Bootstrap:
    """Return the view's layout and data dictionary from a ``bootstrapSession`` body.

    Raises:
        TableauProtocolError: broken framing, or no chunk with a ``workbookPresModel``
            ("unknown response shape"), or a known key holding the wrong type.
    """
    chunks = split_chunks(body, max_bytes=max_bytes)
    info = next((c for c in chunks if _app_model(c) is not None), None)
    if info is None:
        keys = sorted({k for c in chunks for k in c})[:8]
        raise TableauProtocolError(
            f"unknown response shape: no workbookPresModel in {len(chunks)} chunk(s) "
            f"(top-level keys {keys})"
        )
    app = _app_model(info) or {}
    workbook = _mapping(app, "workbookPresModel")
    dashboard_model = _mapping(workbook, "dashboardPresModel")
    sheet_name = info.get("sheetName")
    if not isinstance(sheet_name, str):
        raise TableauProtocolError("bootstrap info chunk has no 'sheetName' string")
    data = next((c for c in chunks if isinstance(c.get("secondaryInfo"), dict)), None)
    model_map = _mapping(data.get("secondaryInfo", {}), "presModelMap") if data else {}
    zone_sheets = _zone_worksheets(_mapping(dashboard_model, "zones"))
    data_sheets = _data_worksheets(model_map)
    dashboard = _dashboard_name(sheet_name, workbook, zone_sheets + data_sheets)
    worksheets = tuple(dict.fromkeys(zone_sheets + data_sheets))
    if dashboard is None and not worksheets:
        worksheets = (sheet_name,)
    view_ids = {
        str(k): str(v)
        for k, v in _mapping(dashboard_model, "viewIds").items()
        if isinstance(v, str | int)
    }
    permissions = permission_flags(info) | permission_flags(app)
    return Bootstrap(
        sheet_name=sheet_name,
        dashboard=dashboard,
        worksheets=worksheets,
        view_ids=view_ids,
        permissions=permissions,
        segments=_segments(model_map),
    )


def _app_model(chunk: Mapping[str, Any]) -> dict[str, Any] | None:
    """Return ``worldUpdate.applicationPresModel`` when it has a ``workbookPresModel``."""
    world = chunk.get("worldUpdate")
    app = world.get("applicationPresModel") if isinstance(world, dict) else None
    if isinstance(app, dict) and isinstance(app.get("workbookPresModel"), dict):
        return app
    return None


def _mapping(parent: Mapping[str, Any], key: str) -> dict[str, Any]:
    """Return ``parent[key]`` as a dict: ``{}`` when absent, an error when another type."""
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TableauProtocolError(f"bootstrap key '{key}' is not an object")
    return value


def _zone_worksheets(zones: Mapping[str, Any]) -> list[str]:
    """Return the worksheets of the zones that show a visual (dashboard order)."""
    sheets: list[str] = []
    for zone in zones.values():
        if not isinstance(zone, dict) or not isinstance(zone.get("worksheet"), str):
            continue
        holder = zone.get("presModelHolder")
        if isinstance(holder, dict) and "visual" in holder:
            sheets.append(zone["worksheet"])
    return sheets


def _data_worksheets(model_map: Mapping[str, Any]) -> list[str]:
    """Return the worksheets the data chunk carries marks for."""
    viz = _mapping(model_map, "vizData")
    holder = _mapping(viz, "presModelHolder")
    gen = _mapping(holder, "genPresModelMapPresModel")
    return [str(name) for name in _mapping(gen, "presModelMap")]


def _dashboard_name(
    sheet_name: str, workbook: Mapping[str, Any], worksheets: list[str]
) -> str | None:
    """Return the view's name when ``sheetsInfo`` (or the zones) say it is a dashboard."""
    infos = workbook.get("sheetsInfo")
    if isinstance(infos, list):
        for entry in infos:
            if isinstance(entry, dict) and entry.get("sheet") == sheet_name:
                return sheet_name if entry.get("isDashboard") is True else None
    return None if not worksheets or sheet_name in worksheets else sheet_name


def _segments(model_map: Mapping[str, Any]) -> dict[str, Any]:
    """Return the data chunk's ``dataSegments`` (``{}`` when the server sent no data)."""
    dictionary = _mapping(model_map, "dataDictionary")
    holder = _mapping(dictionary, "presModelHolder")
    gen = _mapping(holder, "genDataDictionaryPresModel")
    return _mapping(gen, "dataSegments")
