"""The generic webhook: body, headers, HMAC signature, errors that keep the URL's secrets."""

# Made-up secrets and tokens are this file's test data.

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request

import pytest
from pydantic import SecretStr

from monitor import __version__
from monitor.config import NotifierConfig
from monitor.errors import ConfigError, NotConfigured, NotifyError, NotifyRefused
from monitor.notifiers import WebhookNotifier, verify_signature
from monitor.notifiers.webhook import sign

TOKEN = "T0KEN-abc123xyz"
QUERY_SECRET = "qs-secret-987654"


def test_posts_alert_as_json(receiver, make_alert):
    alert = make_alert()
    WebhookNotifier(receiver.url + "/hook").send(alert)

    [got] = receiver.requests
    assert got.method == "POST"
    assert got.path == "/hook"
    body = got.json()
    assert body == json.loads(json.dumps(alert.to_dict()))
    for key in (
        "event",
        "key",
        "severity",
        "target",
        "resource_url",
        "tables",
        "columns",
        "entities",
        "evidence",
        "reason",
        "matched",
        "open_findings",
        "findings",
        "occurred_at",
        "opened_at",
        "sequence",
        "link",
    ):
        assert key in body
    assert [f["key"] for f in body["findings"]] == ["fk-person", "fk-ssn"]
    assert "truncated" not in body
    assert body["event"] == "opened"
    assert body["severity"] == "high"
    assert body["columns"] == ["first_name", "last_name", "ssn"]
    assert body["entities"] == ["PERSON", "US_SSN"]
    assert body["evidence"] == ["J*** S****", "***-**-6789"]


def test_sends_leakmon_headers(receiver, make_alert):
    WebhookNotifier(receiver.url).send(make_alert(event="resolved", key="f-42", sequence=3))

    headers = receiver.requests[0].headers
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == f"leakmon/{__version__}"
    assert headers["X-Leakmon-Event"] == "resolved"
    assert headers["X-Leakmon-Delivery"] == "f-42:3"


def test_delivery_id_is_the_same_on_redelivery(receiver, make_alert):
    notifier = WebhookNotifier(receiver.url)
    alert = make_alert()
    notifier.send(alert)
    notifier.send(alert)

    ids = {r.headers["X-Leakmon-Delivery"] for r in receiver.requests}
    assert ids == {"f-0001:1"}


def test_no_signature_without_secret(receiver, make_alert):
    WebhookNotifier(receiver.url).send(make_alert())

    headers = receiver.requests[0].headers
    assert "X-Leakmon-Signature" not in headers
    assert "X-Leakmon-Timestamp" not in headers


def test_signature_verifies_with_the_secret_and_fails_with_another(receiver, make_alert):
    WebhookNotifier(receiver.url, secret="correct horse").send(make_alert())

    got = receiver.requests[0]
    timestamp = got.headers["X-Leakmon-Timestamp"]
    signature = got.headers["X-Leakmon-Signature"]
    assert abs(int(timestamp) - time.time()) < 60
    # Recompute the documented scheme by hand: HMAC-SHA256 over timestamp "." raw body.
    expected = hmac.new(b"correct horse", timestamp.encode() + b"." + got.body, hashlib.sha256)
    assert signature == "sha256=" + expected.hexdigest()
    wrong = hmac.new(b"battery staple", timestamp.encode() + b"." + got.body, hashlib.sha256)
    assert signature != "sha256=" + wrong.hexdigest()

    assert verify_signature("correct horse", timestamp, got.body, signature)
    assert not verify_signature("battery staple", timestamp, got.body, signature)


def test_signature_covers_the_body_and_the_timestamp(receiver, make_alert):
    WebhookNotifier(receiver.url, secret="k").send(make_alert())

    got = receiver.requests[0]
    timestamp = got.headers["X-Leakmon-Timestamp"]
    signature = got.headers["X-Leakmon-Signature"]
    tampered = got.body.replace(b'"high"', b'"low"')
    assert tampered != got.body
    assert not verify_signature("k", timestamp, tampered, signature)
    assert not verify_signature("k", str(int(timestamp) + 1), got.body, signature)


