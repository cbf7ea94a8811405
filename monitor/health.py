"""The daemon's HTTP endpoint: /metrics for Prometheus, /healthz and /readyz for orchestrators.

Nothing else is served: findings and configuration stay off the network. Only
GET and HEAD are answered (405 otherwise), so nothing can be changed through it.
The readiness check runs on a thread of its own and is waited for a bounded time:
a database that accepts connections but never answers must not hang the
orchestrator's probes, /healthz behind them, or the Prometheus scrape.
"""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from monitor.metrics import Metrics

__all__ = ["HealthServer"]

logger = logging.getLogger(__name__)

_PATHS = ("/metrics", "/healthz", "/readyz")
_METHODS = ("GET", "HEAD")
_TEXT = ("Content-Type", "text/plain")


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Send access logs to debug logging instead of stderr."""
        logger.debug("http %s", format % args)


class _Server(WSGIServer):
    daemon_threads = True


class HealthServer:
    """Serves metrics and health on ``host:port`` from a background thread.

    Args:
        listen: ``host:port``; port 0 picks a free port (tests).
        metrics: what /metrics exposes.
        readiness: returns (ready, details); /readyz answers 503 with the details when not ready.
        readiness_timeout: seconds a request waits for ``readiness``; past that it counts
            as not ready. At most one check runs at a time: a stuck one is waited for
            again by the next request, never started twice.
    """

    def __init__(
        self,
        listen: str,
        metrics: Metrics,
        readiness: Callable[[], tuple[bool, dict[str, str]]],
        readiness_timeout: float = 3.0,
    ) -> None:
        host, _, port = listen.rpartition(":")
        self._metrics = metrics
        self._readiness = readiness
        self._timeout = readiness_timeout
        self._checker = ThreadPoolExecutor(1, thread_name_prefix="readiness")
        self._check: Future[tuple[bool, dict[str, str]]] | None = None
        self._server = make_server(
            host or "127.0.0.1",
            int(port),
            self._app,
            server_class=_Server,
            handler_class=_QuietHandler,
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="http", daemon=True)

    @property
    def address(self) -> str:
        """Return the bound ``host:port``."""
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> None:
        """Start serving in the background."""
        self._thread.start()
        logger.info("serving /metrics, /healthz, /readyz on http://%s", self.address)

    def stop(self) -> None:
        """Stop serving (also when never started)."""
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
        self._checker.shutdown(wait=False, cancel_futures=True)

    def _ready(self) -> tuple[bool, dict[str, str]]:
        """Return the readiness check's answer, or not ready when it takes too long."""
        # Requests are served one at a time, so no lock is needed around _check.
        if self._check is None or self._check.done():
            self._check = self._checker.submit(self._readiness)
        try:
            return self._check.result(timeout=self._timeout)
        except FutureTimeout:
            self._metrics.ready.set(0)
            logger.warning("readiness check gave no answer within %g s", self._timeout)
            return False, {"check": f"no answer within {self._timeout:g} s"}

    def _app(self, environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "")
        if path not in _PATHS:
            status, headers, body = "404 Not Found", [_TEXT], b"not found\n"
        elif method not in _METHODS:
            status, headers, body = (
                "405 Method Not Allowed",
                [_TEXT, ("Allow", ", ".join(_METHODS))],
                b"method not allowed\n",
            )
        else:
            status, headers, body = self._answer(path)
        start(status, [*headers, ("Content-Length", str(len(body)))])
        return [b"" if method == "HEAD" else body]

    def _answer(self, path: str) -> tuple[str, list[tuple[str, str]], bytes]:
        if path == "/metrics":
            self._ready()  # refreshes leakmon_ready, so systemd/docker scrapes see it too
            body = self._metrics.exposition()
            return "200 OK", [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")], body
        if path == "/healthz":
            return "200 OK", [_TEXT], b"ok\n"
        ready, details = self._ready()
        status = "200 OK" if ready else "503 Service Unavailable"
        return (
            status,
            [("Content-Type", "application/json")],
            json.dumps({"ready": ready, **details}).encode(),
        )
