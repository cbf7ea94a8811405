"""A stand-in Tableau server on 127.0.0.1 that speaks a viz session's whole flow.

For ``leakmon demo``, the tests and the benchmarks. It answers as the recorded
real responses are shaped (``monitor.vizql.encode``, which cites them): the
view page with ``tsConfigContainer`` (or an empty one and ``startSession/viewing``
for newer servers), a chunked ``bootstrapSession``, the ``get-underlying-data``
and ``get-summary-data`` commands, the ``vudcsv`` full-data CSV (UTF-8 with a
BOM), the crosstab dialog → export → ``tempfile`` (UTF-16, tab-separated),
Tableau Public's profile API (``allowDataAccess``), the packaged workbook and
``/shared/<key>`` links. Each view has permission flags, so a test can take a
download away, and faults (a challenge page, a refused session, a capped row
count) to prove that leakmon says what it could not check.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import threading
import uuid
import zipfile
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from monitor.standin import Answer, Portal
from monitor.vizql.commands import parse_multipart
from monitor.vizql.encode import (
    encode_bootstrap,
    encode_config_page,
    encode_crosstab_dialog,
    encode_crosstab_export,
    encode_start_session,
    encode_underlying_data,
)

__all__ = ["FULL_FLAGS", "SUMMARY_FLAGS", "DashboardPortal", "StandinView", "VizqlStandin"]

#: The flags of a view whose full data any visitor may download (the 2022 setting).
FULL_FLAGS = {"allow_summary": True, "allow_view_underlying": True, "allow_export_data": True}
#: The flags of a view offering its summary data only.
SUMMARY_FLAGS = {"allow_summary": True, "allow_view_underlying": False, "allow_export_data": True}
#: A CDN's challenge page, served instead of JSON to clients it does not trust.
CHALLENGE = (
    b"<!DOCTYPE html><html><head><title>Just a moment...</title></head>"
    b"<body>Checking your browser before accessing the site.</body></html>"
)


@dataclass
class StandinView:
    """One published view: its sheets' data and what a visitor may download.

    Attributes:
        workbook: the workbook's content URL.
        sheet: the view's sheet (a dashboard when ``worksheets`` name others).
        columns: the full data's column captions (every worksheet's, here).
        rows: the full data, one row per record.
        summary: the summary export (``<view>.csv``), one row per mark.
        worksheets: the worksheets of a dashboard; empty for a worksheet view.
        site: a Tableau Server site, ``None`` for the default site.
        flags: the session's permission flags.
        public: served as Tableau Public (profile API, ``/workbooks/<wb>.twb``).
        workbook_download: the workbook may be downloaded (Public: ``allowDataAccess``).
        newer: the view page's config is empty and ``startSession/viewing`` hands it out.
        vudcsv: the ``vudcsv`` full-data CSV is served (else 404: the client uses the command).
        workbook_file: the ``.twbx`` served as the workbook (default: one built from
            the views' data, with the original CSV files under ``Data/``).
        fault: ``challenge`` (a WAF page instead of the session), ``refuse`` (403 to the
            bootstrap), ``shape`` (a bootstrap of an unknown shape), ``truncate`` (a
            bootstrap cut inside a chunk), ``cap`` (the command answers half the rows it
            says it has).
    """

    workbook: str
    sheet: str
    columns: list[str]
    rows: list[list[object]]
    summary: bytes = b""
    worksheets: tuple[str, ...] = ()
    site: str | None = None
    flags: dict[str, bool] = field(default_factory=lambda: dict(SUMMARY_FLAGS))
    public: bool = False
    workbook_download: bool = False
    newer: bool = False
    vudcsv: bool = True
    fault: str | None = None
    workbook_file: bytes | None = None

    @property
    def sheets(self) -> tuple[str, ...]:
        """Return the worksheets whose data the view shows."""
        return self.worksheets or (self.sheet,)

    def path(self) -> str:
        """Return the view's path on the Tableau host."""
        site = f"/t/{quote(self.site)}" if self.site else ""
        return f"{site}/views/{quote(self.workbook)}/{quote(self.sheet)}"


@dataclass
class _Session:
    view: StandinView
    segments: dict[str, Any]
    exports: dict[str, bytes] = field(default_factory=dict)


class VizqlStandin:
    """The Tableau host's answers, for a ``monitor.standin.Portal`` subclass to route to."""

    def __init__(self) -> None:
        self.views: dict[tuple[str | None, str, str], StandinView] = {}
        self.shared: dict[str, tuple[str | None, str, str]] = {}
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()

    def publish(self, view: StandinView) -> None:
        """Publish (or replace) a view."""
        with self._lock:
            self.views[(view.site, view.workbook, view.sheet)] = view

    def withdraw(self, workbook: str, sheet: str, site: str | None = None) -> None:
        """Take a view down: its page and every session URL answer 404."""
        with self._lock:
            self.views.pop((site, workbook, sheet), None)

    def share(self, view: StandinView) -> str:
        """Return a ``/shared/<key>`` path that redirects to the view."""
        key = uuid.uuid5(uuid.NAMESPACE_URL, view.path()).hex[:10].upper()
        with self._lock:
            self.shared[key] = (view.site, view.workbook, view.sheet)
        return f"/shared/{key}"

    # -- GET ---------------------------------------------------------------------------------

    def get(self, path: str) -> Answer | None:
        """Answer a GET on the Tableau host, or ``None`` when the path is not Tableau's."""
        parts = urlsplit(path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        segments = [unquote(s) for s in parts.path.split("/") if s]
        with self._lock:
            if segments[:1] == ["shared"] and len(segments) == 2:
                return self._shared(segments[1])
            if segments[:3] == ["profile", "api", "single_workbook"] and len(segments) == 4:
                return self._profile(segments[3])
            if segments[:1] == ["workbooks"] and len(segments) == 2:
                return self._workbook(segments[1], site=None)
            if segments[:1] == ["t"] and segments[2:3] == ["workbooks"] and len(segments) == 4:
                return self._workbook(segments[3], site=segments[1])
            if "vudcsv" in segments or "tempfile" in segments:
                return self._session_get(segments, query)
            return self._view_page(segments, query)

    def _view_page(self, segments: list[str], query: dict[str, str]) -> Answer | None:
        site = None
        if segments[:1] == ["t"] and len(segments) > 2:
            site, segments = segments[1], segments[2:]
        if len(segments) != 3 or segments[0] != "views":
            return None
        sheet = segments[2]
        view = self.views.get((site, segments[1], sheet.removesuffix(".csv")))
        if view is None:
            return None
        if sheet.endswith(".csv"):
            if not view.flags.get("allow_summary", True):
                return Answer(b"Forbidden", "text/plain", status=403)
            return Answer(view.summary, "text/csv; charset=utf-8")
        if view.fault == "challenge":
            return Answer(CHALLENGE, "text/html; charset=utf-8", status=403)
        sid = self._open(view)
        page = encode_config_page(
            vizql_root=_root(view),
            session_id=sid,
            sheet_id=view.sheet,
            permissions=view.flags,
            empty=view.newer,
        )
        return Answer(page.encode(), "text/html; charset=utf-8")

    def _session_get(self, segments: list[str], query: dict[str, str]) -> Answer | None:
        session = self._session_of(segments)
        if session is None:
            return None
        view = session.view
        if "vudcsv" in segments:
            if not view.vudcsv or not view.flags.get("allow_view_underlying"):
                return None
            return Answer(
                b"\xef\xbb\xbf" + _csv(view.columns, view.rows),
                "text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="{view.sheet}.csv"'},
            )
        body = session.exports.get(query.get("key", ""))
        if body is None:
            return None
        return Answer(
            body, "text/csv; charset=utf-16", headers={"Content-Disposition": "attachment"}
        )

    def _shared(self, key: str) -> Answer | None:
        found = self.shared.get(key)
        view = self.views.get(found) if found else None
        if view is None:
            return None
        return Answer(b"", "text/html", status=302, headers={"Location": view.path()})

    def _profile(self, workbook: str) -> Answer | None:
        views = [v for v in self.views.values() if v.workbook == workbook and v.public]
        if not views:
            return None
        info = {
            "workbookRepoUrl": workbook,
            "title": workbook,
            "viewCount": len(views),
            "allowDataAccess": any(v.workbook_download for v in views),
            "showInProfile": True,
        }
        return Answer(json.dumps(info).encode(), "application/json;charset=UTF-8")

    def _workbook(self, name: str, site: str | None) -> Answer | None:
        workbook, dot, ext = name.rpartition(".")
        if not dot or ext not in ("twb", "twbx"):
            return None
        views = [v for v in self.views.values() if v.workbook == workbook and v.site == site]
        public = any(v.public for v in views)
        if not views or ext != ("twb" if public else "twbx"):
            return None
        if not any(v.workbook_download for v in views):
            return Answer(b"Forbidden", "text/plain", status=403)
        given = next((v.workbook_file for v in views if v.workbook_file), None)
        return Answer(
            given or packaged_workbook(workbook, views),
            "application/octet-stream",
            headers={"Content-Disposition": f'attachment; filename="{workbook}.twbx"'},
        )

    # -- POST --------------------------------------------------------------------------------

    def post(self, path: str, body: bytes, content_type: str) -> Answer | None:
        """Answer a POST of a viz session, or ``None`` when the path is not one."""
        segments = [unquote(s) for s in urlsplit(path).path.split("/") if s]
        with self._lock:
            if segments[-2:] == ["startSession", "viewing"]:
                return self._start_session(segments)
            if "bootstrapSession" in segments:
                return self._bootstrap(segments)
            if "commands" in segments:
                return self._command(segments, body, content_type)
        return None

    def _start_session(self, segments: list[str]) -> Answer | None:
        # /vizql[/t/<site>]/w/<wb>/v/<sheet>/startSession/viewing
        site = segments[2] if segments[1:2] == ["t"] else None
        rest = segments[3:] if site else segments[1:]
        if len(rest) < 4 or rest[0] != "w" or rest[2] != "v":
            return None
        view = self.views.get((site, rest[1], rest[3]))
        if view is None:
            return None
        sid = self._open(view)
        return Answer(
            encode_start_session(session_id=sid, permissions=view.flags), "application/json"
        )

    def _bootstrap(self, segments: list[str]) -> Answer | None:
        session = self._session_of(segments)
        if session is None:
            return None
        view = session.view
        if view.fault == "refuse":
            return Answer(b"Forbidden", "text/plain", status=403)
        if view.fault == "shape":  # a server version whose answer leakmon does not know
            return Answer(b'15;{"unknown":"x"}', "text/javascript; charset=utf-8")
        body = encode_bootstrap(
            sheet_name=view.sheet,
            worksheets=list(view.sheets),
            view_ids={s: _view_id(view, s) for s in view.sheets},
            dashboard=bool(view.worksheets),
            segments=session.segments,
        )
        if view.fault == "truncate":  # the connection cut inside a chunk
            body = body[: len(body) * 2 // 3]
        return Answer(body, "text/javascript; charset=utf-8")

    def _command(self, segments: list[str], body: bytes, content_type: str) -> Answer | None:
        session = self._session_of(segments)
        if session is None:
            return None
        view, name = session.view, "/".join(segments[-2:])
        form = parse_multipart(body, content_type) if body else {}
        if name in ("tabdoc/get-underlying-data", "tabdoc/get-summary-data"):
            if name.endswith("underlying-data") and not view.flags.get("allow_view_underlying"):
                return Answer(b'{"vqlCmdResponse":{}}', "application/json", status=403)
            rows = view.rows
            declared = len(rows)
            if view.fault == "cap":
                rows = rows[: len(rows) // 2]
            max_rows = int(form.get("maxRows") or 0)
            if max_rows > 0:
                rows = rows[:max_rows]
            new, answer = encode_underlying_data(
                view.columns,
                rows,
                session_segments=session.segments,
                num_rows=declared,
                summary=name.endswith("summary-data"),
            )
            session.segments.update(new)
            return Answer(json.dumps(answer).encode(), "application/json")
        if name == "tabsrv/export-crosstab-server-dialog":
            if not view.flags.get("allow_export_data"):
                return Answer(b"Forbidden", "text/plain", status=403)
            sheets = {s: _view_id(view, s) for s in view.sheets}
            return Answer(json.dumps(encode_crosstab_dialog(sheets)).encode(), "application/json")
        if name == "tabsrv/export-crosstab-to-csvserver":
            key = uuid.uuid4().hex
            session.exports[key] = _crosstab(view.summary)
            return Answer(json.dumps(encode_crosstab_export(key)).encode(), "application/json")
        return None

    # -- sessions ----------------------------------------------------------------------------

    def _open(self, view: StandinView) -> str:
        sid = uuid.uuid4().hex.upper() + "-0:0"
        self._sessions[sid] = _Session(view, {})
        return sid

    def _session_of(self, segments: list[str]) -> _Session | None:
        sid = session_key(segments)
        session = self._sessions.get(sid) if sid else None
        if session is None:
            return None
        view = session.view
        return session if self.views.get((view.site, view.workbook, view.sheet)) else None


def session_key(segments: list[str]) -> str | None:
    """Return the session id in a session URL's path segments (after ``sessions``)."""
    if "sessions" not in segments:
        return None
    index = segments.index("sessions")
    return segments[index + 1] if index + 1 < len(segments) else None


def packaged_workbook(workbook: str, views: list[StandinView]) -> bytes:
    """Return a ``.twbx``: the ``.twb`` naming each sheet's data source, and its data files.

    Laid out as real packaged workbooks are (tableau/document-api-python
    test/assets): the workbook XML at the root, the original text files under
    ``Data/``, referenced by a ``textscan`` connection.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        sources = []
        for view in views:
            name = f"{view.sheet}.csv"
            columns = "".join(
                f"<column caption='{html.escape(c, quote=True)}' datatype='string'"
                f" name='[{html.escape(c, quote=True)}]' role='dimension' type='nominal' />"
                for c in view.columns
            )
            sources.append(
                f"<datasource caption='{html.escape(view.sheet, quote=True)}'"
                f" inline='true' name='textscan.{_view_id(view, view.sheet)}' version='18.1'>"
                f"<connection class='textscan' directory='Data/{html.escape(workbook)}'"
                f" filename='{html.escape(name)}' />{columns}</datasource>"
            )
            zf.writestr(_member(f"Data/{workbook}/{name}"), _csv(view.columns, view.rows))
        twb = (
            "<?xml version='1.0' encoding='utf-8' ?>\n"
            "<workbook source-build='2023.1.0' version='18.1'"
            " xmlns:user='http://www.tableausoftware.com/xml/user'>"
            f"<datasources>{''.join(sources)}</datasources></workbook>\n"
        )
        zf.writestr(_member(f"{workbook}.twb"), twb)
    return buffer.getvalue()


def _member(name: str) -> zipfile.ZipInfo:
    # A fixed date: the same workbook is the same bytes on every download.
    info = zipfile.ZipInfo(name, date_time=(2022, 6, 27, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _root(view: StandinView) -> str:
    site = f"/t/{quote(view.site)}" if view.site else ""
    return f"/vizql{site}/w/{quote(view.workbook)}/v/{quote(view.sheet)}"


def _view_id(view: StandinView, sheet: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"{view.path()}#{sheet}").hex[:12]


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _csv(columns: list[str], rows: list[list[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([_text(v) for v in row] for row in rows)
    return out.getvalue().encode("utf-8")


def _crosstab(summary: bytes) -> bytes:
    """Return the crosstab export of a sheet: its table as displayed (the summary rows).

    As Tableau writes it: UTF-16 (little-endian, with a BOM), tab-separated.
    """
    rows = csv.reader(io.StringIO(summary.decode("utf-8", errors="replace")))
    return ("".join("\t".join(row) + "\r\n" for row in rows)).encode("utf-16")


class DashboardPortal(Portal):
    """A justice-data portal whose dashboard page embeds a Tableau view, for ``leakmon demo``.

    ``/`` links ``/dashboards/ccw``, which embeds the view with Tableau's embed code;
    the Tableau host is this same server, so the demo needs no other name.
    """

    def __init__(self, view: StandinView, title: str = "Stand-in OpenJustice portal") -> None:
        super().__init__(title)
        self.view = view
        self.vizql = VizqlStandin()
        self.vizql.publish(view)

    def offer_full_data(self) -> None:
        """Let every visitor download the view's full data, as the 2022 dashboard did."""
        self.view.flags = dict(FULL_FLAGS)

    def route(self, path: str) -> Answer | None:
        """Answer the portal's pages, then the Tableau host's paths."""
        if path in ("/", "/index.html"):
            link = '<li><a href="/dashboards/ccw">Firearms dashboard</a></li>'
            return _page(self.title, f"<ul>{link}</ul>")
        if path == "/dashboards/ccw":
            return _page("Firearms dashboard", self._embed())
        if path == "/robots.txt":
            return Answer(b"User-agent: *\nAllow: /\n", "text/plain")
        return self.vizql.get(path)

    def route_post(self, path: str, body: bytes, content_type: str) -> Answer | None:
        """Answer the viz session's POSTs."""
        return self.vizql.post(path, body, content_type)

    def _embed(self) -> str:
        view, base = self.view, self.url.rstrip("/")
        return (
            f"<script type='text/javascript' src='{base}/javascripts/api/viz_v1.js'></script>"
            "<div class='tableauPlaceholder'><object class='tableauViz' style='display:none;'>"
            f"<param name='host_url' value='{quote(base + '/', safe='')}' />"
            "<param name='site_root' value='' />"
            f"<param name='name' value='{quote(view.workbook)}&#47;{quote(view.sheet)}' />"
            "</object></div>"
        )


def _page(title: str, content: str) -> Answer:
    body = (
        f"<!doctype html><html><head><title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{content}</body></html>"
    )
    return Answer(body.encode(), "text/html; charset=utf-8")
