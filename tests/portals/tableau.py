"""A stand-in Tableau Server embedded in a portal: dashboard pages and view CSV exports.

One loopback server plays both hosts: the portal at ``127.0.0.1`` (``/`` lists
the dashboards, ``/dashboards/<workbook>`` embeds its views) and the Tableau
server at ``localhost`` (``/views/<wb>/<sheet>`` and ``/t/<site>/views/...``,
their ``.csv`` exports with ETag/Last-Modified → 304, and Tableau Public's
``/profile/api/workbook/<wb>``). A workbook is a catalogue dataset and a view
one of its resources: ``publish("CCW", "Applicants", csv_bytes, embed="object")``
embeds the view on the workbook's page with the given embed code;
``withdraw("CCW", "Applicants")`` takes it off the page and its export answers 404.

Behind each view, ``monitor.standin_tableau.VizqlStandin`` speaks the viz session
(view page config, ``bootstrapSession``, commands, ``vudcsv``, crosstab, profile
API, workbook downloads) in the shapes of recorded real responses. Options of
``publish`` beyond the embed: ``full`` (``(columns, rows)`` of the full data;
default: the export's own rows), ``flags`` (the session's permission flags),
``workbook_download``, ``newer``, ``vudcsv``, ``fault`` (see ``StandinView``).
"""

from __future__ import annotations

import csv
import html
import io
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlencode

from monitor.standin import Answer
from monitor.standin_tableau import StandinView, VizqlStandin
from tests.portals.base import CataloguePortal, json_answer

if TYPE_CHECKING:
    from tests.portals.base import Resource

__all__ = ["EMBEDS", "TableauPortal"]

#: A view's flags unless a test says otherwise: summary data only (Tableau's default).
_SUMMARY_ONLY = {"allow_summary": True, "allow_view_underlying": False, "allow_export_data": False}

#: Embed codes a view can be published with.
EMBEDS = ("object", "v3", "iframe", "link", "script", "shared")


