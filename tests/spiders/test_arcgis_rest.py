"""The ArcGIS REST shapes: where a URL points, which layers can be queried, in-body errors."""

from __future__ import annotations

from typing import Any

import pytest

from spiders.arcgis_rest import Layer, Place, error_of, layer_of, locate, object_ids

ROOT = "https://gis.example.gov/arcgis/rest/services"
HUB = "https://data-exampledoj.hub.arcgis.com"
CCW = ROOT + "/Justice/CCW_Permits/FeatureServer"


@pytest.mark.parametrize(
    ("url", "kind", "path"),
    [
        (ROOT, "directory", ""),
        (ROOT + "/?f=pjson", "directory", ""),
        ("https://gis.example.gov/server/rest/services", "directory", ""),
        (ROOT + "/Justice", "folder", "Justice"),
        (CCW, "service", "Justice/CCW_Permits/FeatureServer"),
        (ROOT + "/Parcels/MapServer?f=json", "service", "Parcels/MapServer"),
        (CCW + "/0", "layer", "Justice/CCW_Permits/FeatureServer/0"),
        (ROOT + "/Parcels/mapserver/12/query?where=1%3D1", "layer", "Parcels/mapserver/12"),
        (HUB, "hub", ""),
        (HUB + "/api/feed/dcat-us/1.1.json", "hub", ""),
    ],
)
def test_locate(url: str, kind: str, path: str) -> None:
    place = locate(url)
    assert (place.kind, place.path) == (kind, path)
    if kind != "hub":
        assert place.root.endswith("/rest/services")


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ({"type": "Group Layer"}, "it is a Group Layer"),
        ({"type": "Feature Layer", "capabilities": "Map"}, "it cannot be queried"),
        ({"type": "Table", "capabilities": "Query"}, "no object-ID field"),
        ([], "not a JSON object"),
    ],
)
def test_layers_that_are_skipped(data: Any, why: str) -> None:
    layer, reason = layer_of(data, CCW + "/9", "Justice/CCW_Permits")
    assert layer is None
    assert why in reason


def test_a_layer_without_max_record_count_gets_pages_a_9x_server_answers_whole() -> None:
    layer, _ = layer_of({"name": "X", "objectIdField": "OID"}, CCW + "/9", "s")
    assert layer is not None
    assert (layer.page, layer.paged) == (500, False)  # 9.x and 10.0 do not say; 9.x caps at 500


def test_error_of_reads_arcgis_error_bodies() -> None:
    assert error_of({"error": {"code": 499, "message": "Token Required", "details": []}}) == (
        499,
        "Token Required",
    )
    assert error_of({"error": {"message": "x", "details": ["a", "b"]}}) == (0, "x (a; b)")
    assert error_of({"count": 3}) is None
    assert error_of([]) is None


def test_place_url() -> None:
    assert Place("layer", ROOT, "A/FeatureServer/1").url == ROOT + "/A/FeatureServer/1"
    assert Place("directory", ROOT).url == ROOT


@pytest.mark.parametrize(
    ("values", "ids", "unusable"),
    [
        ([3, 1, 2], [1, 2, 3], 0),
        ([6.4579816e7, 6.4579817e7], [64579816, 64579817], 0),  # a recorded 10.0 server
        (["P-2", "P-1"], ["P-1", "P-2"], 0),
        ([1.5, None, True, 4], [4], 3),
        ("not a list", [], 0),
    ],
)
def test_object_ids_accept_what_servers_write(
    values: object, ids: list[object], unusable: int
) -> None:
    assert object_ids(values) == (ids, unusable)


def test_text_object_ids_are_quoted_in_ranges() -> None:
    layer = Layer(CCW + "/0", "s", "X", 500, "KEY", False)
    assert "KEY%3E%3D%27O%27%27Brien%27" in layer.range_url("O'Brien", "P")
