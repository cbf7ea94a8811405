"""The HTTP endpoint: /metrics, /healthz and /readyz only, read-only, on loopback by default."""

from __future__ import annotations

import http.client
import json
import threading
import time
from typing import TYPE_CHECKING

import pytest
from prometheus_client import CollectorRegistry

from monitor.config import Settings
from monitor.health import HealthServer
from monitor.metrics import Metrics

if TYPE_CHECKING:
    from collections.abc import Iterator


class _Readiness:
    def __init__(self) -> None:
        self.ready = True
        self.calls = 0

    def __call__(self) -> tuple[bool, dict[str, str]]:
        self.calls += 1
        return self.ready, {"store": "ok" if self.ready else "unreachable"}


@pytest.fixture(scope="module")
def _server() -> Iterator[tuple[HealthServer, _Readiness]]:
    readiness = _Readiness()
    server = HealthServer("127.0.0.1:0", Metrics(registry=CollectorRegistry()), readiness)
    server.start()
    yield server, readiness
    server.stop()


@pytest.fixture
def served(_server: tuple[HealthServer, _Readiness]) -> tuple[HealthServer, _Readiness]:
    server, readiness = _server
    readiness.ready, readiness.calls = True, 0
    return server, readiness


def _request(
    server: HealthServer, method: str, path: str, body: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    host, port = server.address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        # skip_accept_encoding and a raw path: the request line goes out as written.
        conn.putrequest(method, path, skip_accept_encoding=True)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def test_serves_metrics_health_and_readiness(served):
    server, readiness = served
    status, headers, body = _request(server, "GET", "/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert b"leakmon_ready" in body
    assert _request(server, "GET", "/healthz")[::2] == (200, b"ok\n")
    status, _, body = _request(server, "GET", "/readyz")
    assert (status, json.loads(body)) == (200, {"ready": True, "store": "ok"})
    readiness.ready = False
    status, _, body = _request(server, "GET", "/readyz")
    assert (status, json.loads(body)) == (503, {"ready": False, "store": "unreachable"})


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/debug",
        "/admin",
        "/config",
        "/findings",
        "/favicon.ico",
        "/../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/metrics/../../etc/passwd",
        "/metrics/",
        "/metrics%00",
        "/metrics//",
        "/METRICS",
        "/readyz/details",
    ],
)
def test_any_other_path_is_404_with_no_data(served, path):
    server, readiness = served
    status, _, body = _request(server, "GET", path)
    assert (status, body) == (404, b"not found\n")
    assert readiness.calls == 0  # nothing was even looked at


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"])
@pytest.mark.parametrize("path", ["/metrics", "/healthz", "/readyz"])
def test_methods_other_than_get_and_head_are_405(served, method, path):
    server, readiness = served
    status, headers, body = _request(server, method, path, body=b"reset=1")
    assert (status, body) == (405, b"method not allowed\n")
    assert headers["Allow"] == "GET, HEAD"
    assert readiness.calls == 0


def test_head_answers_headers_without_a_body(served):
    server, _ = served
    status, headers, body = _request(server, "HEAD", "/metrics")
    assert status == 200
    assert int(headers["Content-Length"]) > 0
    assert body == b""


def test_listens_on_loopback_by_default():
    assert Settings().http.listen.startswith("127.0.0.1:")
    server = HealthServer(":0", Metrics(registry=CollectorRegistry()), lambda: (True, {}))
    try:
        assert server.address.startswith("127.0.0.1:")
    finally:
        server.stop()


def test_a_readiness_check_that_hangs_is_not_ready_and_blocks_nothing():
    """A store that accepts but never answers: probes get 503 in bounded time, /healthz at once."""
    release = threading.Event()
    calls = []

    def stuck() -> tuple[bool, dict[str, str]]:
        calls.append(1)
        release.wait(10)
        return True, {"store": "ok"}

    metrics = Metrics(registry=CollectorRegistry())
    metrics.ready.set(1)
    server = HealthServer("127.0.0.1:0", metrics, stuck, readiness_timeout=0.3)
    server.start()
    try:
        started = time.monotonic()
        status, _, body = _request(server, "GET", "/readyz")
        assert status == 503
        assert json.loads(body) == {"ready": False, "check": "no answer within 0.3 s"}
        assert _request(server, "GET", "/healthz")[::2] == (200, b"ok\n")
        status, _, body = _request(server, "GET", "/metrics")
        assert status == 200
        assert b"leakmon_ready 0.0" in body
        assert time.monotonic() - started < 3
        assert len(calls) == 1  # the stuck check is waited for again, not started twice

        release.set()
        status, _, body = _request(server, "GET", "/readyz")
        assert (status, json.loads(body)) == (200, {"ready": True, "store": "ok"})
    finally:
        release.set()
        server.stop()
