"""DCAT's change feed: datasets ``modified`` since the last poll are read before the walk."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def run(scenario: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return scenario("tests.crawl.catalogues:dcat_changes")


def test_a_leak_far_down_a_large_catalogue_is_read_in_the_next_poll(run: dict[str, Any]) -> None:
    first, second = run["first"], run["second"]
    assert len(first["seen"]) == 5  # the walk's share
    assert run["leak"] in second["seen"]
    files = [h for h in second["hits"] if h.startswith("/data/")]
    # Reported before the walk's share: among the first downloads (4 run at once).
    assert {run["leak"], "data/ds-27/data.csv"} <= {f.removeprefix("/") for f in files[:4]}
    assert second["cursor"] == "10"  # the walk went on: the full sweep


def test_only_what_changed_is_read_ahead_of_the_walk(run: dict[str, Any]) -> None:
    fetched = {h for h in run["second"]["hits"] if h.startswith("/data/")}
    assert len(fetched) == 7  # the changed dataset's 2 files and the walk's 5
