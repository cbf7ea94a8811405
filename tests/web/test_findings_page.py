"""The findings page over real sockets: auth, headers, routes, escaping, snippets, no raw values."""

from __future__ import annotations

import base64
import datetime as dt
import html
import http.client
import re
from typing import TYPE_CHECKING

import pytest
import yaml
from prometheus_client import CollectorRegistry

from monitor.alerts import AlertRouter
from monitor.config import Settings
from monitor.errors import ConfigError
from monitor.health import HealthServer
from monitor.metrics import Metrics
from monitor.models import Finding
from monitor.web.page import FindingsPage
from monitor.web.views import incident_key
from tests.evidence import raw_values_in
from tests.web.conftest import (
    FULL_DATA_TITLE,
    FULL_DATA_URL,
    HOSTILE_COLUMN,
    HOSTILE_URL,
    LEAK_URL,
    SECRET,
    TARGET,
    VIEW_URL,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from monitor.store import Store

BASIC = "Basic " + base64.b64encode(f"leakmon:{SECRET}".encode()).decode()
BEARER = f"Bearer {SECRET}"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


@pytest.fixture(scope="module")
def served(filled_store: Store) -> Iterator[HealthServer]:
    page = FindingsPage(filled_store, [TARGET, "quiet-portal"], auth="basic", secret=SECRET)
    server = HealthServer(
        "127.0.0.1:0", Metrics(registry=CollectorRegistry()), lambda: (True, {}), page=page
    )
    server.start()
    yield server
    server.stop()


def _get(
    server: HealthServer, path: str, auth: str | None = BASIC, method: str = "GET"
) -> tuple[int, dict[str, str], str]:
    host, port = server.address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        if auth is not None:
            conn.putheader("Authorization", auth)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read().decode("utf-8")
    finally:
        conn.close()


def _links(body: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="([^"]+)"', body)]


@pytest.mark.parametrize(
    "auth",
    [
        None,
        "Basic " + base64.b64encode(b"leakmon:wrong-password-here!").decode(),
        "Basic " + base64.b64encode(f"admin:{SECRET}".encode()).decode(),
        "Basic not-base64!!",
        "Bearer wrong-token-of-some-length",
        f"Bearer {SECRET}x",
        f"Token {SECRET}",
        "",
    ],
)
@pytest.mark.parametrize(
    "path", ["/findings", "/findings/" + incident_key(TARGET, LEAK_URL), "/nope"]
)
def test_every_page_needs_credentials(served, auth, path):
    status, headers, body = _get(served, path, auth=auth)
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Basic realm=")
    assert "ccw" not in body
    assert "@" not in body
    for name, value in SECURITY_HEADERS.items():
        assert headers[name] == value


@pytest.mark.parametrize("auth", [BASIC, BEARER])
def test_basic_and_bearer_credentials_open_the_page(served, auth):
    status, headers, body = _get(served, "/findings", auth=auth)
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert "Open incidents: 4" in body


def test_security_headers_on_every_answer(served):
    for path in ("/findings", "/targets/" + TARGET, "/findings/nope", "/"):
        status, headers, _ = _get(served, path)
        assert status in (200, 303, 404)
        for name, value in SECURITY_HEADERS.items():
            assert headers[name] == value, (path, name)
        csp = headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp
        assert "frame-ancestors 'none'" in csp
        assert re.search(r"style-src 'sha256-[A-Za-z0-9+/=]+'", csp)
        assert "script-src" not in csp  # default-src 'none' forbids every script


def test_the_inline_style_matches_its_hash(served):
    import hashlib

    _, headers, body = _get(served, "/findings")
    style = re.search(r"<style>(.*?)</style>", body, re.S)
    assert style is not None
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    assert f"'sha256-{digest}'" in headers["Content-Security-Policy"]
    assert "<script" not in body


def test_probes_stay_open_beside_the_page(served):
    assert _get(served, "/healthz", auth=None)[0] == 200
    assert _get(served, "/metrics", auth=None)[0] == 200


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_the_page_is_read_only(served, method):
    status, headers, _ = _get(served, "/findings", method=method)
    assert status == 405
    assert headers["Allow"] == "GET, HEAD"


def test_root_redirects_to_the_findings(served):
    status, headers, _ = _get(served, "/")
    assert (status, headers["Location"]) == (303, "findings")


def test_index_lists_open_incidents_by_target_with_links_that_work(served):
    _, _, body = _get(served, "/findings")
    assert TARGET in body
    assert "quiet-portal" in body  # a configured target without incidents is still listed
    links = [link for link in _links(body) if not link.startswith("#")]
    assert f"./findings/{incident_key(TARGET, LEAK_URL)}" in links
    assert f"./targets/{TARGET}" in links
    for link in links:
        status, _, _ = _get(served, "/" + link.removeprefix("./"))
        assert status == 200, link


