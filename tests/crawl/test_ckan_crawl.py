"""Polls of CKAN stand-ins: what is walked, fetched and reported, and when a poll is complete."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.timeout(180)

FILES = [f"data/ds-{i:02d}/data.csv" for i in range(10)]


@pytest.fixture(scope="module", params=["default", "asyncio"])
def run(request: pytest.FixtureRequest, scenario: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """Run the scenario on Twisted's default reactor (the daemon's) and on asyncio's."""
    return scenario("tests.crawl.catalogues:ckan", request.param)


def _searches(poll: dict[str, Any]) -> list[str]:
    """Return the walk's package_search pages (not the change feed: test_ckan_changes.py)."""
    return [h.split("&sort=")[0] for h in poll["hits"] if "package_search" in h and "fq=" not in h]


def test_pages_through_package_search_until_count(run: dict[str, Any]) -> None:
    first = run["first"]
    assert first["ok"] is True
    assert first["done_ok"] is True
    assert _searches(first) == [
        f"/api/3/action/package_search?rows=1000&start={n}" for n in (0, 4, 8)
    ]  # the portal gives 4 a page whatever is asked; the spider follows what it got
    assert all("sort=metadata_created+asc%2C+id+asc" in h for h in first["hits"] if "search" in h)


def test_reports_every_resource_and_datastore_dump_with_provenance(run: dict[str, Any]) -> None:
    first = run["first"]
    dump = run["dumps"]["ds-03"]
    assert first["seen"] == sorted([*FILES, dump])
    assert (dump, "ckan", "ds-03") in [tuple(f) for f in first["files"]]
    assert all(
        portal == "ckan" and url.startswith(f"data/{ds}/")
        for url, portal, ds in [
            tuple(f) for f in first["files"] if not f[0].startswith("datastore/")
        ]
    )


def test_reads_a_dataset_without_resources_in_search_with_package_show(
    run: dict[str, Any],
) -> None:
    shows = [h for h in run["first"]["hits"] if "package_show" in h]
    assert len(shows) == 1
    assert "data/ds-05/data.csv" in run["first"]["seen"]


def test_resources_on_other_hosts_are_not_fetched(run: dict[str, Any]) -> None:
    assert not [u for u in run["first"]["seen"] if "far.csv" in u]


def test_unchanged_repoll_is_conditional_and_a_withdrawn_resource_is_unlinked(
    run: dict[str, Any],
) -> None:
    second = run["second"]
    assert second["ok"] is True
    assert second["files"] == []
    assert "data/ds-09/data.csv" not in second["seen"]
    assert len(second["unchanged"]) == len(second["seen"]) == 10
    assert second["errors"] == []


def test_walks_a_catalogue_three_datasets_per_poll(run: dict[str, Any]) -> None:
    walk = run["walk"]
    assert [p["cursor"] for p in walk] == ["3", "6", "9", None, "3"]
    assert [p["walked"] for p in walk] == [3, 6, 9, 10, 3]
    assert [p["size"] for p in walk] == [10] * 5
    assert [_searches(p)[0].split("?")[1] for p in walk] == [
        "rows=3&start=0",
        "rows=3&start=3",
        "rows=3&start=6",
        "rows=3&start=9",
        "rows=3&start=0",
    ]
    seen = {u for p in walk[:4] for u in p["seen"]}
    assert seen == {*FILES[:9], run["dumps"]["ds-03"]}  # ds-09's resource was withdrawn


def test_a_partial_walk_is_not_ok_but_is_a_successful_poll(run: dict[str, Any]) -> None:
    assert [p["ok"] for p in run["walk"]] == [False] * 5
    assert [p["done_ok"] for p in run["walk"]] == [False] * 5
    assert all(p["last_poll"] is not None for p in run["walk"])


def test_empty_catalogue_is_a_complete_poll(run: dict[str, Any]) -> None:
    empty = run["empty"]
    assert empty["ok"] is True
    assert empty["seen"] == []
    assert (empty["walked"], empty["size"]) == (0, 0)


def test_api_error_is_retried_then_makes_the_poll_incomplete(run: dict[str, Any]) -> None:
    broken = run["broken"]
    assert broken["ok"] is False
    assert len(_searches(broken)) == 3  # RetryMiddleware's two retries
    assert broken["last_poll"] is None
    assert broken["seen"] == []


def test_an_answer_that_is_not_success_makes_the_poll_incomplete(run: dict[str, Any]) -> None:
    assert run["garbled"]["ok"] is False
    assert run["garbled"]["last_poll"] is None


def test_rate_limit_is_waited_out_as_retry_after_asks(run: dict[str, Any]) -> None:
    limited = run["limited"]
    assert limited["ok"] is True
    times = [t for t, h in zip(limited["hit_times"], limited["hits"], strict=True) if "search" in h]
    assert len(times) == 3
    assert times[1] - times[0] >= 0.9
    assert times[2] - times[1] >= 0.9
    assert sorted(u for u, _, _ in limited["files"]) == [
        "data/ds-00/data.csv",
        "data/ds-01/data.csv",
    ]


def test_rate_limit_longer_than_the_timeout_is_not_retried(run: dict[str, Any]) -> None:
    patient = run["patient"]
    assert patient["ok"] is False
    assert len(_searches(patient)) == 1


def test_failed_page_resumes_the_walk_there_next_poll(run: dict[str, Any]) -> None:
    failed, resumed, fresh = run["midway"]
    assert failed["ok"] is False
    assert failed["cursor"] == "4"
    assert failed["seen"] == FILES[:4]  # the first page's files still arrive
    assert [s.split("?")[1] for s in _searches(resumed)] == [
        "rows=1000&start=4",
        "rows=1000&start=8",
    ]
    assert resumed["ok"] is False  # it saw only the rest of the catalogue
    assert resumed["cursor"] is None
    assert fresh["ok"] is True
    assert fresh["seen"] == FILES


def test_a_small_request_budget_shortens_the_walk_without_dropping_files(
    run: dict[str, Any],
) -> None:
    polls = run["budget"]
    assert [p["ok"] for p in polls] == [False] * 4
    for poll in polls:
        assert poll["seen"]
        assert poll["answered"] == poll["seen"]  # every file linked was fetched
    cursors = [p["cursor"] for p in polls]
    assert cursors[0] not in (None, "3")
    seen = {u for p in polls[: cursors.index(None) + 1] for u in p["seen"]}
    assert seen == {*FILES[:9], run["dumps"]["ds-03"]}
