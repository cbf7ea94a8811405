"""CKAN behind the robots.txt CKAN ships: the /dataset pages instead of the API, never silence."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.timeout(180)

FILES = sorted(f"data/ds-{i:02d}/data.csv" for i in range(45))


@pytest.fixture(scope="module")
def run(scenario: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """Run the scenario once, on the daemon's reactor."""
    return scenario("tests.crawl.catalogues:ckan_robots")


def test_robots_disallowing_the_api_falls_back_to_the_dataset_pages(run: dict[str, Any]) -> None:
    first = run["obeyed"][0]
    assert not [h for h in first["hits"] if h.startswith("/api/")]  # robots.txt obeyed
    assert first["seen"] == FILES  # every resource, from the /dataset pages
    assert [h for h in first["hits"] if h.startswith("/dataset/?")] == [
        f"/dataset/?page={n}" for n in (1, 2, 3)
    ]


def test_what_the_fallback_cannot_see_is_reported_not_silent(run: dict[str, Any]) -> None:
    first, second = run["obeyed"]
    coverage = first["coverage"]
    assert coverage["verdict"] == "incomplete"
    assert coverage["counts"]["checked"] == 45
    assert coverage["counts"]["robots"] == 1  # the Action API (and so its DataStore dumps)
    assert any("robots.txt disallows the Action API" in n for n in coverage["notes"])
    assert first["resources"]["robots"] == 1.0
    assert first["resources"]["discovered"] == 46.0
    assert second["coverage"]["counts"]["unchanged"] == 45
    assert second["coverage"]["incomplete_since"] == coverage["incomplete_since"]
    assert first["ok"] is True  # the listing was whole: unlisted files may be taken as gone


def test_robots_ignore_reads_the_api_and_the_datastore_dumps(run: dict[str, Any]) -> None:
    ignored = run["ignored"]
    assert [h for h in ignored["hits"] if "package_search" in h]
    assert ignored["seen"] == sorted([*FILES, run["dump"]])
    assert ignored["coverage"]["verdict"] == "complete"
    assert ignored["coverage"]["counts"]["checked"] == 46
    assert not [h for h in ignored["hits"] if h == "/robots.txt"]


def test_the_fallback_walks_across_polls_page_by_page(run: dict[str, Any]) -> None:
    walk = run["walk"]
    # 25 datasets a poll: page 1 and 5 of page 2; then the rest of page 2 and page 3: all
    # 45 in two polls (45 / 25 rounded up), none twice; the third poll starts over.
    assert [p["cursor"] for p in walk] == ["page:2:5", None, "page:2:5"]
    assert [len(p["seen"]) for p in walk] == [25, 20, 25]
    assert {u for p in walk[:2] for u in p["seen"]} == set(FILES)
    assert [p["coverage"]["verdict"] for p in walk] == ["incomplete"] * 3


def test_a_small_budget_shortens_the_fallback_walk_without_dropping_files(
    run: dict[str, Any],
) -> None:
    polls = run["budget"]
    for poll in polls:
        assert poll["answered"] == poll["seen"]
        assert poll["coverage"]["counts"]["budget"] == 0
    cursors = [p["cursor"] for p in polls]
    assert cursors[0] is not None
    through = cursors.index(None)  # the walk ends, every file checked once, then starts over
    walked = [u for p in polls[: through + 1] for u in p["seen"]]
    assert sorted(walked) == FILES
    assert through + 1 == -(-45 // len(polls[0]["seen"]))  # ceil(N / datasets per poll)


def test_crawl_delay_is_respected(run: dict[str, Any]) -> None:
    delayed = run["delayed"]
    times = [
        t for t, h in zip(delayed["hit_times"], delayed["hits"], strict=True) if h != "/robots.txt"
    ]
    assert len(times) >= 4  # listing, two dataset pages, two files
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.9