def test_alert_links_land_on_the_incident(served, filled_store):
    """``link_base`` + the key an alert carries opens the incident page."""
    router = AlertRouter(Settings(link_base="http://127.0.0.1:9464/"))
    incident = next(i for i in filled_store.incidents() if i.resource_url == LEAK_URL)
    for key in (incident.key, incident.findings[0].key):
        link = router.link(key)
        assert link is not None
        path = link.removeprefix("http://127.0.0.1:9464")
        status, _, body = _get(served, path)
        assert status == 200
        assert "ccw_applicants.csv" in body
        for link in _links(body):
            if link.startswith("../"):
                assert _get(served, "/" + link.removeprefix("../"))[0] == 200, link


def test_incident_page_shows_findings_exposure_times_history_and_snippets(served):
    status, _, body = _get(served, "/findings/" + incident_key(TARGET, LEAK_URL))
    assert status == 200
    for text in (
        "DATE_OF_BIRTH",  # an entity, with its evidence masked
        "ckan",  # how it is exposed: the portal kind
        "CCW applicants 2022",  # and the dataset
        "File first seen",
        "File last listed",
        "History",
        "allow:",
    ):
        assert text in body, text
    assert re.search(r"\*\*\*-\*\*-\d{4}|\d\*+", body)  # masked evidence is shown


def test_how_a_tableau_view_exposes_its_data_is_shown(served):
    _, _, index = _get(served, "/findings")
    assert "Tableau view CCW/Applicants" in index
    assert "offers <code>full_data</code>" in index
    status, _, body = _get(served, "/findings/" + incident_key(TARGET, VIEW_URL))
    assert status == 200
    assert "How the data is offered" in body
    assert "tableau</span> · Tableau view CCW/Applicants" in body
    assert "full data (Download &gt; Data &gt; Full data)" in body
    assert "forbids" in body
    # The file the view hands out says how it is exposed, in its name.
    assert FULL_DATA_TITLE in index
    status, _, body = _get(served, "/findings/" + incident_key(TARGET, FULL_DATA_URL))
    assert status == 200
    assert FULL_DATA_TITLE in body


def test_no_raw_value_of_the_scanned_files_in_any_page(served, leak_files):
    pages = [
        _get(served, path)[2]
        for path in (
            "/findings",
            "/targets/" + TARGET,
            "/findings/" + incident_key(TARGET, LEAK_URL),
            "/findings/" + incident_key(TARGET, HOSTILE_URL),
        )
    ]
    text = "\n".join(html.unescape(p) for p in pages)
    assert raw_values_in(leak_files["raw"], text) == []
    assert raw_values_in(leak_files["canaries"], text) == []


def test_markup_and_control_characters_from_files_are_shown_not_run(served):
    status, _, body = _get(served, "/findings/" + incident_key(TARGET, HOSTILE_URL))
    assert status == 200
    assert "<script>" not in body
    assert "<b>bold" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "\x1b" not in body
    assert "\u202e" not in body
    assert "\\x1b[2J\\u202emoc.elpmaxe" in body  # visible, in reading order
    assert "\\u202eevil.csv" in body


def _as_finding(record) -> Finding:
    return Finding(
        file=record.resource_url,
        table=record.table,
        column=record.column,
        columns=record.columns,
        entity=record.entity,
        severity=record.severity,
        score=record.score,
        matched=record.matched,
        scanned=record.scanned,
    )


def test_allow_snippets_are_valid_config_that_matches_exactly_what_they_name(served, filled_store):
    _, _, body = _get(served, "/findings/" + incident_key(TARGET, HOSTILE_URL))
    snippets = [html.unescape(s) for s in re.findall(r"<pre>(.*?)</pre>", body, re.S)]
    findings = [
        _as_finding(f)
        for i in filled_store.incidents()
        if i.resource_url == HOSTILE_URL
        for f in i.findings
    ]
    assert len(findings) == 3
    assert len(snippets) == 1 + len(findings)  # the whole file, then each open finding
    today = dt.date.today()
    for n, snippet in enumerate(snippets):
        settings = Settings.model_validate(yaml.safe_load(snippet))  # loads as configuration
        rule = settings.allow[0]
        assert rule.expires is not None
        assert rule.expires > today
        router = AlertRouter(settings)
        matched = [f for f in findings if router.allowed(TARGET, HOSTILE_URL, f) is not None]
        if n == 0:
            assert matched == findings, snippet
        else:
            assert [f.entity for f in matched] == [rule.entity], snippet
        assert all(router.allowed("other-target", HOSTILE_URL, f) is None for f in findings)
        assert all(router.allowed(TARGET, LEAK_URL, f) is None for f in findings)
    # The rule for the hostile column names it exactly, escapes and all.
    assert any(
        Settings.model_validate(yaml.safe_load(s)).allow[0].column == HOSTILE_COLUMN
        for s in snippets
    )


