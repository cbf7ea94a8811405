"""Tableau view URLs: every shape a view is linked by, and the near misses that are not views."""

from __future__ import annotations

import pytest

from spiders.tableau_views import View, may_show_view, view_of

PUBLIC = "https://public.tableau.com"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (PUBLIC + "/views/CCWApplicants/Applicants", (PUBLIC, None, "CCWApplicants", "Applicants")),
        (
            PUBLIC + "/views/Wb/Sheet?:embed=y&:display_count=n",
            (PUBLIC, None, "Wb", "Sheet"),
        ),
        (PUBLIC + "/views/Wb/Sheet.csv", (PUBLIC, None, "Wb", "Sheet")),
        (
            PUBLIC + "/app/profile/example.doj/viz/DeathsInCustody/Trends",
            (PUBLIC, None, "DeathsInCustody", "Trends"),
        ),
        (
            PUBLIC + "/profile/example.doj#!/vizhome/UseOfForce/Incidents",
            (PUBLIC, None, "UseOfForce", "Incidents"),
        ),
        (
            "https://bi.example.gov/#/site/Police/views/Stops/ByBeat?:iid=1",
            ("https://bi.example.gov", "Police", "Stops", "ByBeat"),
        ),
        (
            "https://bi.example.gov/#/views/Budget/Spending",
            ("https://bi.example.gov", None, "Budget", "Spending"),
        ),
        (
            "https://bi.example.gov/t/Police/views/Stops/ByBeat",
            ("https://bi.example.gov", "Police", "Stops", "ByBeat"),
        ),
        (
            "https://bi.example.gov/views/Stops/ByBeat/jdoe@example.gov/MyView",
            None,  # a custom view on a host that does not say "tableau": not trusted
        ),
        (
            "https://tableau.example.gov/views/Stops/ByBeat/jdoe@example.gov/MyView",
            ("https://tableau.example.gov", None, "Stops", "ByBeat"),
        ),
        # Near misses: not views.
        ("https://www.example.gov/views/news/latest", None),
        ("https://www.example.gov/views/archive", None),
        (PUBLIC + "/views/OnlyAWorkbook", None),
        (PUBLIC + "/app/profile/example.doj", None),
        ("https://bi.example.gov/#/projects/12", None),
        ("ftp://tableau.example.gov/views/a/b", None),
    ],
)
def test_view_urls(url: str, expected: tuple[str, str | None, str, str] | None) -> None:
    assert view_of(url) == (View(*expected) if expected else None)


def test_a_bare_views_path_counts_when_the_page_loads_tableau_from_that_host() -> None:
    url = "https://bi.example.gov/views/Stops/ByBeat"
    assert view_of(url) is None
    assert view_of(url, trusted=True) == View("https://bi.example.gov", None, "Stops", "ByBeat")


def test_export_is_the_view_csv_without_viz_home() -> None:
    view = View("https://bi.example.gov", "Open Justice", "Fire arms", "By County")
    assert view.url == "https://bi.example.gov/t/Open%20Justice/views/Fire%20arms/By%20County"
    assert view.export == view.url + ".csv?:showVizHome=no"


@pytest.mark.parametrize(
    "url",
    [
        PUBLIC + "/views/CCWApplicants/Applicants",
        PUBLIC + "/app/profile/example.doj/viz/DeathsInCustody/Trends",
        PUBLIC + "/profile/example.doj#!/vizhome/UseOfForce/Incidents",
        "https://bi.example.gov/#/site/Police/views/Stops/ByBeat?:iid=1",
        "https://TABLEAU.example.gov/VIEWS/Stops/ByBeat",
        "https://tableau.example.gov/%76iews/Stops/ByBeat",  # "views", percent-encoded
        PUBLIC + "/shared/ABC123XYZ",
    ],
)
def test_the_cheap_test_never_turns_a_view_or_shared_link_away(url: str) -> None:
    # The spiders skip the full parse of links that fail it, on every page, every poll.
    assert may_show_view(url)


def test_a_view_hidden_by_percent_encoding_is_still_a_view() -> None:
    url = "https://tableau.example.gov/%76iews/Stops/ByBeat"
    assert view_of(url) == View("https://tableau.example.gov", None, "Stops", "ByBeat")


@pytest.mark.parametrize(
    "link", ["/data/table_000001.csv", "https://data.example.gov/catalog/page/2/", "about.html"]
)
def test_ordinary_links_fail_the_cheap_test(link: str) -> None:
    assert not may_show_view(link)
