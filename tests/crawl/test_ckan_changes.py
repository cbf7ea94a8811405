"""CKAN's change feed: what changed since the last poll is read first, the walk goes on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def run(scenario: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return scenario("tests.crawl.catalogues:ckan_changes")


def _searches(poll: dict[str, Any]) -> list[str]:
    return [h for h in poll["hits"] if "package_search" in h]


def test_the_first_poll_has_no_change_feed(run: dict[str, Any]) -> None:
    assert not [h for h in _searches(run["first"]) if "fq=" in h]
    assert run["first"]["cursor"] == "5"


def test_a_leak_far_down_a_large_catalogue_is_read_first_in_the_next_poll(
    run: dict[str, Any],
) -> None:
    second = run["second"]
    feeds = [h for h in _searches(second) if "fq=" in h]
    assert len(feeds) == 1
    assert "fq=metadata_modified%3A%5B" in feeds[0]
    assert "sort=metadata_modified+desc" in feeds[0]
    assert (run["leak"], "ckan", "ds-27") in [tuple(f) for f in second["files"]]
    fetched = {h for h in second["hits"] if h.startswith("/data/")}
    assert len(fetched) == 7  # the changed dataset's 2 files and the walk's 5, no more
    files = [h for h in second["hits"] if h.startswith("/data/")]
    assert set(files[:2]) == {"/" + run["leak"], "/data/ds-27/data.csv"}  # before the walk's
    # The walk still goes on where it was: the full sweep, for servers whose times lie.
    assert (
        next(h for h in _searches(second) if "fq=" not in h)
        .split("?")[1]
        .startswith("rows=5&start=5")
    )
    assert second["cursor"] == "10"
