"""A Socrata catalogue is more than its datasets: maps, files and filtered views carry data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def run(scenario: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return scenario("tests.crawl.catalogues:socrata_assets")


def test_every_asset_type_with_data_is_fetched(run: dict[str, Any]) -> None:
    assert run["seen"] == run["expected"]
    assert sum("api/geospatial/" in u for u in run["seen"]) == 3  # the maps
    assert "download/pdf1-0007/application%2Fpdf" in run["seen"]  # the file
    assert "api/views/fil1-0006/rows.csv?accessType=DOWNLOAD" in run["seen"]  # filtered view
    assert len(run["files"]) == 7


def test_the_catalogue_is_asked_for_every_asset_type(run: dict[str, Any]) -> None:
    searches = [h for h in run["hits"] if h.startswith("/api/catalog/v1")]
    assert searches
    assert all("only=" not in h for h in searches)
    assert run["coverage"]["verdict"] == "complete"
    assert run["coverage"]["counts"]["checked"] == 7
