"""VizQL command request bodies and the shapes of their answers."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest

from monitor.errors import TableauProtocolError
from monitor.vizql.commands import (
    bootstrap_path,
    bootstrap_request,
    command_path,
    command_segments,
    crosstab_dialog_request,
    crosstab_export_request,
    crosstab_result_key,
    crosstab_sheets,
    parse_multipart,
    summary_data_request,
    tempfile_path,
    underlying_data_request,
    underlying_table,
    vudcsv_path,
)
from monitor.vizql.encode import encode_crosstab_dialog, encode_crosstab_export
from monitor.vizql.session import SessionConfig
from tests.vizql.recorded import load

CONFIG = SessionConfig(
    vizql_root="/vizql/w/CCW/v/Applicants",
    session_id="F00D:42-0:0",
    sheet_id="Applicants",
    sticky_session_key='{"workbookId":1}',
    show_params='{"refresh":false}',
)


def test_session_paths_and_bootstrap_form() -> None:
    assert (
        bootstrap_path(CONFIG) == "/vizql/w/CCW/v/Applicants/bootstrapSession/sessions/F00D:42-0:0"
    )
    body, content_type = bootstrap_request(CONFIG)
    assert content_type == "application/x-www-form-urlencoded"
    assert parse_qs(body.decode()) == {
        "sheet_id": ["Applicants"],
        "showParams": ['{"refresh":false}'],
        "stickySessionKey": ['{"workbookId":1}'],
        "clientDimension": ['{"w": 1920, "h": 1080}'],
    }
    assert command_path(CONFIG, "underlying_data").endswith(
        "/sessions/F00D:42-0:0/commands/tabdoc/get-underlying-data"
    )
    assert vudcsv_path(CONFIG, "123_456") == (
        "/vizql/w/CCW/v/Applicants/vudcsv/sessions/F00D:42-0:0/views/123_456?csv=true&showall=true"
    )
    assert vudcsv_path(CONFIG, "1", summary=True).endswith("/views/1?summary=true")
    assert tempfile_path(CONFIG, "3224154322").endswith(
        "/tempfile/sessions/F00D:42-0:0/?key=3224154322&keepfile=yes&attachment=yes"
    )


def test_underlying_data_request_asks_for_all_rows_and_columns() -> None:
    body, content_type = underlying_data_request("Applicants", "Overview", boundary="b0undary")
    assert content_type == "multipart/form-data; boundary=b0undary"
    assert body.startswith(
        b'--b0undary\r\nContent-Disposition: form-data; name="maxRows"\r\n\r\n0\r\n'
    )
    assert body.endswith(b"--b0undary--\r\n")
    fields = parse_multipart(body, content_type)
    assert list(fields) == ["maxRows", "includeAllColumns", "visualIdPresModel"]
    assert fields["maxRows"] == "0"
    assert fields["includeAllColumns"] == "true"
    assert json.loads(fields["visualIdPresModel"]) == {
        "worksheet": "Applicants",
        "dashboard": "Overview",
        "flipboardZoneId": 0,
        "storyPointId": 0,
    }


def test_other_command_requests_carry_tableau_scrapings_fields() -> None:
    body, content_type = summary_data_request("Map", "Overview", max_rows=200)
    fields = parse_multipart(body, content_type)
    assert fields["maxRows"] == "200"
    assert set(fields) == {"maxRows", "visualIdPresModel"}
    body, content_type = crosstab_dialog_request()
    assert parse_multipart(body, content_type) == {"thumbnailUris": "{}"}
    body, content_type = crosstab_export_request("{A1B2-C3}")
    assert parse_multipart(body, content_type) == {
        "sheetdocId": "{A1B2-C3}",
        "useTabs": "true",
        "sendNotifications": "true",
    }


def test_parse_multipart_needs_a_boundary() -> None:
    with pytest.raises(TableauProtocolError, match="no boundary"):
        parse_multipart(b"", "multipart/form-data")


def test_underlying_table_of_recorded_answers() -> None:
    assert underlying_table(load("underlying_data.json"))["numRows"] == 200
    assert underlying_table(load("summary_data.json"))["numRows"] == 896
    assert list(command_segments(load("underlying_data.json"))) == ["0"]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"error": "Session expired"}, "no vqlCmdResponse"),
        ({"vqlCmdResponse": {"cmdResultList": []}}, "empty or missing cmdResultList"),
        ({"vqlCmdResponse": {"cmdResultList": [{}]}}, "has no commandReturn"),
        (
            {"vqlCmdResponse": {"cmdResultList": [{"commandReturn": {"tooltipText": ""}}]}},
            "commandReturn has no underlyingDataTable",
        ),
    ],
)
def test_other_shapes_are_clear_errors(answer: dict[str, object], message: str) -> None:
    with pytest.raises(TableauProtocolError, match=message):
        underlying_table(answer)


def test_crosstab_dialog_and_export_of_recorded_answers() -> None:
    assert crosstab_sheets(load("crosstab_dialog.json")) == [
        ("[WORKSHEET1]", "{XXXXX-XXXX-XXXX-XXXX-XXXXXXXXXX}")
    ]
    assert crosstab_result_key(load("crosstab_export_result_key.json")) == "3224154322"
    assert crosstab_result_key(load("crosstab_export_tempfile_key.json")) == "3224154322"


def test_encoded_crosstab_answers_equal_the_recorded_ones() -> None:
    assert encode_crosstab_dialog({"[WORKSHEET1]": "{XXXXX-XXXX-XXXX-XXXX-XXXXXXXXXX}"}) == load(
        "crosstab_dialog.json"
    )
    assert encode_crosstab_export("3224154322") == load("crosstab_export_result_key.json")
    assert encode_crosstab_export("3224154322", file_download=True) == load(
        "crosstab_export_tempfile_key.json"
    )


def test_crosstab_answers_of_other_shapes_are_errors() -> None:
    with pytest.raises(TableauProtocolError, match="no genExportCrosstabOptionsDialogPresModel"):
        crosstab_sheets(load("crosstab_export_result_key.json"))
    with pytest.raises(TableauProtocolError, match="no genExportFilePresModel"):
        crosstab_result_key(load("crosstab_dialog.json"))
