"""bootstrapSession: worksheets, dashboard, viewIds and data segments."""

from __future__ import annotations

import pytest

from monitor.errors import TableauProtocolError
from monitor.vizql.bootstrap import parse_bootstrap
from monitor.vizql.encode import encode_bootstrap, frame_chunks
from tests.vizql.recorded import TWO_SEGMENTS, load


def test_reads_tableau_scraping_bootstrap_shape() -> None:
    boot = parse_bootstrap(frame_chunks(load("bootstrap_info.json"), load("bootstrap_data.json")))
    assert boot.sheet_name == "[SHEET_NAME]"
    assert boot.worksheets == ("[WORKSHEET1]", "[WORKSHEET2]")
    assert boot.dashboard == "[SHEET_NAME]"
    assert boot.view_ids == {"[WORKSHEET1]": "12302628778901485932_5034431464735168763"}
    assert list(boot.segments) == ["0", "1"]
    assert boot.segments["1"] == TWO_SEGMENTS["1"]


def test_story_point_bootstrap_still_parses() -> None:
    boot = parse_bootstrap(frame_chunks(load("bootstrap_info_story_points.json")))
    assert boot.segments == {}
    assert isinstance(boot.worksheets, tuple)


def test_multi_sheet_dashboard() -> None:
    body = encode_bootstrap(
        sheet_name="Overview",
        worksheets=["Map", "Applicants", "By county"],
        view_ids={"Map": "1_1", "Applicants": "2_2", "By county": "3_3"},
        dashboard=True,
        segments=TWO_SEGMENTS,
    )
    boot = parse_bootstrap(body)
    assert boot.dashboard == "Overview"
    assert boot.worksheets == ("Map", "Applicants", "By county")
    assert boot.view_ids["Applicants"] == "2_2"


def test_worksheet_view_is_its_own_worksheet() -> None:
    body = encode_bootstrap(
        sheet_name="Applicants", worksheets=["Applicants"], view_ids={"Applicants": "9_9"}
    )
    boot = parse_bootstrap(body)
    assert boot.dashboard is None
    assert boot.worksheets == ("Applicants",)
    assert boot.segments == {}  # a server rendering on its side sends no data chunk


def test_permission_flags_when_the_bootstrap_carries_them() -> None:
    info = load("bootstrap_info.json")
    info["allow_view_underlying"] = False
    info["worldUpdate"]["applicationPresModel"]["allow_summary"] = True
    boot = parse_bootstrap(frame_chunks(info))
    assert boot.permissions == {"allow_view_underlying": False, "allow_summary": True}


@pytest.mark.parametrize(
    "chunks",
    [
        [{"vqlCmdResponse": {"layoutStatus": {}}}],
        [{"worldUpdate": {"applicationPresModel": {}}}],
        [{"errorCode": "Session expired"}],
    ],
)
def test_unknown_shape_is_a_clear_error(chunks: list[dict[str, object]]) -> None:
    with pytest.raises(TableauProtocolError, match="unknown response shape: no workbookPresModel"):
        parse_bootstrap(frame_chunks(*chunks))


def test_wrong_types_are_errors_not_crashes() -> None:
    info = load("bootstrap_info.json")
    info["worldUpdate"]["applicationPresModel"]["workbookPresModel"]["dashboardPresModel"] = [1]
    with pytest.raises(TableauProtocolError, match="'dashboardPresModel' is not an object"):
        parse_bootstrap(frame_chunks(info))
    info = load("bootstrap_info.json")
    del info["sheetName"]
    with pytest.raises(TableauProtocolError, match="no 'sheetName'"):
        parse_bootstrap(frame_chunks(info))
