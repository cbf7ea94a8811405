"""Auto-detection against stand-ins, then the poll it chose: CKAN under a path, DCAT-US 1.0."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def run(scenario: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return scenario("tests.crawl.catalogues:detect_and_dcat")


def test_ckan_mounted_under_a_path_is_detected_and_walked(run: dict[str, Any]) -> None:
    poll = run["ckan"]
    assert poll["detected"] == "ckan"
    assert poll["seen"] == ["data/ds-00/data.csv", "data/ds-01/data.csv"]
    assert poll["coverage"]["verdict"] == "complete"


def test_a_dcat_us_1_0_catalogue_with_a_bom_is_detected_and_read(run: dict[str, Any]) -> None:
    poll = run["dcat"]
    assert poll["detected"] == "dcat"
    assert poll["seen"] == [f"data/ds-{i:02d}/data.csv" for i in range(3)]


def test_an_esri_image_service_link_is_not_fetched_but_reported(run: dict[str, Any]) -> None:
    # (Feature and map services are read as layers: test_dcat_esri.py.)
    poll = run["dcat"]
    assert run["esri"] not in poll["seen"]
    assert not [h for h in poll["hits"] if "ImageServer" in h]
    coverage = poll["coverage"]
    assert coverage["counts"]["unsupported"] == 1
    assert coverage["verdict"] == "incomplete"
    assert any("holds no rows" in n for n in coverage["notes"])
