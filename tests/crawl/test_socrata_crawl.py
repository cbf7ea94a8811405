"""Polls of Socrata stand-ins: Discovery API paging and window, fallbacks, walks and faults."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.timeout(180)


def _export(i: int) -> str:
    return f"api/views/ds{i:02d}-test/rows.csv?accessType=DOWNLOAD"


EXPORTS = [_export(i) for i in range(10)]


@pytest.fixture(scope="module")
def run(scenario: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return scenario("tests.crawl.catalogues:socrata")


def _catalogue(poll: dict[str, Any]) -> list[str]:
    # The walk's pages (the change feed's, ordered by updatedAt: test_socrata_changes.py).
    return [
        h.split("?")[1]
        for h in poll["hits"]
        if h.startswith("/api/catalog/v1") and "order=" not in h
    ]


def test_pages_through_the_discovery_api_until_result_set_size(run: dict[str, Any]) -> None:
    first = run["first"]
    assert first["ok"] is True
    assert _catalogue(first) == [f"domains=127.0.0.1&limit=1000&offset={n}" for n in (0, 4, 8)]
    assert first["seen"] == EXPORTS


def test_reports_each_datasets_csv_export_with_its_id(run: dict[str, Any]) -> None:
    files = run["first"]["files"]
    assert [(u, p, d) for u, p, d in files] == [
        (_export(i), "socrata", f"ds{i:02d}-test") for i in range(10)
    ]


def test_deleted_dataset_is_unlinked_on_a_complete_poll(run: dict[str, Any]) -> None:
    second = run["second"]
    assert second["ok"] is True
    assert second["seen"] == EXPORTS[:9]
    assert len(second["unchanged"]) == 9
    assert (second["walked"], second["size"]) == (9, 9)


def test_walks_a_domain_three_datasets_per_poll(run: dict[str, Any]) -> None:
    walk = run["walk"]
    assert [p["cursor"] for p in walk] == ["3", "6", None, "3", "6"]
    assert [(p["walked"], p["size"]) for p in walk] == [(3, 9), (6, 9), (9, 9), (3, 9), (6, 9)]
    assert [_catalogue(p)[0].split("&", 1)[1] for p in walk] == [
        "limit=3&offset=0",
        "limit=3&offset=3",
        "limit=3&offset=6",
        "limit=3&offset=0",
        "limit=3&offset=3",
    ]
    assert [p["ok"] for p in walk] == [False] * 5
    assert {u for p in walk[:3] for u in p["seen"]} == set(EXPORTS[:9])


def test_empty_domain_is_a_complete_poll(run: dict[str, Any]) -> None:
    assert run["empty"]["ok"] is True
    assert (run["empty"]["walked"], run["empty"]["size"]) == (0, 0)


def test_server_error_makes_the_poll_incomplete(run: dict[str, Any]) -> None:
    broken = run["broken"]
    assert broken["ok"] is False
    assert len(_catalogue(broken)) == 3
    assert not [h for h in broken["hits"] if "views" in h or "data.json" in h]  # no fallback


def test_rate_limit_is_waited_out(run: dict[str, Any]) -> None:
    limited = run["limited"]
    assert limited["ok"] is True
    times = [
        t for t, h in zip(limited["hit_times"], limited["hits"], strict=True) if "catalog" in h
    ]
    assert len(times) == 3
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.9
    assert limited["seen"] == EXPORTS[:2]


def test_falls_back_to_views_json_without_the_discovery_api(run: dict[str, Any]) -> None:
    views = run["views"]
    assert views["ok"] is True
    assert "/api/views.json?limit=1000&page=1" in views["hits"]
    assert views["seen"] == EXPORTS[:3]


def test_falls_back_to_data_json_without_either_api(run: dict[str, Any]) -> None:
    datajson = run["datajson"]
    assert datajson["ok"] is True
    assert "/data.json" in datajson["hits"]
    assert datajson["seen"] == EXPORTS[:3]
    assert [d for _, _, d in datajson["files"]] == ["ds00-test", "ds01-test", "ds02-test"]


def test_no_catalogue_endpoint_at_all_makes_the_poll_incomplete(run: dict[str, Any]) -> None:
    assert run["nothing"]["ok"] is False
    assert run["nothing"]["last_poll"] is None


def test_discovery_window_smaller_than_the_domain_makes_the_poll_incomplete(
    run: dict[str, Any],
) -> None:
    window = run["window"]
    assert window["ok"] is False
    assert window["seen"] == EXPORTS[:8]
    assert _catalogue(window)[-1].endswith("limit=4&offset=4")


def test_views_fallback_walks_across_polls(run: dict[str, Any]) -> None:
    polls = run["views_walk"]
    assert [p["cursor"] for p in polls] == ["views:2", None, "views:2"]
    assert [h for h in polls[1]["hits"] if "api/" in h and "rows.csv" not in h] == [
        "/api/views.json?limit=2&page=2"
    ]
    assert polls[1]["seen"] == EXPORTS[2:3]
