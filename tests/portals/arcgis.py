"""A stand-in ArcGIS Server and Hub site: a REST services directory and a DCAT-US feed.

A service is a catalogue dataset (``"Public/Permits"``: folder and name) and a
layer one of its resources: ``publish("Public/Permits", "Applicants", csv_bytes)``
makes a feature layer whose rows are the CSV's. It answers in the ArcGIS REST
shapes: the directory and folders (``?f=json``), services, ``<service>/layers``,
layers, and ``query`` with ``returnCountOnly``, ``returnIdsOnly``, object-ID
ranges and paging (``resultOffset``/``resultRecordCount``, capped at
``maxRecordCount`` with ``exceededTransferLimit``). Errors come inside HTTP 200
answers, as ArcGIS sends them. Query answers carry an ETag and Last-Modified
and answer 304 to a matching conditional GET. Layers carry
``editingInfo.lastEditDate`` (when they were last published, epoch
milliseconds; ``edited`` dates them, ``age()`` dates them all long ago) and
Hub datasets ``modified``. Layers published with ``hub=True`` are also listed
in the Hub site's feed (``/api/feed/dcat-us/1.1.json``) with their Hub
downloads (``/api/download/v1/items/<id>/csv?layers=N``).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from monitor.standin import Answer
from tests.portals.base import CataloguePortal, json_answer

if TYPE_CHECKING:
    from tests.portals.base import Dataset, Resource

__all__ = ["ArcgisPortal", "features_json"]

SERVICES = "/arcgis/rest/services"
VERSION = 11.1


def features_json(rows: list[dict[str, str]], oid: str = "OBJECTID") -> dict[str, Any]:
    """Return an ArcGIS query answer (``f=json``) holding ``rows`` as features (Any: JSON)."""
    columns = list(rows[0]) if rows else []
    return {
        "objectIdFieldName": oid,
        "fields": [{"name": oid, "type": "esriFieldTypeOID", "alias": oid}]
        + [{"name": c, "type": "esriFieldTypeString", "alias": c, "length": 255} for c in columns],
        "features": [{"attributes": {oid: i + 1, **row}} for i, row in enumerate(rows)],
    }


class ArcgisPortal(CataloguePortal):
    """An ArcGIS Server services directory (and a Hub site) on 127.0.0.1."""

    def __init__(self) -> None:
        super().__init__("Stand-in ArcGIS Server")
        self._rows: dict[str, tuple[str, list[dict[str, str]]]] = {}  # key -> (etag, rows)
        self.served: dict[str, set[object]] = {}  # layer key -> object IDs of rows answered

    @property
    def directory_url(self) -> str:
        """Return the services directory's URL."""
        return self.url.rstrip("/") + SERVICES

    def add_service(self, service: str, **options: Any) -> None:
        """List a service with no layers; ``types`` (default ``("FeatureServer",)``),
        ``secured`` (token required) are its options."""
        self.add_dataset(service, **options)

    def publish(
        self,
        dataset: str,
        resource_name: str,
        body: bytes,
        media_type: str = "text/csv",
        **options: Any,
    ) -> str:
        """Publish (or replace) layer ``resource_name`` of service ``dataset`` with a CSV's rows.

        Options: ``max_record_count`` (1000), ``paged`` (True: the server pages
        queries), ``table`` (a table, not a feature layer), ``hub`` (listed in
        the Hub feed). Returns the layer's URL.

        Real servers' quirks: ``recorded`` (a recorded layer description, served
        as is but for its id and name), ``ids`` (the rows' object IDs, as the
        server writes them: floats, strings), ``ids_body`` (the recorded
        ``returnIdsOnly`` answer, served verbatim), ``oid`` (the object-ID field's
        name), ``cap`` (rows a query answers at most, whatever the layer says:
        ArcGIS Server 9.x caps at 500), ``ids_cap`` (object IDs listed at most, with
        ``exceededTransferLimit``), ``ignores_ids_only`` / ``ignores_count_only``
        (the server answers those queries with features).
        """
        self.add_dataset(dataset)
        with self._state:
            known = self.datasets[dataset].resources.get(resource_name)
            ids = [r.options.get("id", 0) for r in self.datasets[dataset].resources.values()]
        options["id"] = known.options["id"] if known else max(ids, default=-1) + 1
        options.setdefault("edited", int(time.time() * 1000))  # editingInfo.lastEditDate
        super().publish(dataset, resource_name, body, media_type, **options)
        return self.layer_url(dataset, resource_name)

    def age(self, edited: int = 1_704_164_645_000) -> None:
        """Date every layer's last edit long ago (epoch ms; 2024-01-02): the feeds' "unchanged"."""
        with self._state:
            for dataset in self.datasets.values():
                for resource in dataset.resources.values():
                    resource.options["edited"] = edited

    def layer_url(self, service: str, layer: str) -> str:
        """Return a layer's URL."""
        resource = self.datasets[service].resources[layer]
        return f"{self.service_url(service)}/{resource.options['id']}"

    def service_url(self, service: str) -> str:
        """Return a service's URL (its first type)."""
        kind = self.datasets[service].options.get("types", ("FeatureServer",))[0]
        return f"{self.directory_url}/{quote(service)}/{kind}"

    def item_id(self, service: str) -> str:
        """Return the portal item id of a service, as Hub names its datasets."""
        return uuid.uuid5(uuid.NAMESPACE_URL, "item:" + service).hex

    # -- serving ---------------------------------------------------------------------------

    def api(self, path: str, query: dict[str, str]) -> Answer | None:
        """Answer the REST API and the Hub feed and downloads."""
        if path == "/api/feed/dcat-us/1.1.json":
            return json_answer(self._feed())
        if path.startswith("/api/download/v1/items/") or path.startswith("/datasets/"):
            return self._download(path, query)
        if not path.startswith(SERVICES):
            return None
        parts = [p for p in path[len(SERVICES) :].split("/") if p]
        at = next((i for i, p in enumerate(parts) if p in ("FeatureServer", "MapServer")), None)
        if at is None:
            return self._folder("/".join(parts))
        service = "/".join(parts[:at])
        entry = self.datasets.get(service)
        if entry is None or parts[at] not in entry.options.get("types", ("FeatureServer",)):
            return self._error(404, "Service not found", f"{service}/{parts[at]}")
        if entry.options.get("secured"):
            return self._error(499, "Token Required")
        rest = parts[at + 1 :]
        if not rest:
            return json_answer(self._service(entry))
        if rest == ["layers"]:
            layers = [self._layer(entry, r) for r in entry.resources.values()]
            return json_answer(
                {
                    "layers": [x for x in layers if x["type"] == "Feature Layer"],
                    "tables": [x for x in layers if x["type"] == "Table"],
                }
            )
        resource = next(
            (r for r in entry.resources.values() if str(r.options["id"]) == rest[0]), None
        )
        if resource is None:
            return self._error(400, "Invalid or missing input parameters.", "Invalid layer id")
        if rest[1:] == []:
            return json_answer(self._layer(entry, resource))
        if rest[1:] == ["query"]:
            return self._query(resource, query)
        return self._error(400, "Unable to complete operation.", "Invalid URL")

    def _folder(self, folder: str) -> Answer:
        names = sorted(self.datasets)
        if folder and not any(n.startswith(folder + "/") for n in names):
            return self._error(404, "Folder not found", folder)
        inside = [n for n in names if (n.rpartition("/")[0] == folder)]
        folders = sorted({n.split("/")[0] for n in names if "/" in n}) if not folder else []
        services = [
            {"name": n, "type": t}
            for n in inside
            for t in self.datasets[n].options.get("types", ("FeatureServer",))
        ]
        return json_answer({"currentVersion": VERSION, "folders": folders, "services": services})

    def _service(self, entry: Dataset) -> dict[str, Any]:
        layers = [self._layer(entry, r) for r in entry.resources.values()]
        brief = [{"id": x["id"], "name": x["name"]} for x in layers]
        return {
            "currentVersion": VERSION,
            "serviceDescription": entry.title,
            "maxRecordCount": 1000,
            "capabilities": "Query",
            "layers": [b for b, x in zip(brief, layers, strict=True) if x["type"] != "Table"],
            "tables": [b for b, x in zip(brief, layers, strict=True) if x["type"] == "Table"],
        }

    def _layer(self, entry: Dataset, resource: Resource) -> dict[str, Any]:
        _, rows = self._rows_of(resource)
        options = resource.options
        if options.get("recorded"):
            recorded = {**options["recorded"], "id": options["id"], "name": resource.name}
            if "editingInfo" in recorded:  # the recorded shape, with this layer's last edit
                recorded["editingInfo"] = {
                    **recorded["editingInfo"],
                    "lastEditDate": options["edited"],
                }
            return recorded
        columns = list(rows[0]) if rows else []
        paged = options.get("paged", True)
        oid = options.get("oid", "OBJECTID")
        return {
            "currentVersion": VERSION,
            "id": options["id"],
            "name": resource.name,
            "type": "Table" if options.get("table") else "Feature Layer",
            "capabilities": "Query",
            "editingInfo": {"lastEditDate": options["edited"]},
            "maxRecordCount": options.get("max_record_count", 1000),
            "objectIdField": oid,
            "fields": features_json([dict.fromkeys(columns, "")], oid)["fields"],
            "advancedQueryCapabilities": {"supportsPagination": paged, "supportsOrderBy": True},
            "supportedQueryFormats": "JSON, geoJSON",
        }

    def _query(self, resource: Resource, query: dict[str, str]) -> Answer:
        etag, rows = self._rows_of(resource)
        options = resource.options
        oid = options.get("oid", "OBJECTID")
        ids = options.get("ids") or list(range(1, len(rows) + 1))
        numbered = list(zip(ids, rows, strict=False))
        where = query.get("where", "")
        if where != "1=1":
            bounds = _range(where, oid)
            if bounds is None:
                return self._error(400, "Unable to complete operation.", f"Invalid where: {where}")
            low, high = bounds
            numbered = [(i, r) for i, r in numbered if low <= _key(i) <= high]
        if query.get("returnCountOnly") == "true" and not options.get("ignores_count_only"):
            return json_answer({"count": len(numbered)})
        if query.get("returnIdsOnly") == "true" and not options.get("ignores_ids_only"):
            if options.get("ids_body"):
                return Answer(options["ids_body"], "application/json; charset=utf-8")
            listed = [i for i, _ in numbered]
            body: dict[str, Any] = {"objectIdFieldName": oid, "objectIds": listed}
            if options.get("ids_cap") and len(listed) > options["ids_cap"]:
                body = {**body, "objectIds": listed[: options["ids_cap"]]}
                body["exceededTransferLimit"] = True
            return json_answer(body)
        limit = options.get("max_record_count", 1000)
        cap = min(limit, options.get("cap", limit))
        if "resultOffset" in query and not options.get("paged", True):
            return self._error(400, "Pagination is not supported.", "resultOffset")
        offset = int(query.get("resultOffset", 0))
        count = min(int(query.get("resultRecordCount", cap)), cap)
        page = numbered[offset : offset + count]
        self.served.setdefault(resource.key, set()).update(_key(i) for i, _ in page)
        body = features_json([r for _, r in page], oid)
        body["features"] = [{"attributes": {oid: i, **r}} for i, r in page]
        body["exceededTransferLimit"] = offset + count < len(numbered)
        answer = json_answer(body)
        data = json.dumps(body).encode() + etag.encode()
        answer.etag = '"' + hashlib.sha256(data).hexdigest()[:20] + '"'
        answer.modified = self.file(resource.key).modified if self.file(resource.key) else None
        return answer

    def _feed(self) -> dict[str, Any]:
        datasets = []
        for name, entry in sorted(self.datasets.items()):
            for resource in entry.resources.values():
                if not resource.options.get("hub"):
                    continue
                item, layer = self.item_id(name), resource.options["id"]
                download = f"{self.url}api/download/v1/items/{item}"
                datasets.append(
                    {
                        "@type": "dcat:Dataset",
                        "identifier": f"{self.url}datasets/{item}_{layer}",
                        "landingPage": f"{self.url}datasets/{item}_{layer}",
                        "title": resource.name,
                        "modified": dt.datetime.fromtimestamp(
                            resource.options["edited"] / 1000, dt.UTC
                        ).isoformat(timespec="milliseconds"),
                        "distribution": [
                            {
                                "title": "ArcGIS Hub Dataset",
                                "format": "Web page",
                                "mediaType": "text/html",
                                "accessURL": f"{self.url}datasets/{item}_{layer}",
                            },
                            {
                                "title": "ArcGIS GeoService",
                                "format": "ArcGIS GeoServices REST API",
                                "mediaType": "application/json",
                                "accessURL": self.layer_url(name, resource.name),
                            },
                            {
                                "title": "GeoJSON",
                                "format": "GeoJSON",
                                "mediaType": "application/vnd.geo+json",
                                "accessURL": f"{download}/geojson?layers={layer}",
                            },
                            {
                                "title": "CSV",
                                "format": "CSV",
                                "mediaType": "text/csv",
                                "accessURL": f"{download}/csv?layers={layer}",
                            },
                        ],
                    }
                )
        return {
            "@context": "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld",
            "@type": "dcat:Catalog",
            "conformsTo": "https://project-open-data.cio.gov/v1.1/schema",
            "dataset": datasets,
        }

    def _download(self, path: str, query: dict[str, str]) -> Answer | None:
        for name, entry in self.datasets.items():
            item = self.item_id(name)
            for resource in entry.resources.values():
                layer = str(resource.options["id"])
                csv_paths = (f"/api/download/v1/items/{item}/csv", f"/datasets/{item}_{layer}.csv")
                if resource.options.get("hub") and path in csv_paths:
                    if path.startswith("/api/") and query.get("layers") != layer:
                        continue
                    return self.file(resource.key)
        return None

    def _rows_of(self, resource: Resource) -> tuple[str, list[dict[str, str]]]:
        answer = self.file(resource.key)
        if answer is None:
            return "", []
        cached = self._rows.get(resource.key)
        if cached is None or cached[0] != answer.etag:
            rows = list(csv.DictReader(io.StringIO(answer.body.decode("utf-8"))))
            cached = (answer.etag or "", rows)
            self._rows[resource.key] = cached
        return cached

    def _error(self, code: int, message: str, *details: str) -> Answer:
        return json_answer({"error": {"code": code, "message": message, "details": list(details)}})

    def error(self, status: int, message: str) -> bytes:
        """Return ArcGIS's error body for a fault."""
        return json.dumps({"error": {"code": status, "message": message, "details": []}}).encode()


def _key(value: object) -> object:
    """Return an object ID as the server compares it: a number, or text."""
    if isinstance(value, (int, float)) and float(value).is_integer():
        return int(value)
    return value


def _range(where: str, oid: str) -> tuple[object, object] | None:
    """Return the bounds of ``<oid> >= a AND <oid> <= b`` (numbers, or quoted text)."""
    match = re.fullmatch(
        rf"{re.escape(oid)}\s*>=\s*(.+?)\s+AND\s+{re.escape(oid)}\s*<=\s*(.+)", where
    )
    if match is None:
        return None
    bounds: list[object] = []
    for raw in match.groups():
        if raw.startswith("'") and raw.endswith("'") and len(raw) >= 2:
            bounds.append(raw[1:-1].replace("''", "'"))
            continue
        try:
            number = float(raw)
        except ValueError:
            return None
        if not number.is_integer():
            return None  # ArcGIS object IDs are whole numbers
        bounds.append(int(number))
    return bounds[0], bounds[1]
