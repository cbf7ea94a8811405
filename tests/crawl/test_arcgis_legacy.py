"""ArcGIS servers as they are: float and text object IDs, 9.x row caps, queries they ignore.

Every layer's rows must be read whole (the stand-in counts the rows it answered), or the
layer is reported "not checked" with the reason; never a layer passed as read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def run(scenario: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return scenario("tests.crawl.catalogues:arcgis_legacy")


def test_float_object_ids_of_a_recorded_10_0_server_are_read(run: dict[str, Any]) -> None:
    poll = run["floats"]
    assert poll["served"] == {"County/Addresses/addresses": 43}  # every row, once
    assert poll["rows"] == {"County/Addresses/addresses": 43}
    assert poll["coverage"]["verdict"] == "complete"
    assert any("OBJECTID%3E%3D64579816%20AND%20OBJECTID%3C%3D64579858" in u for u in poll["seen"])


def test_pages_of_a_layer_without_max_record_count_fit_a_9x_server(run: dict[str, Any]) -> None:
    poll = run["nine"]
    assert poll["served"] == {"Legacy/Parcels/parcels": 1200}
    assert len(poll["seen"]) == 3  # 500 + 500 + 200: the 9.x cap, never more
    assert poll["coverage"]["verdict"] == "complete"


def test_text_object_ids_in_a_field_not_named_objectid(run: dict[str, Any]) -> None:
    poll = run["strings"]
    assert poll["served"] == {"Text/Permits/permits": 7}
    assert any("PERMIT_KEY%3E%3D%27P-00000%27" in u for u in poll["seen"])
    assert poll["coverage"]["verdict"] == "complete"


def test_a_server_that_ignores_ids_or_count_queries_is_not_complete(run: dict[str, Any]) -> None:
    poll = run["lying"]
    assert poll["ok"] is False
    coverage = poll["coverage"]
    assert coverage["verdict"] == "incomplete"
    assert coverage["counts"]["error"] >= 2
    notes = " ".join(coverage["notes"])
    assert "returnIdsOnly ignored" in notes
    assert "returnCountOnly ignored" in notes


def test_a_capped_object_id_list_is_reported_not_checked(run: dict[str, Any]) -> None:
    poll = run["capped"]
    assert poll["ok"] is False
    assert poll["served"] == {"Big/Layer/rows": 4}
    assert "exceededTransferLimit" in " ".join(poll["coverage"]["notes"])
    assert poll["coverage"]["verdict"] == "incomplete"
