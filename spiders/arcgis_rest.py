"""The ArcGIS REST API's shapes: where a URL points in a services directory, layers, queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

__all__ = [
    "MAX_PAGE",
    "SECURED",
    "SERVICE_TYPES",
    "Layer",
    "Place",
    "error_of",
    "layer_of",
    "locate",
    "object_ids",
]

#: Service types whose layers hold rows (``ImageServer``, ``GPServer``... do not).
SERVICE_TYPES = ("FeatureServer", "MapServer")
#: Layer types with rows to query (group, raster and annotation layers are skipped).
LAYER_TYPES = frozenset({"feature layer", "table"})
#: Rows per page at most, even when a layer's ``maxRecordCount`` allows more: a page
#: of polygons can be large, and pages are scanned one by one.
MAX_PAGE = 2000
#: Rows per page when a layer does not give its ``maxRecordCount``: ArcGIS Server 9.x
#: and 10.0 layers do not say, and 9.x answers at most 500 rows a query.
DEFAULT_MAX_RECORDS = 500
#: In-body error codes of a secured resource: not public, so it cannot leak publicly.
SECURED = frozenset({401, 403, 498, 499})


@dataclass(frozen=True)
class Place:
    """Where a start URL points in an ArcGIS REST services directory.

    Attributes:
        kind: ``directory`` (``.../rest/services``), ``folder``, ``service``,
            ``layer``, or ``hub`` (anything else: an ArcGIS Hub site or its feed).
        root: the directory's ``.../rest/services`` URL (the URL itself for a hub).
        path: the part after ``root``: ``Public``, ``Public/Permits/FeatureServer``,
            ``Public/Permits/FeatureServer/3``.
    """

    kind: str
    root: str
    path: str = ""

    @property
    def url(self) -> str:
        """Return the folder, service or layer URL (the directory's for a directory)."""
        return f"{self.root}/{self.path}" if self.path else self.root


def locate(url: str) -> Place:
    """Return where a start URL points; query and fragment are dropped."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    marker = path.lower().find("/rest/services")
    if marker < 0:
        return Place("hub", urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")))
    end = marker + len("/rest/services")
    root = urlunsplit((parts.scheme, parts.netloc, path[:end], "", ""))
    rest = [s for s in path[end:].split("/") if s]
    types = [s.lower() for s in SERVICE_TYPES]
    at = next((i for i, s in enumerate(rest) if s.lower() in types), None)
    if not rest:
        return Place("directory", root)
    if at is None:
        return Place("folder", root, "/".join(rest))
    if len(rest) > at + 1 and rest[at + 1].isdigit():
        return Place("layer", root, "/".join(rest[: at + 2]))
    return Place("service", root, "/".join(rest[: at + 1]))


@dataclass(frozen=True)
class Layer:
    """A layer or table that can be queried, and how its rows are paged.

    Attributes:
        url: ``<service>/<id>``.
        service: the service's name (``Public/Permits``): the items' ``dataset``.
        name: the layer's name.
        page: rows per page: ``maxRecordCount``, at most ``MAX_PAGE``.
        oid: the object-ID field, which orders the pages; ``None`` if unknown.
        paged: whether the server pages queries (``resultOffset``); if not,
            pages are ranges of object IDs.
    """

    url: str
    service: str
    name: str
    page: int
    oid: str | None
    paged: bool

    @property
    def count_url(self) -> str:
        """Return the query that counts the layer's rows."""
        return self._query({"where": "1=1", "returnCountOnly": "true", "f": "json"})

    @property
    def ids_url(self) -> str:
        """Return the query that lists the layer's object IDs (servers without paging)."""
        return self._query({"where": "1=1", "returnIdsOnly": "true", "f": "json"})

    def page_url(self, offset: int) -> str:
        """Return the query of one page of rows, all fields, from row ``offset`` (0-based)."""
        params = {"where": "1=1", "outFields": "*"}
        if self.oid:
            params["orderByFields"] = self.oid
        params |= {"resultOffset": str(offset), "resultRecordCount": str(self.page), "f": "json"}
        return self._query(params)

    def range_url(self, first: int | str, last: int | str) -> str:
        """Return the query of the rows whose object IDs lie in ``first..last``.

        Text IDs (an ID field that is not a number) are quoted as SQL strings.
        """
        where = f"{self.oid}>={_literal(first)} AND {self.oid}<={_literal(last)}"
        return self._query({"where": where, "outFields": "*", "f": "json"})

    def _query(self, params: dict[str, str]) -> str:
        return f"{self.url}/query?{urlencode(params, safe='*', quote_via=quote)}"


def layer_of(data: Any, url: str, service: str) -> tuple[Layer | None, str]:
    """Return the queryable layer a layer description (JSON) describes, or why it is skipped.

    Args:
        data: the layer's JSON (``<layer>?f=json``, or one entry of ``<service>/layers``;
            Any: whatever the server sent).
        url: the layer's URL.
        service: the service's name.
    """
    if not isinstance(data, dict):
        return None, "its description is not a JSON object"
    kind = str(data.get("type") or "Feature Layer")
    if kind.lower() not in LAYER_TYPES:
        return None, f"it is a {kind}"
    capabilities = data.get("capabilities")
    if isinstance(capabilities, str) and "query" not in capabilities.lower():
        return None, f"it cannot be queried (capabilities {capabilities!r})"
    records = data.get("maxRecordCount")
    page = records if isinstance(records, int) and records > 0 else DEFAULT_MAX_RECORDS
    advanced = data.get("advancedQueryCapabilities")
    paged = bool(
        data.get("supportsPagination")
        or (isinstance(advanced, dict) and advanced.get("supportsPagination"))
    )
    oid = data.get("objectIdField")
    if not isinstance(oid, str) or not oid:
        fields = data.get("fields") if isinstance(data.get("fields"), list) else []
        oid = next(
            (
                str(f.get("name"))
                for f in fields
                if isinstance(f, dict) and f.get("type") == "esriFieldTypeOID" and f.get("name")
            ),
            None,
        )
    if not paged and not oid:
        return None, "the server pages no queries and the layer has no object-ID field"
    name = str(data.get("name") or url.rsplit("/", 1)[-1])
    return Layer(url, service, name, min(page, MAX_PAGE), oid, paged), ""


def error_of(data: Any) -> tuple[int, str] | None:
    """Return (code, message) of ArcGIS's in-body error (sent with HTTP 200), or ``None``.

    Any: the answer's JSON, whatever it is.
    """
    if not isinstance(data, dict) or not isinstance(data.get("error"), dict):
        return None
    error = data["error"]
    code = error.get("code")
    details = error.get("details")
    message = str(error.get("message") or "")
    if isinstance(details, list) and details:
        message = f"{message} ({'; '.join(str(d) for d in details[:3])})"
    return (code if isinstance(code, int) else 0), message or "no message"


def object_ids(values: Any) -> tuple[list[int] | list[str], int]:
    """Return a ``returnIdsOnly`` answer's object IDs, sorted, and how many were unusable.

    Any: the ``objectIds`` JSON list. Servers write IDs as integers, as floats
    (``6.4579816E7``, ArcGIS Server 10.0) or, for an ID field that is not a
    number, as strings; whole-number floats become integers. A list that mixes
    numbers and text keeps the kind most of its IDs have.
    """
    numbers: list[int] = []
    texts: list[str] = []
    bad = 0
    for value in values if isinstance(values, list) else ():
        if isinstance(value, bool):
            bad += 1
        elif isinstance(value, int):
            numbers.append(value)
        elif isinstance(value, float) and value.is_integer():
            numbers.append(int(value))
        elif isinstance(value, str) and value:
            texts.append(value)
        else:
            bad += 1
    if len(texts) > len(numbers):
        return sorted(set(texts)), bad + len(numbers)
    return sorted(set(numbers)), bad + len(texts)


def _literal(value: int | str) -> str:
    return str(value) if isinstance(value, int) else "'" + value.replace("'", "''") + "'"
