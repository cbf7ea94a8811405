"""Polls of a portal embedding Tableau views: exports fetched, re-polled, then withdrawn."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.timeout(180)

EXPORTS = [
    "TAB/t/Justice/views/CCW/Applicants.csv?:showVizHome=no",  # Embedding API v3, on a site
    "TAB/views/CCW/Counts.csv?:showVizHome=no",  # tableauPlaceholder embed code
    "TAB/views/CCW/Detail.csv?:showVizHome=no",  # on no page: listed by the profile API
    "TAB/views/Stops/ByBeat.csv?:showVizHome=no",  # iframe
    "TAB/views/Stops/Summary.csv?:showVizHome=no",  # a link
    "TAB/views/Stops/Trend.csv?:showVizHome=no",  # JavaScript API v2 in a script
]


@pytest.fixture(scope="module")
def run(scenario: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    polls: dict[str, Any] = scenario("tests.crawl.dashboards:tableau")["polls"]
    return polls


def test_every_embedded_view_export_is_fetched(run: dict[str, Any]) -> None:
    first = run["first"]
    assert first["ok"] is True
    assert first["seen"] == EXPORTS
    assert [f[0] for f in first["files"]] == EXPORTS
    assert first["errors"] == []


def test_provenance_is_the_tableau_kind_and_the_workbook(run: dict[str, Any]) -> None:
    assert {(f[1], f[2]) for f in run["first"]["files"]} == {
        ("tableau", "CCW"),
        ("tableau", "Stops"),
    }


def test_tableau_pages_are_not_crawled_only_exports_and_the_profile_api(
    run: dict[str, Any],
) -> None:
    hits = run["first"]["hits"]
    assert sorted(h for h in hits if not h.endswith("?:showVizHome=no")) == [
        "/",
        "/dashboards/CCW",
        "/dashboards/Empty",
        "/dashboards/Stops",
        "/profile/api/workbook/CCW",
        "/profile/api/workbook/Stops",  # 404: not on Tableau Public; not a failure
        "/robots.txt",  # the portal's
        "/robots.txt",  # the Tableau host's
    ]


def test_repoll_is_conditional_and_nothing_is_rescanned(run: dict[str, Any]) -> None:
    again = run["unchanged"]
    assert again["ok"] is True
    assert again["files"] == []
    assert again["unchanged"] == EXPORTS


def test_a_withdrawn_view_is_no_longer_linked_by_a_complete_poll(run: dict[str, Any]) -> None:
    withdrawn = run["withdrawn"]
    assert withdrawn["ok"] is True  # so the daemon resolves what it had found in it
    assert withdrawn["seen"] == [e for e in EXPORTS if "Applicants" not in e]


def test_a_failing_profile_api_makes_the_poll_incomplete(run: dict[str, Any]) -> None:
    failing = run["api_fails"]
    assert failing["ok"] is False
    assert "TAB/views/CCW/Detail.csv?:showVizHome=no" not in failing["seen"]
    assert failing["hits"].count("/profile/api/workbook/CCW") == 3  # tried, retried twice