def test_target_page_shows_coverage_or_the_last_poll_state(served):
    status, _, body = _get(served, "/targets/" + TARGET)
    assert status == 200
    assert "Coverage of the last poll" in body
    assert "file(s) listed" in body or "found" in body
    assert _get(served, "/targets/no-such-target")[0] == 404


def test_unknown_incident_is_404(served):
    assert _get(served, "/findings/" + "0" * 64)[0] == 404


def test_page_refuses_to_start_without_a_secret(filled_store):
    with pytest.raises(ConfigError, match="LEAKMON_PAGE_SECRET"):
        FindingsPage(filled_store, [TARGET], auth="basic", secret=None)
    with pytest.raises(ConfigError, match="LEAKMON_PAGE_SECRET"):
        FindingsPage.from_settings(
            Settings.model_validate({"http": {"page": {"auth": "bearer"}}}), filled_store
        )


def test_leakmon_run_refuses_to_start_the_page_without_a_secret(tmp_path, monkeypatch, capsys):
    from monitor.cli import main

    monkeypatch.delenv("LEAKMON_PAGE_SECRET", raising=False)
    monkeypatch.delenv("LEAKMON_PAGE_SECRET_FILE", raising=False)
    config = tmp_path / "leakmon.yaml"
    config.write_text(
        f"storage: sqlite:///{tmp_path / 'state.db'}\n"
        "http: {listen: '127.0.0.1:0', page: {auth: basic}}\n"
    )
    assert main(["run", "--config", str(config)]) == 2
    assert "LEAKMON_PAGE_SECRET" in capsys.readouterr().err


def test_a_store_that_cannot_be_read_is_a_503_page(tmp_path):
    from monitor.store import Store

    broken = Store(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'state.db'}")
    page = FindingsPage(broken, [TARGET], auth="bearer", secret=SECRET)
    answers = {}

    def start(status, headers):
        answers.update(status=status, headers=dict(headers))

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/findings", "HTTP_AUTHORIZATION": BEARER}
    body = b"".join(page(environ, start))
    assert answers["status"].startswith("503")
    assert answers["headers"]["Cache-Control"] == "no-store"
    assert b"cannot be read" in body


def test_open_page_only_on_loopback():
    from pydantic import ValidationError

    Settings.model_validate({"http": {"page": {"auth": "none", "listen": "127.0.0.1:9465"}}})
    Settings.model_validate({"http": {"listen": "127.0.0.1:9464", "page": {"auth": "none"}}})
    for section in (
        {"listen": "0.0.0.0:9464", "page": {"auth": "none"}},
        {"listen": ":9464", "page": {"auth": "none"}},
        {"page": {"auth": "none", "listen": "10.0.0.5:9465"}},
        {"page": {"auth": "none", "listen": "localhost:9465"}},
    ):
        with pytest.raises(ValidationError, match="auth none is allowed only"):
            Settings.model_validate({"http": section})


def test_short_secrets_are_refused(tmp_path, monkeypatch):
    from monitor.config import load_settings

    config = tmp_path / "leakmon.yaml"
    config.write_text("http:\n  listen: 0.0.0.0:9464\n  page: {auth: basic}\n")
    monkeypatch.setenv("LEAKMON_PAGE_SECRET", "short")
    with pytest.raises(ConfigError, match="at least 16 characters"):
        load_settings(config)
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    monkeypatch.delenv("LEAKMON_PAGE_SECRET")
    monkeypatch.setenv("LEAKMON_PAGE_SECRET_FILE", str(secret_file))
    page = load_settings(config).http.page
    assert page is not None
    assert page.secret is not None
    assert page.secret.get_secret_value() == SECRET


def test_page_on_a_listener_of_its_own(filled_store):
    page = FindingsPage(filled_store, [TARGET], auth="bearer", secret=SECRET)
    server = HealthServer(
        "127.0.0.1:0",
        Metrics(registry=CollectorRegistry()),
        lambda: (True, {}),
        page=page,
        page_listen="127.0.0.1:0",
    )
    server.start()
    try:
        assert server.page_address is not None
        assert server.page_address != server.address
        assert _get(server, "/findings", auth=BEARER)[0] == 404  # not on the probes' listener

        class _PageSide:
            address = server.page_address

        side = _PageSide()
        assert _get(side, "/findings", auth=BEARER)[0] == 200
        status, headers, _ = _get(side, "/findings", auth=BASIC)  # bearer only
        assert status == 401
        assert headers["WWW-Authenticate"].startswith("Bearer")
        assert _get(side, "/healthz", auth=BEARER)[0] == 404  # probes stay on theirs
    finally:
        server.stop()
