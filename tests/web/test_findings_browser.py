"""The findings page in a real headless Chromium (Debian's), against a real `leakmon run`.

A stand-in portal on loopback publishes a synthetic CCW-like leak and a file whose
column names are markup and control characters; the daemon scans them and pages a
webhook receiver. The test follows the alert's link in the browser with JavaScript
off, checks that credentials are required, that the security headers arrive, that
the page's own style is allowed by its Content-Security-Policy and nothing else
runs, follows links, takes screenshots, and looks for every raw value in the HTML.

The browser is /usr/bin/chromium driven by Playwright's Python package (never
`playwright install`). Without either, the test skips, but fails when CI=true.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from monitor.standin import Portal, Receiver
from tests import synthetic
from tests.evidence import raw_values_in
from tests.net import free_port
from tests.processes import stop_process
from tests.web.conftest import HOSTILE_COLUMN, SECRET, hostile_csv

if TYPE_CHECKING:
    from collections.abc import Iterator

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
POLL = 5
#: Screenshots are also copied here when set, to look at them after the run.
SHOTS_ENV = "LEAKMON_SCREENSHOTS"


def _playwright():
    """Return Playwright's sync API, or fail (CI) / skip (elsewhere) when the browser is missing."""
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover
        missing = "the playwright package is not installed (pip install -e '.[test]')"
    if missing is None and not Path(CHROMIUM).exists():
        missing = f"{CHROMIUM} is missing (apt-get install chromium chromium-driver)"
    if missing is not None:
        if os.environ.get("CI"):  # any CI, as every other service-backed test reads it
            pytest.fail(f"headless browser test cannot run: {missing}")
        pytest.skip(missing)
    return sync_playwright


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    tmp = tmp_path_factory.mktemp("browser")
    files = tmp / "files"
    files.mkdir()
    leak = synthetic.ccw_applicants_csv(files, rows=300)
    hostile, canaries = hostile_csv(files)
    raw = {
        cell.strip('"')
        for line in leak.read_text(encoding="utf-8").splitlines()[1:80]
        for cell in line.split(",")
        if len(cell.strip('"')) > 5
    }
    portal, receiver = Portal().start(), Receiver().start()
    portal.publish("permits_export.csv", leak.read_bytes())
    portal.publish("roster.csv", hostile.read_bytes())
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = tmp / "leakmon.yaml"
    config.write_text(
        json.dumps(
            {
                "storage": f"sqlite:///{tmp / 'state.db'}",
                "http": {
                    "listen": f"127.0.0.1:{port}",
                    "page": {"auth": "basic", "user": "oncall"},
                },
                "link_base": base + "/",
                "targets": [
                    {
                        "name": "standin",
                        "start_urls": [portal.url],
                        "every": f"{POLL}s",
                        "allowed_domains": ["127.0.0.1"],
                    }
                ],
                "notify": [
                    {"name": "hook", "kind": "webhook", "url": receiver.url, "min_severity": "high"}
                ],
                "crawl": {"autothrottle": False},
            }
        )
    )
    log_path = tmp / "daemon.log"
    log = log_path.open("w")
    env = {**os.environ, "LEAKMON_PAGE_SECRET": SECRET}
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "run", "--config", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    try:
        posts = receiver.wait_for(2, timeout=60)
        assert len(posts) >= 2, log_path.read_text()[-4000:]
        yield {
            "base": base,
            "links": [p.json().get("link") for p in posts],
            "raw": sorted(raw),
            "canaries": canaries,
            "tmp": tmp,
            "log": log_path,
        }
    finally:
        stop_process(proc)
        portal.stop()
        receiver.stop()
        log.close()


