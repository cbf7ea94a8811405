"""ArcGIS's change feed: layers edited and Hub datasets modified since the last poll first."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def run(scenario: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return scenario("tests.crawl.feeds:arcgis_changes")


def _pages(poll: dict[str, Any]) -> list[str]:
    return [h for h in poll["hits"] if "outFields=" in h]


def test_the_first_poll_reads_no_edit_dates_outside_its_share(run: dict[str, Any]) -> None:
    first = run["first"]
    described = [h for h in first["hits"] if h.endswith("/layers?f=json")]
    assert len(described) == 3  # the walk's share only
    assert first["cursor"] == "3"


def test_a_layer_edited_far_down_the_directory_is_read_first(run: dict[str, Any]) -> None:
    second = run["second"]
    leak = "/" + run["leak"] + "/query?"  # /arcgis/rest/services/Svc/S10/FeatureServer/0
    pages = _pages(second)
    assert pages[0].startswith(leak)  # its rows before the walk's
    # Outside the walk's share (S03-S05: a page each) only the edited layer is read.
    assert len(pages) == 4
    # Every other service's edit date was asked for (one request each), not its rows.
    described = [h for h in second["hits"] if h.endswith("/layers?f=json")]
    assert len(described) == 12
    assert second["cursor"] == "6"  # the walk went on: the full sweep


def test_a_hub_dataset_modified_since_the_last_poll_is_read_first(run: dict[str, Any]) -> None:
    first, second = run["hub_first"], run["hub_second"]
    assert not any(run["hub_leak"] in h for h in first["hits"])
    downloads = [h for h in second["hits"] if "/api/download/" in h]
    # The walk's 2 and the changed dataset outside them (the three download at once).
    assert len(downloads) == 3
    assert any(run["hub_leak"] in h for h in downloads)
    assert second["cursor"] == "4"
