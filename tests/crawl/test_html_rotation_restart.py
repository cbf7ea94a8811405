"""A restart continues a plain site's rotation: the stored carry-over is fetched first."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def run(scenario: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return scenario("tests.crawl.rotation_restart:html_restart")


def _files(poll: dict[str, Any]) -> list[str]:
    return [h.removeprefix("/") for h in poll["hits"] if h.startswith("/data/")]


def test_the_first_poll_leaves_a_tail_for_the_budget(run: dict[str, Any]) -> None:
    assert run["first"]["coverage"]["counts"]["budget"] == len(run["carried"]) > 0


def test_after_a_restart_the_stored_tail_is_fetched_first(run: dict[str, Any]) -> None:
    resumed = set(_files(run["resumed"]))
    # The carried files have the first claim on the budget: all it fetches are theirs.
    assert resumed
    assert resumed <= set(run["carried"])
    assert not set(_files(run["first"])) & resumed  # the rotation went on


def test_without_the_stored_tail_a_restart_starts_the_rotation_over(run: dict[str, Any]) -> None:
    # What the store prevents: a restarted daemon fetching the same head again.
    assert set(_files(run["forgot"])) == set(_files(run["first"]))
