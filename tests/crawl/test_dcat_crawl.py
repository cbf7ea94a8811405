"""Polls of DCAT-US stand-ins: distributions reported, landing pages skipped, walks and faults."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.timeout(180)

FILES = [f"data/ds-{i:02d}/data.csv" for i in range(10)]


@pytest.fixture(scope="module")
def run(scenario: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return scenario("tests.crawl.catalogues:dcat")


def _api(poll: dict[str, Any]) -> list[str]:
    return [h for h in poll["hits"] if not h.startswith("/data/")]


def test_site_root_reads_its_data_json_once_per_poll(run: dict[str, Any]) -> None:
    assert _api(run["first"]) == ["/robots.txt", "/data.json"]


def test_reports_download_urls_and_data_access_urls_only(run: dict[str, Any]) -> None:
    first = run["first"]
    assert first["ok"] is True
    # access.csv is an accessURL with a data mediaType; ds-04's "Export" accessURL is the
    # same file as its downloadURL, so it is reported once. The landing page, the map
    # service and the file on another host are not reported.
    assert first["seen"] == sorted([*FILES, "data/ds-01/access.csv"])
    assert first["errors"] == []


def test_dataset_identifier_is_the_provenance(run: dict[str, Any]) -> None:
    for url, portal, dataset in run["first"]["files"]:
        assert portal == "dcat"
        assert dataset == f"{run['base']}id/{url.split('/')[1]}"


def test_withdrawn_distribution_is_unlinked_on_a_complete_poll(run: dict[str, Any]) -> None:
    second = run["second"]
    assert second["ok"] is True
    assert "data/ds-09/data.csv" not in second["seen"]
    assert len(second["unchanged"]) == len(second["seen"]) == 10


def test_walks_a_catalogue_three_datasets_per_poll(run: dict[str, Any]) -> None:
    walk = run["walk"]
    assert [p["cursor"] for p in walk] == ["3", "6", "9", None, "3"]
    assert [(p["walked"], p["size"]) for p in walk] == [
        (3, 10),
        (6, 10),
        (9, 10),
        (10, 10),
        (3, 10),
    ]
    assert [p["ok"] for p in walk] == [False] * 5
    assert all(p["last_poll"] is not None for p in walk)
    assert walk[1]["seen"] == FILES[3:6]
    seen = {u for p in walk[:4] for u in p["seen"]}
    assert seen == {*FILES[:9], "data/ds-01/access.csv"}


def test_empty_catalogue_is_a_complete_poll(run: dict[str, Any]) -> None:
    assert run["empty"]["ok"] is True
    assert (run["empty"]["walked"], run["empty"]["size"]) == (0, 0)


def test_server_error_makes_the_poll_incomplete(run: dict[str, Any]) -> None:
    assert run["broken"]["ok"] is False
    assert _api(run["broken"]).count("/data.json") == 3
    assert run["broken"]["last_poll"] is None


def test_catalogue_that_is_not_json_makes_the_poll_incomplete(run: dict[str, Any]) -> None:
    assert run["garbled"]["ok"] is False
    assert run["garbled"]["seen"] == []


def test_rate_limited_catalogue_is_read_after_retry_after(run: dict[str, Any]) -> None:
    limited = run["limited"]
    assert limited["ok"] is True
    times = [
        t for t, h in zip(limited["hit_times"], limited["hits"], strict=True) if h == "/data.json"
    ]
    assert len(times) == 2
    assert times[1] - times[0] >= 0.9
    assert limited["seen"] == FILES[:2]


def test_legacy_top_level_list_at_an_explicit_url(run: dict[str, Any]) -> None:
    legacy = run["legacy"]
    assert legacy["ok"] is True
    assert "/inventory/catalog.json" in legacy["hits"]
    assert legacy["seen"] == FILES[:2]
