"""Polls of ArcGIS stand-ins: layers paged into items, re-polls, withdrawals, walks and errors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.timeout(180)

DIR = "arcgis/rest/services/"
PAGED = "query?where=1%3D1&outFields=*&orderByFields=OBJECTID"
PAGED += "&resultOffset={}&resultRecordCount={}&f=json"
COUNTS = [DIR + "Public/Permits/FeatureServer/0/" + PAGED.format(o, 2) for o in (0, 2, 4)]
APPLICANTS = DIR + "Public/Permits/FeatureServer/1/" + PAGED.format(0, 1000)
ROADS = DIR + "Basemap/FeatureServer/0/" + PAGED.format(0, 1000)
ADDRESSES = [
    DIR
    + "Legacy/MapServer/0/query?where=OBJECTID%3E%3D1%20AND%20OBJECTID%3C%3D2&outFields=*&f=json",
    DIR
    + "Legacy/MapServer/0/query?where=OBJECTID%3E%3D3%20AND%20OBJECTID%3C%3D3&outFields=*&f=json",
]
LOOKUP = DIR + "Legacy/MapServer/1/" + PAGED.format(0, 1000)
ALL = sorted([*COUNTS, APPLICANTS, ROADS, *ADDRESSES, LOOKUP])


@pytest.fixture(scope="module")
def run(scenario: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    result = scenario("tests.crawl.dashboards:arcgis")
    base = result["base"]
    polls: dict[str, Any] = result["polls"]
    for poll in [p for v in polls.values() for p in (v if isinstance(v, list) else [v])]:
        poll["seen"] = [u.removeprefix(base) for u in poll["seen"]]
    return polls


def _api(poll: dict[str, Any]) -> list[str]:
    return [h.removeprefix("/" + DIR) for h in poll["hits"] if "outFields" not in h]


def test_directory_walk_reports_every_page_of_every_queryable_layer(run: dict[str, Any]) -> None:
    first = run["first"]
    assert first["ok"] is True
    assert first["seen"] == ALL
    assert first["errors"] == []


def test_pages_follow_max_record_count_and_a_count_query(run: dict[str, Any]) -> None:
    api = _api(run["first"])
    assert "Public/Permits/FeatureServer/0/query?where=1%3D1&returnCountOnly=true&f=json" in api
    assert [s for s in run["first"]["seen"] if "Permits/FeatureServer/0/" in s] == COUNTS  # 5 rows


def test_servers_without_paging_get_object_id_ranges(run: dict[str, Any]) -> None:
    assert "Legacy/MapServer/0/query?where=1%3D1&returnIdsOnly=true&f=json" in _api(run["first"])
    assert [s for s in run["first"]["seen"] if "Legacy/MapServer/0/" in s] == ADDRESSES


def test_what_is_walked_and_what_is_not(run: dict[str, Any]) -> None:
    api = _api(run["first"])
    # The directory, its folder, and each service's layers once: Basemap is a MapServer
    # and a FeatureServer, read as the latter; Secret answers "Token Required" (499) and
    # is skipped without failing the poll; Empty has no layers.
    assert sorted(a for a in api if "query" not in a) == sorted(
        [
            "/robots.txt",
            "/arcgis/rest/services?f=json",
            "Public?f=json",
            "Basemap/FeatureServer/layers?f=json",
            "Empty/FeatureServer/layers?f=json",
            "Legacy/MapServer/layers?f=json",
            "Public/Permits/FeatureServer/layers?f=json",
            "Secret/FeatureServer/layers?f=json",
        ]
    )


def test_provenance_is_the_arcgis_kind_and_the_service(run: dict[str, Any]) -> None:
    datasets = {(f[1], f[2]) for f in run["first"]["files"]}
    assert datasets == {("arcgis", "Basemap"), ("arcgis", "Legacy"), ("arcgis", "Public/Permits")}


def test_repoll_is_conditional(run: dict[str, Any]) -> None:
    again = run["unchanged"]
    assert again["ok"] is True
    assert again["files"] == []
    assert sorted(again["unchanged"]) == ALL  # every page answered 304


def test_a_withdrawn_layer_is_no_longer_linked_by_a_complete_poll(run: dict[str, Any]) -> None:
    withdrawn = run["withdrawn"]
    assert withdrawn["ok"] is True
    assert withdrawn["seen"] == [u for u in ALL if u != APPLICANTS]


def test_a_layer_start_url_reads_that_layer_only(run: dict[str, Any]) -> None:
    layer = run["layer"]
    assert layer["ok"] is True
    assert layer["seen"] == COUNTS
    assert _api(layer)[1:3] == [
        "Public/Permits/FeatureServer/0?f=json",
        "Public/Permits/FeatureServer/0/query?where=1%3D1&returnCountOnly=true&f=json",
    ]


def test_a_hub_site_gives_one_csv_download_per_dataset(run: dict[str, Any]) -> None:
    hub = run["hub"]
    assert hub["ok"] is True
    assert len(hub["seen"]) == 1
    assert hub["seen"][0].startswith("api/download/v1/items/")
    assert hub["seen"][0].endswith("/csv?layers=1")
    assert [(f[1], f[2]) for f in hub["files"]] == [("arcgis", "Applicants")]
    assert hub["hits"][:2] == ["/robots.txt", "/api/feed/dcat-us/1.1.json"]


def test_a_large_directory_is_walked_across_polls(run: dict[str, Any]) -> None:
    walk = run["walk"]  # five services, two per poll
    assert [p["cursor"] for p in walk] == ["2", "4", None, "2"]
    assert [p["walked"] for p in walk] == [2.0, 4.0, 5.0, 2.0]
    assert {p["size"] for p in walk} == {5.0}
    assert [p["ok"] for p in walk] == [False, False, False, False]  # never the whole directory
    assert [p["last_poll"] is not None for p in walk] == [True] * 4  # yet healthy polls
    assert walk[0]["seen"] == [ROADS]  # Basemap, Empty
    assert walk[1]["seen"] == sorted([*ADDRESSES, LOOKUP, *COUNTS, APPLICANTS])  # Legacy, Public
    assert walk[2]["seen"] == []  # Secret


@pytest.mark.parametrize("case", ["error", "garbled", "folder_fails"])
def test_errors_make_the_poll_incomplete(run: dict[str, Any], case: str) -> None:
    # An in-body ArcGIS error (HTTP 200), an answer that is not JSON, a folder that fails.
    poll = run[case]
    assert poll["ok"] is False
    assert poll["last_poll"] is None
    assert poll["seen"]  # the rest of the directory is still read


def test_an_error_resumes_the_walk_at_the_failing_service(run: dict[str, Any]) -> None:
    assert run["error"]["cursor"] == "3"  # Public/Permits, whose layer 1 failed
    assert APPLICANTS not in run["error"]["seen"]
    assert run["garbled"]["cursor"] == "0"  # Basemap