def _status_without_credentials(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310  (loopback)
            return resp.status, resp.headers.get("WWW-Authenticate", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("WWW-Authenticate", "")


def _keep(shot: Path) -> None:
    where = os.environ.get(SHOTS_ENV)
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(where) / shot.name)


def test_findings_page_in_a_real_browser(daemon, tmp_path):
    sync_playwright = _playwright()
    from playwright.sync_api import Error as PlaywrightError

    links = [link for link in daemon["links"] if link]
    assert links, "alerts carry no link although link_base is set"
    assert all(link.startswith(daemon["base"] + "/findings/") for link in links)
    status, challenge = _status_without_credentials(links[0])
    assert status == 401
    assert challenge.startswith("Basic")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            # Without credentials the browser gets 401 and no data.
            # (Chromium asks for credentials; with none to give, the navigation fails.)
            anonymous = browser.new_context(java_script_enabled=False)
            with pytest.raises(PlaywrightError, match="ERR_INVALID_AUTH_CREDENTIALS"):
                anonymous.new_page().goto(links[0])
            answer = anonymous.request.get(links[0])
            assert answer.status == 401
            assert "standin" not in answer.text()
            assert answer.headers["cache-control"] == "no-store"
            anonymous.close()

            context = browser.new_context(
                java_script_enabled=False,  # the page must work without JavaScript
                http_credentials={"username": "oncall", "password": SECRET},
                viewport={"width": 1400, "height": 900},
            )
            page = context.new_page()
            console: list[str] = []
            page.on("console", lambda msg: console.append(msg.text))
            seen_html: list[str] = []

            # The alert's link lands on the incident.
            response = page.goto(links[0])
            assert response is not None
            assert response.status == 200
            headers = response.headers
            assert "default-src 'none'" in headers["content-security-policy"]
            assert "frame-ancestors 'none'" in headers["content-security-policy"]
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["referrer-policy"] == "no-referrer"
            assert headers["cache-control"] == "no-store"
            assert page.locator("h1").inner_text().split()[1:3] == ["open", "incident"]
            assert page.get_by_role("heading", name="History").count() == 1
            assert page.locator("pre").first.inner_text().startswith("allow:\n  - target: standin")
            seen_html.append(page.content())

            # The inline style sheet is allowed by its hash: the header is dark.
            background = page.locator("header").evaluate("e => getComputedStyle(e).backgroundColor")
            assert background == "rgb(36, 41, 47)"
            shot = tmp_path / "incident.png"
            page.screenshot(path=str(shot), full_page=True)
            _keep(shot)
            assert shot.stat().st_size > 10_000

            # Follow the header link to the index, then every incident and the target.
            page.get_by_role("link", name="leakmon findings").click()
            assert page.url.endswith("/findings")
            assert "Open incidents: 2" in page.locator("h1").inner_text()
            seen_html.append(page.content())
            shot = tmp_path / "index.png"
            page.screenshot(path=str(shot), full_page=True)
            _keep(shot)
            details = page.get_by_role("link", name="details")
            assert details.count() == 2
            for n in range(details.count()):
                page.get_by_role("link", name="details").nth(n).click()
                assert "/findings/" in page.url
                assert page.locator("table").count() >= 2
                seen_html.append(page.content())
                page.go_back()
            page.get_by_role("link", name="standin").first.click()
            assert page.url.endswith("/targets/standin")
            assert "Coverage of the last poll" in page.content()
            seen_html.append(page.content())
            shot = tmp_path / "target.png"
            page.screenshot(path=str(shot), full_page=True)
            _keep(shot)

            # The file with hostile column names: markup is text, controls are visible.
            page.goto(daemon["base"] + "/findings")
            row = page.locator("tr", has_text="roster.csv")
            row.get_by_role("link", name="details").click()
            seen_html.append(page.content())
            text = page.locator("main").inner_text()
            assert "<script>alert(1)</script>\\x1b[2J\\u202emoc.elpmaxe" in text
            assert HOSTILE_COLUMN not in text
            assert page.locator("main script").count() == 0
            shot = tmp_path / "hostile.png"
            page.screenshot(path=str(shot), full_page=True)
            _keep(shot)

            assert [m for m in console if "Content Security Policy" in m] == []
            context.close()
        finally:
            browser.close()

    html = "\n".join(seen_html)
    assert raw_values_in(daemon["raw"], html) == []
    assert raw_values_in(daemon["canaries"], html) == []


def test_daemon_answers_basic_auth_from_the_environment(daemon):
    token = base64.b64encode(f"oncall:{SECRET}".encode()).decode()
    request = urllib.request.Request(  # noqa: S310  (loopback)
        daemon["base"] + "/findings", headers={"Authorization": f"Basic {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
        assert resp.status == 200
        assert b"Open incidents" in resp.read()
