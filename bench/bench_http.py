"""Probe latency of leakmon's HTTP server under idle and slow clients, beside a one-at-a-time one.

Opens 100 idle connections, one stuck halfway through its headers and one dripping a
byte every 0.1 s, then times 15 probes (/healthz, /readyz, /metrics, five each). The
baseline is the stdlib one-connection-at-a-time WSGI server leakmon used before
(issue 16 item 5), serving the same app. Loopback only. Usage::

    .venv/bin/python bench/bench_http.py
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import statistics
import threading
import time
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry

from monitor.health import HealthServer
from monitor.metrics import Metrics

PROBE_TIMEOUT = 3.0


class _Quiet(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


class _Baseline:
    """The same health app on the stdlib server, one connection at a time."""

    def __init__(self) -> None:
        app = HealthServer("127.0.0.1:0", Metrics(registry=CollectorRegistry()), _ready)
        app.stop()  # only its WSGI app is used
        self._server = make_server("127.0.0.1", 0, app._app, handler_class=_Quiet)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _ready() -> tuple[bool, dict[str, str]]:
    return True, {"store": "ok"}


def _probe(host: str, port: int, path: str) -> tuple[float, str]:
    started = time.monotonic()
    try:
        conn = http.client.HTTPConnection(host, port, timeout=PROBE_TIMEOUT)
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        conn.close()
        return time.monotonic() - started, str(resp.status)
    except OSError as exc:
        return time.monotonic() - started, type(exc).__name__


def measure(server, label: str) -> float:
    server.start()
    host, port_text = server.address.rsplit(":", 1)
    port = int(port_text)
    held = []
    for _ in range(100):
        with contextlib.suppress(OSError):
            held.append(socket.create_connection((host, port), timeout=0.5))
    try:
        half = socket.create_connection((host, port), timeout=0.5)
        half.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        held.append(half)
    except OSError:
        pass
    stop = threading.Event()

    def drip() -> None:
        try:
            sock = socket.create_connection((host, port), timeout=0.5)
        except OSError:
            return
        with sock:
            for byte in b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n":
                if stop.wait(0.1):
                    return
                try:
                    sock.send(bytes([byte]))
                except OSError:
                    return

    threading.Thread(target=drip, daemon=True).start()
    time.sleep(0.3)
    results = [
        _probe(host, port, path) for _ in range(5) for path in ("/healthz", "/readyz", "/metrics")
    ]
    stop.set()
    for sock in held:
        sock.close()
    server.stop()
    times = [t for t, _ in results]
    outcomes = sorted({o for _, o in results})
    print(
        f"{label:<40} idle accepted {len(held):>3}/101  probes: worst {max(times) * 1000:8.1f} ms,"
        f" median {statistics.median(times) * 1000:8.1f} ms, outcomes {outcomes}"
    )
    return max(times)


def main() -> None:
    new = measure(
        HealthServer("127.0.0.1:0", Metrics(registry=CollectorRegistry()), _ready),
        "leakmon (Twisted, private reactor)",
    )
    old = measure(_Baseline(), "stdlib wsgiref (one at a time)")
    print(f"worst probe, baseline / leakmon: {old / new:.0f}x (baseline capped by its timeout)")


if __name__ == "__main__":
    main()
