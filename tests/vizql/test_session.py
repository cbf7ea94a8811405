"""Session config from the view page's tsConfigContainer and from startSession/viewing."""

from __future__ import annotations

import json
import time

import pytest

from monitor.errors import TableauProtocolError
from monitor.vizql.encode import encode_config_page, encode_start_session
from monitor.vizql.session import parse_config_page, parse_start_session
from tests.vizql.recorded import VIZ_HTML


def test_reads_tableau_scraping_view_page_sample() -> None:
    config = parse_config_page(VIZ_HTML)
    assert config is not None
    assert (config.vizql_root, config.session_id, config.sheet_id) == (
        "test",
        "123456:123456",
        "SHEET/NAME",
    )
    assert dict(config.permissions) == {}


def test_reads_html_escaped_config_with_every_flag_and_names() -> None:
    flags = {
        "allow_view_underlying": True,
        "allow_summary": True,
        "allow_export_data": False,
        "allow_export_image": True,
        "is_guest": True,
        "workbook_allow_subscriptions": True,
    }
    page = encode_config_page(
        vizql_root="/vizql/t/dept/w/CCW/v/Applicants",
        session_id="0A1B:2C3D-0:0",
        sheet_id="Applicants",
        permissions=flags,
        extra={
            "workbookName": "CCW",
            "current_sheet_name": "Applicants",
            "site_root": "/t/dept",
            "note": '<b>&amp;"quotes"</b>',
        },
    )
    assert "&quot;" in page
    config = parse_config_page(page)
    assert config is not None
    assert config.permissions == {
        k: v for k, v in flags.items() if k != "workbook_allow_subscriptions"
    }
    assert config.workbook_name == "CCW"
    assert config.sheet_name == "Applicants"
    assert config.site_root == "/t/dept"
    assert json.loads(config.show_params or "") == {"checkpoint": False, "refresh": False}
    assert config.sticky_session_key == '{"workbookId": 1}'


@pytest.mark.parametrize(
    "page",
    [
        "<html><body>Sign in</body></html>",
        encode_config_page(vizql_root="/v", session_id="S", sheet_id="A", empty=True),
        "<textarea id='tsConfigContainer'>  \n </textarea>",
    ],
)
def test_no_config_on_newer_servers_or_other_pages(page: str) -> None:
    assert parse_config_page(page) is None


def test_finds_textarea_with_other_attributes_and_quotes() -> None:
    page = (
        "<TEXTAREA class='x' ID='tsConfigContainer' style='display:none'>"
        "{&quot;vizql_root&quot;:&quot;/r&quot;,&quot;sessionid&quot;:&quot;S&quot;}</TEXTAREA>"
    )
    config = parse_config_page(page)
    assert config is not None
    assert (config.vizql_root, config.session_id) == ("/r", "S")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1]", "JSON array, not an object"),
        ('{"vizql_root": "/r"}', "no 'sessionid'"),
        ('{"sessionid": "S"}', "no 'vizql_root'"),
    ],
)
def test_broken_config_is_a_clear_error(body: str, message: str) -> None:
    with pytest.raises(TableauProtocolError, match=message):
        parse_config_page(f'<textarea id="tsConfigContainer">{body}</textarea>')


def test_start_session_takes_root_from_its_url() -> None:
    body = encode_start_session(session_id="ABC-0:0", permissions={"allow_view_underlying": True})
    config = parse_start_session(body, vizql_root="/vizql/w/CCW/v/Applicants")
    assert config.session_id == "ABC-0:0"
    assert config.vizql_root == "/vizql/w/CCW/v/Applicants"
    assert config.permissions == {"allow_view_underlying": True}


def test_start_session_without_root_or_session_is_an_error() -> None:
    with pytest.raises(TableauProtocolError, match="no 'vizql_root'"):
        parse_start_session(b'{"sessionid": "S"}')
    with pytest.raises(TableauProtocolError, match="no 'sessionid'"):
        parse_start_session(b'{"sessionid": ""}', vizql_root="/r")
    with pytest.raises(TableauProtocolError, match="not valid JSON"):
        parse_start_session(b"<html>challenge</html>", vizql_root="/r")


def test_hostile_pages_cost_linear_time() -> None:
    unclosed = "<textarea id=tsConfigContainer " * 20_000 + "x" * 100_000
    started = time.monotonic()
    assert parse_config_page(unclosed) is None
    with pytest.raises(TableauProtocolError, match="is not closed"):
        parse_config_page('<textarea id="tsConfigContainer">' + "{" * 1_000_000)
    assert time.monotonic() - started < 5
