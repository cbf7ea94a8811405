"""A stand-in Socrata domain: the Discovery API, the legacy views list, data.json and exports.

``/api/catalog/v1`` answers ``{"results": [{"resource", "classification",
"metadata", "permalink", "link", "owner"}], "resultSetSize", "timings",
"warnings"}``, paged by ``limit`` (default 100, capped at ``limit_max``) and
``offset``, refusing ``offset + limit`` past ``window`` with a 400 as the real
one does past 10,000. ``order`` takes one of the API's sort attributes, optionally
followed by `` ASC`` or `` DESC``; any other value is refused with a 400.
``updatedAt`` (and ``data_updated_at``) is when the asset was last published
(``modified``: now, or what a test dates it). A Socrata dataset is one table: ``publish(id, name,
body)`` creates or replaces dataset ``id`` (a "four by four" such as
``ccwp-2022``) named ``name``, served at
``/api/views/<id>/rows.csv?accessType=DOWNLOAD``; ``withdraw(id)`` removes it.
Switch ``catalog``, ``views`` or ``datajson`` off to make an endpoint absent (404).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from tests.portals.base import CataloguePortal, json_answer

if TYPE_CHECKING:
    from monitor.standin import Answer
    from tests.portals.base import Dataset

__all__ = ["SocrataPortal"]

_TIME = "2024-01-02T03:04:05.000Z"
#: The Discovery API's sort attributes (its reference, "Sort order").
_ORDERS = frozenset(
    {
        "relevance",
        "name",
        "owner",
        "dataset_id",
        "datatype",
        "domain_category",
        "createdAt",
        "updatedAt",
        "page_views_total",
        "page_views_last_month",
        "page_views_last_week",
    }
)


class SocrataPortal(CataloguePortal):
    """A Socrata domain on 127.0.0.1."""

    def __init__(self, limit_max: int = 10_000, window: int = 10_000) -> None:
        super().__init__("Stand-in Socrata domain")
        self.limit_max = limit_max
        self.window = window
        self.catalog = True
        self.views = True
        self.datajson = True

    def publish(  # one table per dataset
        self,
        dataset: str,
        resource_name: str,
        body: bytes,
        media_type: str = "text/csv",
        asset: str = "dataset",
    ) -> str:
        """Create or replace asset ``dataset`` named ``resource_name``; return its download URL.

        ``asset`` is the Discovery API's type: ``dataset``, ``filter`` (a filtered
        view: a CSV export), ``map`` (a geospatial dataset: a GeoJSON export),
        ``file`` (a blob with ``media_type``), or a type with no data of its own
        (``story``, ``chart``, ``href``).
        """
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        self.add_dataset(dataset, title=resource_name, asset=asset, modified=now)
        super().publish(dataset, "rows.csv", body, media_type)
        return self.asset_url(dataset)

    def asset_url(self, dataset: str) -> str:
        """Return the URL an asset's data is downloaded from, by its type."""
        entry = self.datasets[dataset]
        asset = entry.options.get("asset", "dataset")
        if asset == "map":
            return f"{self.url}api/geospatial/{dataset}?method=export&format=GeoJSON"
        if asset == "file":
            mime = entry.resources["rows.csv"].media_type.replace("/", "%2F")
            return f"{self.url}download/{dataset}/{mime}"
        return self.export_url(dataset)

    def withdraw(self, dataset: str, resource_name: str | None = None) -> None:
        """Delete a dataset: unlisted everywhere, and its export answers 404."""
        super().withdraw(dataset)

    def export_url(self, dataset: str) -> str:
        """Return the CSV export URL the spider reports for a dataset."""
        return f"{self.url}api/views/{dataset}/rows.csv?accessType=DOWNLOAD"

    def error(self, status: int, message: str) -> bytes:
        """Return Socrata's error body."""
        return json_answer({"code": f"http_{status}", "error": True, "message": message}).body

    def api(self, path: str, query: dict[str, str]) -> Answer | None:
        """Answer the catalogue endpoints and the exports."""
        if path.startswith("/api/views/") and path.endswith("/rows.csv"):
            return self._download(path.split("/")[3], ("dataset", "filter"), "rows.csv")
        if path.startswith("/api/geospatial/") and query.get("method") == "export":
            return self._download(path.split("/")[3], ("map",), "export.geojson")
        if path.startswith("/download/") and path.count("/") == 3:
            return self._download(path.split("/")[2], ("file",), "attachment")
        if path == "/api/catalog/v1" and self.catalog:
            return self._catalog(query)
        if path == "/api/views.json" and self.views:
            return self._views(query)
        if path == "/data.json" and self.datajson:
            return json_answer(
                {
                    "@type": "dcat:Catalog",
                    "conformsTo": "https://project-open-data.cio.gov/v1.1/schema",
                    "dataset": [self._dcat(d) for d in self._tables()],
                }
            )
        return None

    def _download(self, fxf: str, assets: tuple[str, ...], name: str) -> Answer | None:
        entry = self.datasets.get(fxf)
        if entry is None or entry.options.get("asset", "dataset") not in assets:
            return None
        answer = self.file(f"{fxf}/rows.csv")
        if answer is not None:
            answer.headers["Content-Disposition"] = f"attachment; filename={name}"
        return answer

    def _tables(self) -> list[Dataset]:
        return [d for d in self.datasets.values() if d.resources]

    def _catalog(self, query: dict[str, str]) -> Answer:
        try:
            limit = min(int(query.get("limit", "100")), self.limit_max)
            offset = int(query.get("offset", "0"))
        except ValueError:
            return json_answer({"error": "limit and offset must be integers"}, 400)
        if offset + limit > self.window:
            return json_answer({"error": f"offset + limit must be at most {self.window}"}, 400)
        tables = self._tables()
        order = query.get("order", "relevance").split(" ")
        if order[0] not in _ORDERS or len(order) > 2 or order[1:] not in ([], ["ASC"], ["DESC"]):
            return json_answer({"error": f"Invalid order: {query['order']}"}, 400)
        if order[0] == "updatedAt":
            tables.sort(key=self._updated, reverse=order[1:] != ["ASC"])
        if "only" in query:  # the Discovery API's filter by asset type
            only = {t.strip().rstrip("s") for t in query["only"].split(",")}
            tables = [d for d in tables if d.options.get("asset", "dataset") in only]
        return json_answer(
            {
                "results": [self._result(d) for d in tables[offset : offset + limit]],
                "resultSetSize": len(tables),
                "timings": {"serviceMillis": 3, "searchMillis": [1, 1]},
                "warnings": [],
            }
        )

    def _result(self, dataset: Dataset) -> dict[str, Any]:
        return {
            "resource": {
                "name": dataset.title,
                "id": dataset.name,
                "parent_fxf": [],
                "description": "Synthetic stand-in dataset.",
                "attribution": "Stand-in Department",
                "type": dataset.options.get("asset", "dataset"),
                "updatedAt": self._updated(dataset),
                "createdAt": _TIME,
                "metadata_updated_at": _TIME,
                "data_updated_at": self._updated(dataset),
                "columns_name": [],
                "columns_field_name": [],
                "columns_datatype": [],
                "download_count": 0,
                "provenance": "official",
                "lens_view_type": "tabular",
                "lens_display_type": "table",
                "blob_mime_type": (
                    dataset.resources["rows.csv"].media_type
                    if dataset.options.get("asset") == "file"
                    else None
                ),
            },
            "classification": {"categories": [], "tags": [], "domain_category": "Public Safety"},
            "metadata": {"domain": "127.0.0.1", "license": "Public Domain"},
            "permalink": f"{self.url}d/{dataset.name}",
            "link": f"{self.url}Public-Safety/{dataset.title.replace(' ', '-')}/{dataset.name}",
            "owner": {"id": "abcd-0000", "user_type": "interactive", "display_name": "Stand-in"},
        }

    def _updated(self, dataset: Dataset) -> str:
        stamp = str(dataset.options.get("modified", _TIME))
        return stamp if stamp.endswith("Z") else stamp + "Z"

    def _views(self, query: dict[str, str]) -> Answer:
        limit = int(query.get("limit", "200"))
        page = max(int(query.get("page", "1")), 1)
        tables = self._tables()[(page - 1) * limit : page * limit]
        return json_answer(
            [
                {
                    "id": d.name,
                    "name": d.title,
                    "assetType": "dataset",
                    "viewType": "tabular",
                    "displayType": "table",
                    "createdAt": 1704164645,
                }
                for d in tables
            ]
        )

    def _dcat(self, dataset: Dataset) -> dict[str, Any]:
        return {
            "@type": "dcat:Dataset",
            "identifier": f"{self.url}api/views/{dataset.name}",
            "landingPage": f"{self.url}d/{dataset.name}",
            "title": dataset.title,
            "distribution": [
                {
                    "@type": "dcat:Distribution",
                    "downloadURL": self.export_url(dataset.name),
                    "mediaType": "text/csv",
                }
            ],
        }
