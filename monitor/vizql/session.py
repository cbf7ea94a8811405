"""Read a Tableau view's session config: the page's ``tsConfigContainer`` or ``startSession``.

Example::

    from monitor.vizql.session import parse_config_page, parse_start_session

    config = parse_config_page(view_page_html)  # None on newer servers (empty textarea)
    if config is None:
        config = parse_start_session(start_session_body, vizql_root="/vizql/w/CCW/v/Applicants")
    if config.permissions.get("allow_view_underlying"):
        ...  # the full data is offered to this visitor

Sources of the keys: bertrandmartel/tableau-scraping tableauscraper/TableauScraper.py
(``tsConfigContainer``, ``vizql_root``, ``sessionid``, ``sheetId``) and
act-now-coalition/can-scrapers can_tools/scrapers/official/base.py (``showParams``,
``stickySessionKey`` sent back to ``bootstrapSession``); the ``allow_*``/``is_guest``
flags and names are those of a public TypeScript type of the config; tableau/tableau-mcp's
``startSession/viewing`` client expects ``{"sessionid": ...}``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from monitor.errors import TableauProtocolError
from monitor.vizql.framing import parse_object

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["SessionConfig", "parse_config_page", "parse_start_session", "permission_flags"]

#: A view page larger than this is not searched for its config (real ones are < 1 MB).
_MAX_PAGE_CHARS = 32 * 1024**2
_TEXTAREA_OPEN = re.compile(r"<textarea\b", re.IGNORECASE)
_CONFIG_ID = re.compile(
    r"\bid\s*=\s*(?:\"tsConfigContainer\"|'tsConfigContainer'|tsConfigContainer\b)", re.IGNORECASE
)
#: A tag's attributes longer than this are not read (real ones are a few dozen characters).
_MAX_TAG_CHARS = 4096
_TEXTAREA_END = re.compile(r"</textarea\s*>", re.IGNORECASE)
#: Config keys copied as plain strings when present: (attribute, config key).
_TEXT_KEYS = (
    ("site_root", "site_root"),
    ("site_url_name", "site_url_name"),
    ("site_name", "site_name"),
    ("workbook_name", "workbookName"),
    ("sheet_name", "current_sheet_name"),
    ("sheet_type", "current_sheet_type"),
    ("repository_url", "repositoryUrl"),
    ("workbook_repo_url", "workbook_repo_url"),
    ("current_view_id", "current_view_id"),
    ("download_uri", "downloadURI"),
)


@dataclass(frozen=True)
class SessionConfig:
    """What a viz session needs and what the server says this visitor may do.

    Attributes:
        vizql_root: path prefix of the session's VizQL endpoints (``/vizql/w/<wb>/v/<view>``).
        session_id: the ``sessionid`` to put in ``bootstrapSession/sessions/<id>``.
        sheet_id: ``sheetId``, sent back as ``sheet_id``.
        sticky_session_key: ``stickySessionKey``, sent back unchanged when present.
        show_params: ``showParams``, sent back unchanged when present.
        permissions: every boolean ``allow_*`` flag of the config, plus ``is_guest``.
        site_root, site_url_name, site_name, workbook_name, sheet_name, sheet_type,
        repository_url, workbook_repo_url, current_view_id, download_uri: the config's
        values of the same meaning, when present (``None`` otherwise).
    """

    vizql_root: str
    session_id: str
    sheet_id: str | None = None
    sticky_session_key: str | None = None
    show_params: str | None = None
    permissions: Mapping[str, bool] = field(default_factory=lambda: MappingProxyType({}))
    site_root: str | None = None
    site_url_name: str | None = None
    site_name: str | None = None
    workbook_name: str | None = None
    sheet_name: str | None = None
    sheet_type: str | None = None
    repository_url: str | None = None
    workbook_repo_url: str | None = None
    current_view_id: str | None = None
    download_uri: str | None = None

    def __post_init__(self) -> None:
        if not self.session_id:
            raise ValueError("SessionConfig.session_id must not be empty")
        if not isinstance(self.permissions, MappingProxyType):
            object.__setattr__(self, "permissions", MappingProxyType(dict(self.permissions)))


def parse_config_page(page: str) -> SessionConfig | None:
    """Return the session config of a view page, or ``None`` when it has none.

    Newer servers leave ``tsConfigContainer`` empty and hand the session out through
    ``startSession/viewing``; a page without the textarea (a portal page, a sign-in
    form) has none either.

    Raises:
        TableauProtocolError: the textarea holds something that is not a config object.
    """
    opening = _config_textarea(page)
    if opening is None:
        return None
    end = _TEXTAREA_END.search(page, opening, _MAX_PAGE_CHARS)
    if end is None:
        raise TableauProtocolError(f"tsConfigContainer at offset {opening} is not closed")
    body = html.unescape(page[opening : end.start()]).strip()
    if not body:
        return None
    config = parse_object(body, what="tsConfigContainer")
    return _session_config(config, what="tsConfigContainer", vizql_root=None)


def _config_textarea(page: str) -> int | None:
    """Return where the ``tsConfigContainer`` textarea's content starts (linear time)."""
    for match in _TEXTAREA_OPEN.finditer(page, 0, _MAX_PAGE_CHARS):
        close = page.find(">", match.end(), match.end() + _MAX_TAG_CHARS)
        if close >= 0 and _CONFIG_ID.search(page, match.end(), close):
            return close + 1
    return None


def parse_start_session(body: bytes, *, vizql_root: str | None = None) -> SessionConfig:
    """Return the session config of a ``POST .../startSession/viewing`` response.

    The response names the session but not always its VizQL root: pass the
    ``startSession`` URL's path up to ``/startSession`` as ``vizql_root``; the
    response's own ``vizql_root`` wins when it has one.

    Raises:
        TableauProtocolError: not a JSON object, no ``sessionid``, or no VizQL root.
    """
    config = parse_object(body, what="startSession response")
    return _session_config(config, what="startSession response", vizql_root=vizql_root)


def permission_flags(config: Mapping[str, Any]) -> dict[str, bool]:
    """Return every boolean ``allow_*`` flag and ``is_guest`` of a config object."""
    return {
        key: value
        for key, value in config.items()
        if isinstance(value, bool) and (key.startswith("allow_") or key == "is_guest")
    }


def _session_config(
    config: Mapping[str, Any], *, what: str, vizql_root: str | None
) -> SessionConfig:
    """Build a ``SessionConfig`` from a parsed config object."""
    session_id = config.get("sessionid")
    if not isinstance(session_id, str) or not session_id:
        raise TableauProtocolError(f"{what} has no 'sessionid' string")
    root = config.get("vizql_root", vizql_root)
    if not isinstance(root, str):
        raise TableauProtocolError(f"{what} has no 'vizql_root' string")
    texts = {attr: _text(config, key) for attr, key in _TEXT_KEYS}
    return SessionConfig(
        vizql_root=root,
        session_id=session_id,
        sheet_id=_text(config, "sheetId"),
        sticky_session_key=_text(config, "stickySessionKey"),
        show_params=_text(config, "showParams"),
        permissions=permission_flags(config),
        **texts,
    )


def _text(config: Mapping[str, Any], key: str) -> str | None:
    """Return a config value as text when it is a string or number, else ``None``."""
    value = config.get(key)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str | int | float):
        return str(value)
    return None
