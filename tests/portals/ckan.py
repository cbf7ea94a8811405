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

import json
from typing import TYPE_CHECKING, Any

from tests.portals.base import CataloguePortal, json_answer

if TYPE_CHECKING:
    from monitor.standin import Answer
    from tests.portals.base import Dataset

__all__ = ["CkanPortal"]

_CREATED = "2024-01-02T03:04:05.000000"


class CkanPortal(CataloguePortal):
    """CKAN on 127.0.0.1."""

    def __init__(self, rows_max: int = 1000) -> None:
        super().__init__("Stand-in CKAN portal")
        self.rows_max = rows_max

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
            rows = min(max(int(query.get("rows", "10")), 0), self.rows_max)
            start = max(int(query.get("start", "0")), 0)
        except ValueError:
            return self._error(409, "Validation Error: rows and start must be integers")
        datasets = list(self.datasets.values())
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
            "metadata_modified": _CREATED,
            "notes": "Synthetic stand-in dataset.",
            "organization": {"name": "stand-in", "title": "Stand-in department"},
            "num_resources": len(resources),
            "tags": [],
        }
        if not lean:
            package["resources"] = resources
        return package

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