def test_a_verifying_receiver_accepts_signed_posts_and_rejects_tampered_ones(make_alert):
    """A receiver thread checks each POST the documented way and answers 401 when it fails."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    secret = b"shared-secret"
    verdicts: list[bool] = []

    class Verifying(BaseHTTPRequestHandler):
        def log_message(self, format, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            timestamp = self.headers.get("X-Leakmon-Timestamp", "")
            signed = timestamp.encode() + b"." + body
            expected = "sha256=" + hmac.new(secret, signed, hashlib.sha256).hexdigest()
            ok = hmac.compare_digest(expected, self.headers.get("X-Leakmon-Signature", ""))
            verdicts.append(ok)
            self.send_response(204 if ok else 401)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Verifying)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        alert = make_alert()
        WebhookNotifier(url, secret=secret).send(alert)
        with pytest.raises(NotifyError, match="HTTP 401"):
            WebhookNotifier(url, secret=b"another-secret").send(alert)
        with pytest.raises(NotifyError, match="HTTP 401"):
            WebhookNotifier(url).send(alert)  # unsigned

        # The signed bytes, replayed with one field changed: the signature no longer fits.
        good = WebhookNotifier(url, secret=secret)
        body = good.body(alert)
        headers = good.headers(alert, body)
        tampered = body.replace(b'"high"', b'"low"')
        assert tampered != body
        request = urllib.request.Request(url, data=tampered, headers=headers, method="POST")
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=5)  # noqa: S310  (loopback)
        assert caught.value.code == 401
        assert verdicts == [True, False, False, False]
    finally:
        server.shutdown()
        server.server_close()


def test_verify_rejects_stale_or_malformed_timestamps():
    body = b'{"event":"opened"}'
    signature = sign("k", "1000", body)
    assert verify_signature("k", "1000", body, signature, now=1100)
    assert not verify_signature("k", "1000", body, signature, now=1000 + 301)
    assert not verify_signature("k", "not-a-number", body, signature, now=1000)


def test_timestamp_is_taken_when_sending(receiver, make_alert):
    WebhookNotifier(receiver.url, secret="k", clock=lambda: 1_700_000_000.9).send(make_alert())

    assert receiver.requests[0].headers["X-Leakmon-Timestamp"] == "1700000000"


@pytest.mark.parametrize("status", [400, 404, 410, 500, 503])
def test_non_2xx_raises_without_the_urls_secrets(receiver, make_alert, status):
    url = f"{receiver.url}/hooks/{TOKEN}?token={QUERY_SECRET}"
    # Some receivers echo the path they could not route; that must not reach our logs.
    receiver.fail(1, status, body=f"no hook at /hooks/{TOKEN}?token={QUERY_SECRET}".encode())

    with pytest.raises(NotifyError) as caught:
        WebhookNotifier(url, name="oncall").send(make_alert())

    message = str(caught.value)
    assert "'oncall'" in message
    assert f"HTTP {status}" in message
    assert f"{receiver.url}/…" in message
    assert TOKEN not in message
    assert QUERY_SECRET not in message


@pytest.mark.parametrize(
    ("failure", "words"),
    [("drop", "connection closed"), ("hang", "no answer within 0.3 s")],
)
def test_connection_failures_raise_notify_error(receiver, make_alert, failure, words):
    getattr(receiver, failure)(1)
    started = time.monotonic()

    with pytest.raises(NotifyError, match=words) as caught:
        WebhookNotifier(f"{receiver.url}/hooks/{TOKEN}", timeout=0.3).send(make_alert())

    assert time.monotonic() - started < 3
    assert TOKEN not in str(caught.value)


def test_refused_connection_raises_notify_error(make_alert):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port now.
    with pytest.raises(NotifyError, match="refused") as caught:
        WebhookNotifier(f"http://127.0.0.1:{port}/hooks/{TOKEN}").send(make_alert())
    assert TOKEN not in str(caught.value)


def test_redirect_is_not_followed(receiver, make_alert):
    receiver.fail(1, 302, headers={"Location": f"{receiver.url}/elsewhere"})

    with pytest.raises(NotifyError, match="HTTP 302"):
        WebhookNotifier(receiver.url + "/hook").send(make_alert())
    assert [r.path for r in receiver.requests] == ["/hook"]


def test_url_credentials_become_basic_auth_and_stay_out_of_messages(receiver, make_alert):
    host = receiver.url.removeprefix("http://")
    notifier = WebhookNotifier(f"http://hook:pa55word-xyz@{host}/x")
    notifier.send(make_alert())
    expected = base64.b64encode(b"hook:pa55word-xyz").decode()
    # A receiver that echoes the request's headers echoes the credentials, encoded.
    echo = f"denied for hook:pa55word-xyz (Authorization: Basic {expected})"
    receiver.fail(1, 500, body=echo.encode())

    with pytest.raises(NotifyError) as caught:
        notifier.send(make_alert())

    first = receiver.requests[0]
    assert first.path == "/x"
    assert first.headers["Authorization"] == f"Basic {expected}"
    assert "HTTP 500: denied for hook:" in str(caught.value)
    assert "pa55word-xyz" not in str(caught.value)
    assert expected not in str(caught.value)


@pytest.mark.parametrize("url", ["http://[::1/x", "http://127.0.0.1:99999/x", "ftp://h/x"])
def test_unusable_url_raises_notify_error(make_alert, url):
    with pytest.raises(NotifyError, match="notifier 'webhook'"):
        WebhookNotifier(url).send(make_alert())


def test_repr_hides_url_and_secret():
    notifier = WebhookNotifier(f"https://hooks.example.com/{TOKEN}", secret="s3cr3t-key")
    assert TOKEN not in repr(notifier)
    assert "s3cr3t-key" not in repr(notifier)


def test_from_config_reads_url_secret_and_timeout(receiver, make_alert):
    cfg = NotifierConfig(
        name="oncall",
        kind="webhook",
        url=SecretStr(receiver.url + "/hook"),
        secret=SecretStr("k"),
        timeout=3,
    )
    notifier = WebhookNotifier.from_config(cfg)
    notifier.send(make_alert())

    assert notifier.name == "oncall"
    got = receiver.requests[0]
    assert verify_signature(
        "k", got.headers["X-Leakmon-Timestamp"], got.body, got.headers["X-Leakmon-Signature"]
    )


def test_from_config_without_url_names_notifier_and_field():
    with pytest.raises(ConfigError, match=r"notifier 'oncall' \(webhook\): url: required"):
        WebhookNotifier.from_config(NotifierConfig(name="oncall", kind="webhook"))


def test_from_config_with_empty_url_is_switched_off():
    cfg = NotifierConfig(name="oncall", kind="webhook", url=SecretStr(""))
    with pytest.raises(NotConfigured, match="url is empty"):
        WebhookNotifier.from_config(cfg)


def test_from_config_rejects_non_http_url_without_echoing_it():
    cfg = NotifierConfig(name="oncall", kind="webhook", url=SecretStr(f"ftp://files/{TOKEN}"))
    with pytest.raises(ConfigError, match=r"'oncall' \(webhook\): url: .*http") as caught:
        WebhookNotifier.from_config(cfg)
    assert TOKEN not in str(caught.value)


def test_body_over_max_body_kb_is_cut_and_counts_what_is_left_out(receiver, make_alert):
    columns = tuple(f"col_{n}" + "y" * 100 for n in range(3000))
    alert = make_alert(entities=("SCHEMA_DRIFT",), columns=columns)

    WebhookNotifier(receiver.url, max_body_kb=64).send(alert)

    [got] = receiver.requests
    assert len(got.body) <= 64 * 1024
    body = got.json()
    assert body["truncated"]["columns"] == 3000 - len(body["columns"])
    assert all(c.startswith("col_") for c in body["columns"])  # no marker among real values


def test_max_body_kb_comes_from_the_config():
    cfg = NotifierConfig(name="hook", kind="webhook", url="https://h.example/x", max_body_kb=8)

    assert WebhookNotifier.from_config(cfg)._max_bytes == 8 * 1024


def test_a_refused_body_is_a_refusal_and_a_refused_sender_is_not(receiver, make_alert):
    for status in (400, 413, 422):
        receiver.fail(1, status, b"invalid payload")
        with pytest.raises(NotifyRefused, match=f"HTTP {status}"):
            WebhookNotifier(receiver.url).send(make_alert())
    # A wrong secret, a deleted hook, a rate limit, an outage: events must wait, not park.
    for status in (401, 403, 404, 429, 500, 503):
        receiver.fail(1, status)
        with pytest.raises(NotifyError) as caught:
            WebhookNotifier(receiver.url).send(make_alert())
        assert not isinstance(caught.value, NotifyRefused)
