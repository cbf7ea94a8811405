"""Esri links in a DCAT catalogue are read as ArcGIS layers: their rows are scanned."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def run(scenario: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return scenario("tests.crawl.esri_links:dcat_esri")


def test_every_row_of_a_linked_service_and_layer_is_read(run: dict[str, Any]) -> None:
    served = run["served"]
    assert {k: len(v) for k, v in served.items()} == {
        "Public/Permits/Applicants": 5,  # 3 pages of 2 by offset
        "Public/Permits/Counts": 3,  # 2 pages of object-ID ranges
        "Other/Roads/Roads": 4,
    }
    pages = [u for u in run["seen"] if "/query?" in u]
    assert len(pages) == 3 + 2 + 1
    layers = {(f[1], f[2]) for f in run["files"] if "/query?" in f[0]}
    assert layers == {("dcat", "Public/Permits"), ("dcat", "Other/Roads")}


def test_an_unlinked_layer_of_the_same_server_is_not_read(run: dict[str, Any]) -> None:
    assert "Other/Roads/Signs" not in run["served"]
    assert not [h for h in run["arcgis_hits"] if "Other/Roads/FeatureServer/1" in h]


def test_what_could_not_be_read_is_named_and_the_poll_is_not_complete(run: dict[str, Any]) -> None:
    coverage = run["coverage"]
    assert coverage["counts"]["unsupported"] == 1  # the image service
    assert coverage["counts"]["error"] == 1  # the layer that is gone
    assert coverage["verdict"] == "incomplete"
    notes = " ".join(coverage["notes"])
    assert "ImageServer" in notes
    assert "Gone/Layer/FeatureServer/0" in notes  # an ArcGIS error inside HTTP 200


def test_the_catalogues_own_files_are_still_read(run: dict[str, Any]) -> None:
    assert {f"data/ds-{i:02d}/data.csv" for i in range(3)} <= set(run["seen"])
