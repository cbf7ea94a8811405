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


#: The views whose sessions the crawl opens (each is watched for what it offers).
VIEWS = [e.removesuffix(".csv?:showVizHome=no") for e in EXPORTS]


@pytest.fixture(scope="module")
def run(scenario: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    polls: dict[str, Any] = scenario("tests.crawl.dashboards:tableau")["polls"]
    return polls


def test_every_embedded_view_export_is_fetched(run: dict[str, Any]) -> None:
    first = run["first"]
    assert first["ok"] is True
    assert sorted(first["seen"]) == sorted(EXPORTS + VIEWS)
    assert [f[0] for f in first["files"]] == EXPORTS
    assert first["errors"] == []


def test_provenance_is_the_tableau_kind_and_the_workbook(run: dict[str, Any]) -> None:
    assert {(f[1], f[2]) for f in run["first"]["files"]} == {
        ("tableau", "CCW"),
        ("tableau", "Stops"),
    }


def test_tableau_pages_are_not_crawled_only_exports_sessions_and_the_profile_api(
    run: dict[str, Any],
) -> None:
    hits = run["first"]["hits"]
    portal = ["/", "/dashboards/CCW", "/dashboards/Empty", "/dashboards/Stops"]
    assert sorted(h for h in hits if h.startswith("/dashboards") or h == "/") == portal
    assert hits.count("/robots.txt") == 2  # the portal's and the Tableau host's
    others = [h for h in hits if h not in portal and h != "/robots.txt"]
    session = ("/views/", "/t/Justice/views/", "POST /vizql/", "/profile/api/", "/workbooks/")
    assert [h for h in others if not h.startswith(session)] == []
    views = sorted(h for h in others if h.endswith("?:embed=y&:showVizHome=no"))
    assert len(views) == len(VIEWS)  # one session per view and poll
    bootstraps = [h for h in others if "/bootstrapSession/" in h]
    assert len(bootstraps) == len(VIEWS)
    assert "/profile/api/workbook/CCW" in others  # Tableau Public's list of sheets


def test_repoll_is_conditional_and_nothing_is_rescanned(run: dict[str, Any]) -> None:
    again = run["unchanged"]
    assert again["ok"] is True
    assert again["files"] == []
    assert again["unchanged"] == EXPORTS


def test_a_withdrawn_view_is_no_longer_linked_by_a_complete_poll(run: dict[str, Any]) -> None:
    withdrawn = run["withdrawn"]
    assert withdrawn["ok"] is True  # so the daemon resolves what it had found in it
    assert sorted(withdrawn["seen"]) == sorted(e for e in EXPORTS + VIEWS if "Applicants" not in e)


def test_a_failing_profile_api_makes_the_poll_incomplete(run: dict[str, Any]) -> None:
    failing = run["api_fails"]
    assert failing["ok"] is False
    assert "TAB/views/CCW/Detail.csv?:showVizHome=no" not in failing["seen"]
    assert failing["hits"].count("/profile/api/workbook/CCW") == 3  # tried, retried twice
