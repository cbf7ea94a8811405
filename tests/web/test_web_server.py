"""The threaded HTTP server: idle and slow clients delay no probe; bounds hold; own reactor."""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import textwrap
import threading
import time
from typing import TYPE_CHECKING

import pytest
from prometheus_client import CollectorRegistry

from monitor.health import HealthServer
from monitor.metrics import Metrics
from monitor.web.server import Mount, WebServer

if TYPE_CHECKING:
    from collections.abc import Iterator


def _hostport(address: str) -> tuple[str, int]:
    host, port = address.rsplit(":", 1)
    return host, int(port)


def _timed_get(address: str, path: str) -> tuple[int, float]:
    started = time.monotonic()
    conn = http.client.HTTPConnection(*_hostport(address), timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status, time.monotonic() - started
    finally:
        conn.close()


def _connect(address: str) -> socket.socket:
    return socket.create_connection(_hostport(address), timeout=10)


def _closed_by_server(sock: socket.socket, within: float) -> bool:
    """Return whether the server closed ``sock`` (EOF or reset) within ``within`` seconds."""
    sock.settimeout(within)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True


@pytest.fixture
def health() -> Iterator[HealthServer]:
    server = HealthServer(
        "127.0.0.1:0",
        Metrics(registry=CollectorRegistry()),
        lambda: (True, {"store": "ok"}),
        idle_timeout=3.0,
        request_timeout=2.0,
    )
    server.start()
    yield server
    server.stop()


def test_idle_connections_and_a_slow_client_delay_no_probe(health):
    """Issue 16 item 5: 100 idle connections and a dripping client; every probe under 1 s."""
    address = health.address
    idle = [_connect(address) for _ in range(100)]
    half_sent = _connect(address)
    half_sent.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # never finishes its headers
    stop = threading.Event()

    def drip() -> None:
        with _connect(address) as slow:
            for byte in b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n":
                if stop.wait(0.1):
                    return
                try:
                    slow.send(bytes([byte]))
                except OSError:
                    return  # cut off by the request deadline

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    try:
        worst = 0.0
        for _ in range(5):
            for path in ("/healthz", "/readyz", "/metrics"):
                status, seconds = _timed_get(address, path)
                assert status == 200
                worst = max(worst, seconds)
        assert worst < 1.0, f"a probe took {worst:.2f} s"
    finally:
        stop.set()
        dripper.join(5)
        for sock in [*idle, half_sent]:
            sock.close()


def test_a_request_that_never_completes_is_cut_off(health):
    sock = _connect(health.address)
    with sock:
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        # The request deadline (2 s) is kept even though bytes keep arriving.
        for _ in range(10):
            time.sleep(0.3)
            try:
                sock.sendall(b"X-Drip: 1\r\n")
            except OSError:
                break
        assert _closed_by_server(sock, within=5)
        assert time.monotonic() - started < 4.5


def test_an_idle_connection_is_closed(health):
    sock = _connect(health.address)
    with sock:
        started = time.monotonic()
        assert _closed_by_server(sock, within=8)
        assert 2.0 < time.monotonic() - started < 7.5


def test_keep_alive_connection_serves_several_requests(health):
    conn = http.client.HTTPConnection(*_hostport(health.address), timeout=5)
    try:
        for _ in range(3):
            conn.request("GET", "/healthz")
            resp = conn.getresponse()
            assert (resp.status, resp.read()) == (200, b"ok\n")
            time.sleep(0.5)
    finally:
        conn.close()


def test_no_server_header_and_no_cache(health):
    conn = http.client.HTTPConnection(*_hostport(health.address), timeout=5)
    try:
        conn.request("GET", "/metrics")
        resp = conn.getresponse()
        resp.read()
        assert resp.getheader("Server") is None  # no product and version for scanners
        assert resp.getheader("Cache-Control") == "no-store"
        assert resp.getheader("X-Content-Type-Options") == "nosniff"
    finally:
        conn.close()


def _hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
    return [b"hi\n"]


def test_connections_past_the_limit_are_closed_and_service_comes_back():
    server = WebServer("127.0.0.1:0", [Mount(_hello)], max_connections=5, idle_timeout=30)
    server.start()
    try:
        held = [_connect(server.address) for _ in range(5)]
        time.sleep(0.3)  # the reactor has accepted them
        extra = _connect(server.address)
        with extra:
            assert _closed_by_server(extra, within=3)
        for sock in held:
            sock.close()
        time.sleep(0.3)
        assert _timed_get(server.address, "/")[0] == 200
    finally:
        server.stop()


def test_slow_app_on_one_mount_does_not_hold_another():
    release = threading.Event()

    def slow(environ, start_response):
        release.wait(10)
        return _hello(environ, start_response)

    server = WebServer(
        "127.0.0.1:0", [Mount(_hello, frozenset({"/healthz"})), Mount(slow, None, threads=2)]
    )
    server.start()
    stuck = [
        threading.Thread(target=_timed_get, args=(server.address, "/page"), daemon=True)
        for _ in range(6)
    ]
    try:
        for t in stuck:
            t.start()
        time.sleep(0.3)
        status, seconds = _timed_get(server.address, "/healthz")
        assert status == 200
        assert seconds < 1.0
    finally:
        release.set()
        for t in stuck:
            t.join(5)
        server.stop()


def test_a_port_in_use_fails_when_built():
    first = WebServer("127.0.0.1:0", [Mount(_hello)])
    try:
        with pytest.raises(OSError, match="in use"):
            WebServer(first.address, [Mount(_hello)])
    finally:
        first.stop()


_OWN_REACTOR = textwrap.dedent(
    """
    import http.client, sys, time
    from twisted.internet import asyncioreactor
    asyncioreactor.install()
    from twisted.internet import reactor
    from monitor.web.server import Mount, WebServer

    def hello(environ, start_response):
        start_response("200 OK", [("Content-Length", "3")])
        return [b"hi\\n"]

    server = WebServer("127.0.0.1:0", [Mount(hello)])
    server.start()
    host, port = server.address.rsplit(":", 1)
    took = []

    def blocked_probe():
        started = time.monotonic()
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        conn.request("GET", "/")
        status = conn.getresponse().status
        took.append((status, time.monotonic() - started))
        reactor.callFromThread(reactor.stop)

    import threading
    # The crawl's reactor is busy for 3 s (a blocking call on its thread); a probe
    # is sent 0.5 s into it.
    reactor.callWhenRunning(lambda: reactor.callLater(0, time.sleep, 3))
    reactor.callWhenRunning(lambda: threading.Timer(0.5, blocked_probe).start())
    reactor.run(installSignalHandlers=False)
    server.stop()
    status, seconds = took[0]
    print(status, round(seconds, 3))
    sys.exit(0 if status == 200 and seconds < 1.0 else 1)
    """
)


def test_serves_while_the_crawl_reactor_is_blocked():
    """The server has a reactor of its own: a busy crawl reactor delays no probe."""
    done = subprocess.run(
        [sys.executable, "-c", _OWN_REACTOR], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
