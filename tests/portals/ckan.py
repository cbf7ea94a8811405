"""A stand-in CKAN portal: the Action API (package_search, package_show) and DataStore dumps.

Answers follow CKAN 2.10's documented shapes: ``{"help", "success", "result"}``,
errors as ``{"success": false, "error": {"__type", "message"}}`` with their HTTP
status, ``package_search`` paged by ``rows`` (capped at ``rows_max``) and
``start`` with the total in ``count``. Datasets are listed in the order they were
created (the spider asks for ``metadata_created asc``).

Switches: ``add_dataset(name, lean=True)`` leaves a dataset's resources out of
search results (so the spider must call ``package_show``);
``publish(..., datastore=True)`` puts a resource in the DataStore, served whole
at ``/datastore/dump/<resource id>``; ``publish(..., url=...)`` lists the resource
at another URL (a file kept elsewhere).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from typing import TYPE_CHECKING, Any

from monitor.standin import Answer
from tests.portals.base import CataloguePortal, json_answer

if TYPE_CHECKING:
    from tests.portals.base import Dataset

__all__ = ["CKAN_ROBOTS", "CkanPortal"]

_CREATED = "2024-01-02T03:04:05.000000"
#: The robots.txt CKAN ships (ckan/public/robots.txt; see tests/fixtures/SOURCES.md).
CKAN_ROBOTS = (
    b"User-agent: *\nDisallow: /dataset/rate/\nDisallow: /revision/\n"
    b"Disallow: /dataset/*/history\nDisallow: /api/\nCrawl-Delay: 10\n"
)
#: Datasets per /dataset page (CKAN's ``ckan.datasets_per_page`` default).
PER_PAGE = 20
#: Fields ``package_search`` may sort on here; Solr rejects others (CKAN answers 409).
_SORTABLE = {"metadata_created", "metadata_modified", "id", "name", "title", "score"}


class CkanPortal(CataloguePortal):
    """CKAN on 127.0.0.1."""

    def __init__(self, rows_max: int = 1000, robots: bytes | None = None, mount: str = "") -> None:
        super().__init__("Stand-in CKAN portal")
        self.rows_max = rows_max
        self.robots = robots  # None: allow everything; CKAN_ROBOTS: what CKAN ships
        self.mount = mount.rstrip("/")  # "/ckan": CKAN under a path, as data.gov.au's /data/

    def publish(
        self,
        dataset: str,
        resource_name: str,
        body: bytes,
        media_type: str = "text/csv",
        **options: Any,
    ) -> str:
        """Publish a resource; its dataset's ``metadata_modified`` becomes now."""
        url = super().publish(dataset, resource_name, body, media_type, **options)
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
        self.add_dataset(dataset, modified=now)
        return url

    def dataset_url(self, dataset: str) -> str:
        """Return the dataset's page, as the spider gives it for a referer."""
        return f"{self.url}dataset/{dataset}"

    def dump_url(self, dataset: str, resource_name: str) -> str:
        """Return the DataStore dump URL of a resource."""
        return f"{self.url}datastore/dump/{self.datasets[dataset].resources[resource_name].ident}"

    def error(self, status: int, message: str) -> bytes:
        """Return CKAN's error envelope."""
        kind = {
            400: "Bad Request",
            403: "Authorization Error",
            404: "Not Found Error",
            409: "Validation Error",
            429: "Too Many Requests",
        }
        return json.dumps(
            {
                "help": f"{self.url}api/3/action/help_show",
                "success": False,
                "error": {"__type": kind.get(status, "Internal Server Error"), "message": message},
            }
        ).encode()

    def api(self, path: str, query: dict[str, str]) -> Answer | None:
        """Answer the Action API and DataStore dumps."""
        if path.startswith("/datastore/dump/"):
            return self._dump(path.rsplit("/", 1)[-1])
        if path == "/robots.txt" and self.robots is not None:
            return Answer(self.robots, "text/plain")
        if self.mount:
            if not path.startswith(self.mount + "/"):
                return None
            path = path[len(self.mount) :]
        if path in ("/dataset", "/dataset/"):
            return self._listing(query)
        if path.startswith("/dataset/") and path.count("/") == 2:
            return self._dataset_page(path.rsplit("/", 1)[-1])
        if not path.startswith("/api/3/action/"):
            return None
        action = path.rsplit("/", 1)[-1]
        if action == "status_show":
            return self._ok(
                action,
                {"site_title": self.title, "site_url": self.url, "ckan_version": "2.10.4"},
            )
        if action == "package_search":
            return self._search(query)
        if action == "package_show":
            found = next(
                (d for d in self.datasets.values() if query.get("id") in (d.name, d.ident)), None
            )
            if found is None:
                return self._error(404, "Not found")
            return self._ok(action, self._package(found, lean=False))
        return self._error(400, f"Bad request - Action name not known: {action}")

    def _search(self, query: dict[str, str]) -> Answer:
        try:
            rows = min(int(query.get("rows", "10")), self.rows_max)
            start = int(query.get("start", "0"))
        except ValueError:
            return self._error(409, "Validation Error: rows and start must be integers")
        if rows < 0 or start < 0:
            return self._error(409, "Validation Error: Must be a natural number")
        for clause in query.get("sort", "score desc").split(","):
            field, _, order = clause.strip().partition(" ")
            if field not in _SORTABLE or order.strip() not in ("asc", "desc"):
                return self._error(409, f"Search Query is invalid: can not sort on {clause!r}")
        datasets = list(self.datasets.values())
        if "fq" in query:
            found = re.fullmatch(r"metadata_modified:\[(\S+) TO \*\]", query["fq"])
            if found is None:
                return self._error(409, f"Search Query is invalid: fq {query['fq']!r}")
            since = found.group(1).rstrip("Z")
            datasets = [d for d in datasets if self._modified(d) >= since]
        if query.get("sort", "").startswith("metadata_modified desc"):
            datasets.sort(key=self._modified, reverse=True)
        page = [self._package(d, lean=bool(d.options.get("lean"))) for d in datasets]
        return self._ok(
            "package_search",
            {
                "count": len(datasets),
                "facets": {},
                "results": page[start : start + rows],
                "sort": query.get("sort", "score desc, metadata_modified desc"),
                "search_facets": {},
            },
        )

    def _package(self, dataset: Dataset, lean: bool) -> dict[str, Any]:
        resources = [
            {
                "id": r.ident,
                "package_id": dataset.ident,
                "name": r.name,
                "description": "",
                "format": r.name.rsplit(".", 1)[-1].upper() if "." in r.name else "",
                "mimetype": r.media_type,
                "url": r.options.get("url") or self.resource_url(dataset.name, r.name),
                "url_type": "upload",
                "datastore_active": bool(r.options.get("datastore")),
                "state": "active",
                "position": i,
                "created": _CREATED,
            }
            for i, r in enumerate(dataset.resources.values())
        ]
        package: dict[str, Any] = {
            "id": dataset.ident,
            "name": dataset.name,
            "title": dataset.title,
            "type": "dataset",
            "state": "active",
            "private": False,
            "metadata_created": _CREATED,
            "metadata_modified": self._modified(dataset),
            "notes": "Synthetic stand-in dataset.",
            "organization": {"name": "stand-in", "title": "Stand-in department"},
            "num_resources": len(resources),
            "tags": [],
        }
        if not lean:
            package["resources"] = resources
        return package

    def _modified(self, dataset: Dataset) -> str:
        return str(dataset.options.get("modified") or _CREATED)

    def _listing(self, query: dict[str, str]) -> Answer:
        """The /dataset page: 20 datasets a page (snippets/package_item.html, pagination)."""
        try:
            page = max(int(query.get("page", "1")), 1)
        except ValueError:
            return Answer(b"Bad page", "text/html", status=400)
        datasets = list(self.datasets.values())
        shown = datasets[(page - 1) * PER_PAGE : page * PER_PAGE]
        items = "".join(
            f'<li class="dataset-item"><div class="dataset-content">'
            f'<h3 class="dataset-heading"><a href="/dataset/{html.escape(d.name)}">'
            f"{html.escape(d.title)}</a></h3></div></li>"
            for d in shown
        )
        pages = -(-len(datasets) // PER_PAGE)
        links = "".join(
            f'<li class="page-item"><a class="page-link" href="/dataset/?page={n}">{n}</a></li>'
            for n in range(1, pages + 1)
        )
        body = (
            f"<!DOCTYPE html><html><head><title>Datasets - {html.escape(self.title)}</title>"
            f'</head><body><div class="search-form"><h1>{len(datasets)} datasets found</h1>'
            f'</div><ul class="dataset-list list-unstyled">{items}</ul>'
            f'<div class="pagination-wrapper"><ul class="pagination">{links}</ul></div>'
            "</body></html>"
        )
        return Answer(body.encode(), "text/html; charset=utf-8")

    def _dataset_page(self, name: str) -> Answer | None:
        """A dataset's page: one ``li.resource-item`` per resource (resource_item.html)."""
        dataset = next((d for d in self.datasets.values() if name in (d.name, d.ident)), None)
        if dataset is None:
            return None
        items = "".join(
            f'<li class="resource-item" data-id="{r["id"]}">'
            f'<a class="heading" href="/dataset/{dataset.name}/resource/{r["id"]}"'
            f' title="{html.escape(r["name"])}">{html.escape(r["name"])}</a>'
            f'<div class="dropdown btn-group"><a href="#" class="btn btn-primary dropdown-toggle">'
            f'Explore</a><ul class="dropdown-menu"><li><a class="dropdown-item"'
            f' href="/dataset/{dataset.name}/resource/{r["id"]}">More information</a></li>'
            f'<li><a class="dropdown-item" href="{html.escape(r["url"])}"'
            f' class="resource-url-analytics" target="_blank">Download</a></li></ul></div></li>'
            for r in self._package(dataset, lean=False)["resources"]
        )
        body = (
            f"<!DOCTYPE html><html><head><title>{html.escape(dataset.title)}</title></head>"
            f'<body><h1>{html.escape(dataset.title)}</h1><section id="dataset-resources">'
            f'<ul class="resource-list">{items}</ul></section></body></html>'
        )
        return Answer(body.encode(), "text/html; charset=utf-8")

    def _dump(self, resource_id: str) -> Answer | None:
        for dataset in self.datasets.values():
            for resource in dataset.resources.values():
                if resource.ident == resource_id and resource.options.get("datastore"):
                    answer = self.file(resource.key)
                    if answer is not None:
                        answer.media_type = "text/csv; charset=utf-8"
                    return answer
        return self._error(404, "Resource not found in the DataStore")

    def _ok(self, action: str, result: Any) -> Answer:
        return json_answer(
            {
                "help": f"{self.url}api/3/action/help_show?name={action}",
                "success": True,
                "result": result,
            }
        )

    def _error(self, status: int, message: str) -> Answer:
        answer = json_answer(None, status)
        answer.body = self.error(status, message)
        return answer
