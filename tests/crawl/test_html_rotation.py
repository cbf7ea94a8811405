"""A plain site larger than the request budget: no file is left out poll after poll."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.timeout(180)

FILES = {f"data/ds-{i:02d}/data.csv" for i in range(30)}


@pytest.fixture(scope="module")
def run(scenario: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return scenario("tests.crawl.catalogues:html_rotation")


def _checked(poll: dict[str, Any]) -> set[str]:
    return {e for e in poll["answered"]}


def test_the_budget_tail_is_fetched_first_next_poll(run: dict[str, Any]) -> None:
    polls = run["polls"]
    first, second = polls[0], polls[1]
    assert first["coverage"]["counts"]["budget"] > 0  # the tail, reported
    assert not (_checked(first) & _checked(second))  # the second poll starts with the tail


def test_every_file_is_checked_within_n_over_budget_polls(run: dict[str, Any]) -> None:
    polls = run["polls"]
    per_poll = len(_checked(polls[0]))  # files one poll's budget fetches
    needed = -(-len(FILES) // per_poll)
    assert needed <= 3
    assert set().union(*(_checked(p) for p in polls[:needed])) == FILES


@pytest.fixture(scope="module")
def leak(scenario: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return scenario("tests.crawl.catalogues:html_rotation_leak")


def test_a_carry_over_larger_than_the_budget_leaves_the_start_page_its_request(
    leak: dict[str, Any],
) -> None:
    # Before: the 23 carried files claimed the whole budget of 8 and the start page was
    # dropped, so nothing published since the last poll could be found.
    assert leak["first"]["coverage"]["counts"]["budget"] > 8
    assert "/" in leak["second"]["hits"]


def test_a_file_published_during_a_long_rotation_is_fetched_next_poll(
    leak: dict[str, Any],
) -> None:
    # Never fetched before, it goes ahead of the 23 carried files' claim on the budget.
    assert leak["leak"] in leak["second"]["answered"]