class TableauPortal(CataloguePortal):
    """A portal at 127.0.0.1 embedding views of a Tableau server at localhost (same port)."""

    def __init__(self) -> None:
        super().__init__("Stand-in justice data portal")
        self.vizql = VizqlStandin()

    @property
    def tableau_url(self) -> str:
        """Return the Tableau server's base URL (another host name for the same server)."""
        return self.url.replace("127.0.0.1", "localhost")

    def publish(
        self,
        dataset: str,
        resource_name: str,
        body: bytes,
        media_type: str = "text/csv",
        **options: Any,
    ) -> str:
        """Publish (or replace) view ``resource_name`` of workbook ``dataset``; return its export.

        Options: ``embed`` (one of ``EMBEDS``, default ``object``), ``site`` (a
        Tableau site: ``/t/<site>/views/...``), ``public`` (listed by the
        profile API), ``on_page`` (False: published but embedded nowhere).
        """
        options.setdefault("embed", "object")
        super().publish(dataset, resource_name, body, media_type, **options)
        columns, rows = options.get("full") or _rows_of(body)
        self.vizql.publish(
            StandinView(
                workbook=dataset,
                sheet=resource_name,
                columns=list(columns),
                rows=[list(r) for r in rows],
                summary=body,
                worksheets=tuple(options.get("worksheets", ())),
                site=options.get("site"),
                flags=dict(options.get("flags") or _SUMMARY_ONLY),
                public=bool(options.get("public")),
                workbook_download=bool(options.get("workbook_download")),
                newer=bool(options.get("newer")),
                vudcsv=bool(options.get("vudcsv", True)),
                fault=options.get("fault"),
                workbook_file=options.get("workbook_file"),
            )
        )
        return self.export_url(dataset, resource_name)

    def withdraw(self, dataset: str, resource_name: str | None = None) -> None:
        """Take a view (or a workbook's views) off the pages and the Tableau host."""
        entry = self.datasets.get(dataset)
        names = [resource_name] if resource_name else list(entry.resources) if entry else []
        for name in names:
            resource = entry.resources.get(name) if entry else None
            site = resource.options.get("site") if resource else None
            self.vizql.withdraw(dataset, name, site)
        super().withdraw(dataset, resource_name)

    def view_url(self, workbook: str, sheet: str) -> str:
        """Return a view's URL on the Tableau host."""
        site = self.datasets[workbook].resources[sheet].options.get("site")
        prefix = f"t/{quote(site)}/" if site else ""
        return f"{self.tableau_url}{prefix}views/{quote(workbook)}/{quote(sheet)}"

    def export_url(self, workbook: str, sheet: str) -> str:
        """Return the URL of a view's CSV export, as the spider reports it."""
        return self.view_url(workbook, sheet) + ".csv?:showVizHome=no"

    # -- serving ---------------------------------------------------------------------------

    def api(self, path: str, query: dict[str, str]) -> Answer | None:
        """Answer the portal's pages and the Tableau server's views, exports and profile API."""
        if path in ("/", "/index.html"):
            return self._page(self.title, self._index())
        if path.startswith("/dashboards/"):
            entry = self.datasets.get(unquote(path.removeprefix("/dashboards/")))
            if entry is None:
                return None
            embeds = "".join(self._embed(entry.name, r) for r in entry.resources.values())
            return self._page(entry.title, embeds)
        if path.startswith("/profile/api/workbook/"):
            return self._profile(unquote(path.removeprefix("/profile/api/workbook/")))
        if not path.endswith(".csv"):
            return self.vizql.get(path + ("?" + urlencode(query) if query else ""))
        parts = [unquote(p) for p in path.split("/") if p]
        site = None
        if len(parts) > 2 and parts[0] == "t":
            site, parts = parts[1], parts[2:]
        if len(parts) != 3 or parts[0] != "views":
            return None
        workbook, sheet = parts[1], parts[2]
        export = sheet.endswith(".csv")
        resource = self._resource(workbook, sheet.removesuffix(".csv"), site)
        if resource is None:
            return None
        if export:
            return self.file(resource.key)
        return self._page(f"{workbook} / {resource.name}", "<div class='tab-viz'>viz</div>")

    def route_post(self, path: str, body: bytes, content_type: str) -> Answer | None:
        """Answer the viz session's POSTs (startSession, bootstrapSession, commands)."""
        with self._state:
            self.log.append((time.monotonic(), "POST " + path))
            fault = self._fault(path)
        return fault if fault is not None else self.vizql.post(path, body, content_type)

    def _index(self) -> str:
        links = "".join(
            f'<li><a href="/dashboards/{quote(name)}">{html.escape(entry.title)}</a></li>'
            for name, entry in sorted(self.datasets.items())
        )
        return f"<ul>{links}</ul>"

    def _embed(self, workbook: str, resource: Resource) -> str:
        options = resource.options
        if not options.get("on_page", True):
            return ""
        site = options.get("site")
        prefix = f"t/{quote(site)}/" if site else ""
        view = f"{self.tableau_url}{prefix}views/{quote(workbook)}/{quote(resource.name)}"
        how = options["embed"]
        if how == "object":
            root = f"&#47;t&#47;{quote(site)}" if site else ""
            return (
                f"<script type='text/javascript' src='{self.tableau_url}javascripts/api/viz_v1.js'>"
                "</script><div class='tableauPlaceholder' style='width: 1000px; height: 800px;'>"
                "<object class='tableauViz' width='1000' height='800' style='display:none;'>"
                f"<param name='host_url' value='{quote(self.tableau_url, safe='')}' /> "
                "<param name='embed_code_version' value='3' /> "
                f"<param name='site_root' value='{root}' />"
                f"<param name='name' value='{quote(workbook)}&#47;{quote(resource.name)}' />"
                "<param name='tabs' value='no' /><param name='toolbar' value='yes' />"
                "</object></div>"
            )
        if how == "v3":
            return (
                f'<script type="module" src="{self.tableau_url}javascripts/api/'
                'tableau.embedding.3.latest.min.js"></script>'
                f'<tableau-viz src="{view}" toolbar="bottom" hide-tabs></tableau-viz>'
            )
        if how == "iframe":
            return f'<iframe src="{view}?:embed=y&amp;:showVizHome=no" width="1000"></iframe>'
        if how == "script":
            return (
                f'<script src="{self.tableau_url}javascripts/api/tableau-2.min.js"></script>'
                f'<div id="viz"></div><script>new tableau.Viz(document.getElementById("viz"),'
                f' "{view}", {{hideTabs: true}});</script>'
            )
        if how == "shared":
            shared = self.vizql.share(self.vizql.views[(site, workbook, resource.name)])
            return f'<a href="{self.tableau_url}{shared[1:]}">{html.escape(resource.name)}</a>'
        return f'<a href="{view}?:showVizHome=no">{html.escape(resource.name)}</a>'

    def _profile(self, workbook: str) -> Answer | None:
        entry = self.datasets.get(workbook)
        public = [r for r in entry.resources.values() if r.options.get("public")] if entry else []
        if not public:
            return None
        infos = [
            {"sheetRepoUrl": f"{workbook}/sheets/{r.name}", "sheetTitle": r.name} for r in public
        ]
        return json_answer({"title": entry.title if entry else workbook, "viewInfos": infos})

    def _resource(self, workbook: str, sheet: str, site: str | None) -> Resource | None:
        entry = self.datasets.get(workbook)
        resource = entry.resources.get(sheet) if entry else None
        if resource is None or resource.options.get("site") != site:
            return None
        return resource

    def _page(self, title: str, content: str) -> Answer:
        body = (
            f"<!doctype html><html><head><title>{html.escape(title)}</title></head>"
            f"<body><h1>{html.escape(title)}</h1>{content}</body></html>"
        )
        return Answer(body.encode(), "text/html; charset=utf-8")


def _rows_of(body: bytes) -> tuple[list[str], list[list[object]]]:
    """Return a CSV's header and rows (a view whose full data is its export)."""
    table = list(csv.reader(io.StringIO(body.decode("utf-8", errors="replace"))))
    return (table[0], [list(r) for r in table[1:]]) if table else ([], [])
