"""Secrets never leave leakmon, even when delivery fails; signed webhooks verify; /metrics only.

One `leakmon run` (DEBUG logging) gets every kind of secret from the environment:
a webhook signing secret and a token in its URL, a Slack webhook URL, a
PagerDuty routing key, Basic-auth credentials in a second webhook URL, and a
PostgreSQL URL with a password (the local server trusts, so the password is
ignored, but it is in the URL the daemon holds). Three of the four notifiers
point at an echo server that answers every POST with an error whose body repeats
everything it got (path, query, headers, body), as a badly written receiver or a
debugging proxy would. The canary strings must not appear in the logs,
``/metrics``, the store, ``leakmon check-config`` output, or the error messages
of ``leakmon migrate`` against an unreachable database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest

from monitor.notifiers.webhook import verify_signature
from tests import synthetic
from tests.faults.harness import Daemon, engine_for, iter_text, outbox_deliveries, wait_until
from tests.net import get

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from monitor.standin import Portal
    from tests.faults.harness import HoldingReceiver, Postgres

SIGNING = "whsec-canary-Q7pX2m"
HOOK_TOKEN = "hooktoken-canary-9Zr4"
SLACK_TOKEN = "slacktoken-canary-Kd81"
ROUTING = "pdroutingkey-canary-55Tq"
BASIC = "basicpass-canary-3Vw"
DB_PASSWORD = "s3cr3t-canary"


def _canaries() -> list[str]:
    raw = [SIGNING, HOOK_TOKEN, SLACK_TOKEN, ROUTING, BASIC, DB_PASSWORD]
    encoded = [base64.b64encode(f"hook:{BASIC}".encode()).decode()]
    return raw + encoded + [urllib.parse.quote(c) for c in raw]


class EchoServer:
    """Answers every POST with ``status`` and a body repeating the whole request."""

    def __init__(self, status: int = 500) -> None:
        self.requests: list[str] = []
        echo = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Keep test output clean."""

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                text = f"cannot route {self.path}\n{self.headers}\n{body.decode()}"
                echo.requests.append(text)
                answer = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

        self._server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def base(self) -> str:
        """Return ``http://127.0.0.1:port``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    yield server
    server.stop()


def _cli(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "monitor.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    return done.stdout + done.stderr


def _post(url: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=b"x", method="POST")  # noqa: S310  (loopback)
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:  # noqa: S310  (loopback)
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _assert_no_canary(where: str, text: str) -> None:
    found = [c for c in _canaries() if c in text]
    assert not found, f"{where} shows {found}"


@pytest.mark.postgres
def test_secrets_stay_out_of_logs_metrics_store_and_cli_output(
    tmp_path: Path,
    postgres: Postgres,
    portal: Portal,
    receiver: HoldingReceiver,
    echo: EchoServer,
) -> None:
    leak = synthetic.ccw_applicants_csv(tmp_path / "files", rows=200)
    portal.publish("permits.csv", leak.read_bytes())
    host = echo.base.removeprefix("http://")
    env = {
        "LEAKMON_STORAGE": postgres.url_via(5432, password=DB_PASSWORD),
        "LEAKMON_HOOK_URL": f"{receiver.url}/{HOOK_TOKEN}?token={HOOK_TOKEN}",
        "LEAKMON_HOOK_SECRET": SIGNING,
        "LEAKMON_SLACK_URL": f"{echo.base}/services/T0000/B0000/{SLACK_TOKEN}",
        "LEAKMON_PD_KEY": ROUTING,
        "LEAKMON_PD_URL": f"{echo.base}/v2/enqueue",
        "LEAKMON_HOOK2_URL": f"http://hook:{BASIC}@{host}/in",
    }
    notify = [
        {"name": "hook", "kind": "webhook", "url": "${LEAKMON_HOOK_URL}"},
        {"name": "slack", "kind": "slack", "url": "${LEAKMON_SLACK_URL}"},
        {
            "name": "pd",
            "kind": "pagerduty",
            "routing_key": "${LEAKMON_PD_KEY}",
            "url": "${LEAKMON_PD_URL}",
        },
        {"name": "hook2", "kind": "webhook", "url": "${LEAKMON_HOOK2_URL}"},
    ]
    for n in notify:
        n.update({"min_severity": "low", "timeout": 5})
    notify[0]["secret"] = "${LEAKMON_HOOK_SECRET}"
    daemon = Daemon(
        tmp_path,
        storage="sqlite:///unused-LEAKMON_STORAGE-wins.db",
        portal_url=portal.url,
        notify=notify,
        env=env,
        verbose=True,
    )
    engine = engine_for(postgres.url)
    try:
        daemon.start().wait_ready()
        assert wait_until(lambda: receiver.posts and len(echo.requests) >= 3, 60), daemon.logs()
        assert wait_until(lambda: outbox_deliveries(engine), 10)
        metrics = daemon.metrics()
        # The live endpoint serves metrics and health only (tests/test_health.py has more).
        for path in ("/", "/debug", "/admin", "/config", "/findings", "/metrics/x"):
            assert get(daemon.base + path) == (404, "not found\n"), path
        assert _post(daemon.base + "/metrics")[0] == 405
    finally:
        daemon.stop()
    logs = daemon.logs()
    store_text = "\n".join(value for _, _, value in iter_text(engine))
    engine.dispose()

    # The failures really happened, and their messages are in the logs and the store.
    assert "notifier 'slack'" in logs
    assert "notifier 'pd'" in logs
    assert "notifier 'hook2'" in logs
    assert "answered HTTP 500" in logs
    assert "answered HTTP 500" in store_text  # outbox.last_error
    # The echo server really got every secret (the canaries are the real ones).
    echoed = "\n".join(echo.requests)
    assert SLACK_TOKEN in echoed
    assert ROUTING in echoed
    assert base64.b64encode(f"hook:{BASIC}".encode()).decode() in echoed
    _assert_no_canary("the daemon's logs", logs)
    _assert_no_canary("/metrics", metrics)
    _assert_no_canary("the store", store_text)

    # Every signed webhook verifies with the shared secret; a tampered body does not.
    for post in receiver.posts:
        timestamp = post.headers["X-Leakmon-Timestamp"]
        signature = post.headers["X-Leakmon-Signature"]
        mac = hmac.new(SIGNING.encode(), timestamp.encode() + b"." + post.body, hashlib.sha256)
        assert signature == "sha256=" + mac.hexdigest()
        assert verify_signature(SIGNING, timestamp, post.body, signature)
        body = post.json()
        body["severity"] = "low"
        tampered = json.dumps(body, separators=(",", ":")).encode()
        assert not verify_signature(SIGNING, timestamp, tampered, signature)

    # check-config prints the resolved config with every secret redacted.
    cli_env = {**daemon.env}
    shown = _cli("check-config", str(daemon.config), env=cli_env)
    assert "valid" in shown
    _assert_no_canary("check-config", shown)
    # An unreachable database: the error names it without its password.
    cli_env["LEAKMON_STORAGE"] = f"postgresql+psycopg://leakmon:{DB_PASSWORD}@127.0.0.1:1/x"
    failed = _cli("migrate", "--config", str(daemon.config), env=cli_env)
    assert "127.0.0.1:1" in failed
    _assert_no_canary("migrate's error", failed)
    failed = _cli("run", "--config", str(daemon.config), env=cli_env)
    assert "127.0.0.1:1" in failed
    _assert_no_canary("run's error", failed)
