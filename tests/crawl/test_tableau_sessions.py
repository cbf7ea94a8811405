"""Viz sessions: every download a visitor has is watched, and what could not be read is said.

Against the stand-in Tableau server (``monitor.standin_tableau``), whose answers
have the shapes of recorded real responses (sources in ``monitor/vizql/encode.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from monitor.vizql.envelope import MAGIC
from tests.crawl.tableau_sessions import APPLICANT_COLUMNS, applicants

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.timeout(180)

FULL = "TAB/views/CCW/Applicants#full-data:Applicants"
FULL_JSON = "TAB/views/CCW/Detail#full-data:Detail"
CROSSTAB = "TAB/views/CCW/Applicants#crosstab:Applicants"
WORKBOOK = "TAB/workbooks/Public.twb"


@pytest.fixture(scope="module")
def run(scenario: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    polls: dict[str, Any] = scenario("tests.crawl.tableau_sessions:sessions")["polls"]
    return polls


def test_full_data_behind_a_clean_summary_export_is_fetched_as_its_own_resource(
    run: dict[str, Any],
) -> None:
    files = run["first"]["files"]
    assert files[FULL]["dataset"] == (
        "Full data of view CCW/Applicants; allowed by Download Full Data / View Underlying Data"
        " (allow_view_underlying)"
    )
    assert files[FULL]["portal"] == "tableau"
    assert "TAB/views/CCW/Applicants.csv?:showVizHome=no" in files  # the summary, as before


def test_full_data_comes_as_the_vudcsv_csv_or_as_the_commands_json(run: dict[str, Any]) -> None:
    bodies = run["first"]["bodies"]
    csv_head = bytes.fromhex(bodies["full-data:Applicants"])
    assert csv_head.startswith(b"\xef\xbb\xbfFirst Name,Last Name,Date of Birth")
    json_head = bytes.fromhex(bodies["full-data:Detail"])
    assert json_head.startswith(MAGIC)  # the command's answer with the session's dictionary


def test_crosstab_is_fetched_as_the_sheet_shows_it_utf16_tab_separated(run: dict[str, Any]) -> None:
    assert run["first"]["files"][CROSSTAB]["dataset"].startswith(
        "Crosstab of sheet Applicants in view CCW/Applicants; allowed by Download Summary Data"
    )
    head = bytes.fromhex(run["first"]["bodies"]["crosstab:Applicants"])
    assert head.startswith(b"\xff\xfe")
    assert "county\tyear\tapplications".encode("utf-16-le") in head


def test_public_workbook_is_fetched_when_its_profile_allows_data_access(
    run: dict[str, Any],
) -> None:
    assert run["first"]["files"][WORKBOOK]["dataset"].startswith("Packaged workbook Public")
    assert bytes.fromhex(run["first"]["bodies"]["Public.twb"]).startswith(b"PK\x03\x04")
    exposure = run["first"]["exposures"]["Public/Roster"]
    assert exposure["offers"] == ["summary_data", "workbook"]
    assert exposure["permissions"]["allowDataAccess"] is True


def test_each_view_records_its_permission_flags_and_what_it_offers(run: dict[str, Any]) -> None:
    exposures = run["first"]["exposures"]
    assert exposures["CCW/Applicants"]["offers"] == ["summary_data", "full_data", "crosstab"]
    assert exposures["CCW/Applicants"]["permissions"] == {
        "allow_export_data": True,
        "allow_summary": True,
        "allow_view_underlying": True,
    }
    assert exposures["CCW/Applicants"]["url"] == "TAB/views/CCW/Applicants"
    assert exposures["Stops/Overview"]["offers"] == ["summary_data"]  # permission off: fine


def test_a_view_offering_summary_only_adds_no_download_and_no_failure(run: dict[str, Any]) -> None:
    first = run["first"]
    assert not [u for u in first["files"] if u.startswith("TAB/views/Stops/Overview#")]
    assert not [u for u in first["errors"] if "Stops" in u]


def test_newer_servers_session_comes_from_start_session(run: dict[str, Any]) -> None:
    hits = run["first"]["hits"]
    assert any(h.startswith("POST /vizql/w/CCW/v/Detail/startSession/viewing") for h in hits)
    assert FULL_JSON in run["first"]["files"]


def test_dashboard_asks_full_data_per_worksheet_only_when_offered(run: dict[str, Any]) -> None:
    hits = run["first"]["hits"]
    assert any("/w/Stops/v/Overview/bootstrapSession/" in h for h in hits)
    assert not any("/w/Stops/v/Overview/" in h and "vudcsv" in h for h in hits)


def test_a_challenge_page_or_refused_session_is_could_not_check_never_clean(
    run: dict[str, Any],
) -> None:
    first = run["first"]
    errors = first["errors"]
    assert errors["TAB/views/Guarded/Waf"].startswith("could not check the view of Tableau view")
    assert "HTTP 403" in errors["TAB/views/Guarded/Waf"]
    assert "bootstrapSession answers HTTP 403" in errors["TAB/views/Guarded/Refused"]
    assert "Guarded/Waf" not in first["exposures"]  # nothing is claimed of an unread view
    assert first["ok"] is False
    assert first["done"][0]["ok"] is False


def test_unchanged_session_downloads_are_recognised_by_content(run: dict[str, Any]) -> None:
    again = run["again"]
    assert FULL in again["unchanged"]
    assert CROSSTAB in again["unchanged"]
    assert FULL_JSON in again["unchanged"]
    assert WORKBOOK in again["unchanged"]
    assert again["files"] == {}


def test_shared_link_is_resolved_to_its_view(run: dict[str, Any]) -> None:
    assert "Shared/Counts" in run["first"]["exposures"]
    assert any(h.startswith("/shared/") for h in run["first"]["hits"])


def test_a_forbidden_mechanism_is_marked_in_the_exposure(run: dict[str, Any]) -> None:
    exposures = run["forbidden"]["exposures"]
    assert exposures["CCW/Applicants"]["forbidden"] == ["full_data"]
    assert exposures["Public/Roster"]["forbidden"] == []


def test_view_urls_and_downloads_are_in_the_polls_seen_set(run: dict[str, Any]) -> None:
    seen = run["first"]["done"][0]["seen"]
    for url in (FULL, CROSSTAB, WORKBOOK, "TAB/views/CCW/Applicants", "TAB/views/Guarded/Waf"):
        assert url in seen


def test_an_unknown_or_cut_bootstrap_is_could_not_check(run: dict[str, Any]) -> None:
    errors = run["first"]["errors"]
    assert "bootstrapSession: unknown response shape" in errors["TAB/views/Guarded/Shape"]
    assert errors["TAB/views/Guarded/Cut"].startswith("could not check the view")
    assert "Guarded/Shape" not in run["first"]["exposures"]


def test_one_session_per_host_at_a_time_when_configured(run: dict[str, Any]) -> None:
    """With ``sessions_per_host: 1`` each view's session ends before the next one starts."""
    sessions = [
        h.split("/v/")[1].split("/")[0]
        for h in run["forbidden"]["hits"]
        if h.startswith("POST /vizql/") and "/v/" in h
    ]
    runs = [name for i, name in enumerate(sessions) if i == 0 or sessions[i - 1] != name]
    assert len(runs) == len(set(runs))  # no view's requests resume after another's began
    assert len(set(runs)) >= 5


def test_second_answer_of_a_session_decodes_against_the_first_answers_values(
    run: dict[str, Any],
) -> None:
    """Each answer numbers its values after the session's earlier ones (two worksheets)."""
    decoded = run["first"]["decoded"]
    expected = [[_text(v) for v in row] for row in applicants(40)]
    for sheet in ("Bookings", "Releases"):
        table = decoded[f"full-data:{sheet}"]
        assert table["columns"] == APPLICANT_COLUMNS
        assert table["declared"] == 40
        assert [list(r) for r in table["rows"]] == expected


def _text(value: object) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
