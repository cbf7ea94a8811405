"""The daemon's HTTP endpoint: /metrics for Prometheus, /healthz and /readyz for orchestrators.

Nothing else is served, unless the findings page is configured onto the same
listener (``http.page`` without a ``listen`` of its own; see monitor.web.page).
Only GET and HEAD are answered (405 otherwise), so nothing can be changed through
it. The server is threaded with timeouts (monitor.web.server): idle and slow
clients delay no probe. The readiness check runs on a thread of its own and is
waited for a bounded time: a database that accepts connections but never answers
must not hang the orchestrator's probes, /healthz behind them, or the Prometheus
scrape.
"""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any

from monitor.web.server import Mount, WebServer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from monitor.metrics import Metrics
    from monitor.web.server import WsgiApp

__all__ = ["HealthServer"]

logger = logging.getLogger(__name__)

_PATHS = ("/metrics", "/healthz", "/readyz")
_METHODS = ("GET", "HEAD")
_TEXT = ("Content-Type", "text/plain")
#: Probes and scrapes are never cached, and never sniffed as another type.
_COMMON = [("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff")]


class HealthServer:
    """Serves metrics and health on ``host:port`` from a background thread.

    Args:
        listen: ``host:port``; port 0 picks a free port (tests).
        metrics: what /metrics exposes.
        readiness: returns (ready, details); /readyz answers 503 with the details when not ready.
        readiness_timeout: seconds a request waits for ``readiness``; past that it counts
            as not ready. At most one check runs at a time: a stuck one is waited for
            again by the next request, never started twice.
        page: the findings page's WSGI app, served on the same listener for every
            other path; ``None``: every other path is 404.
        page_listen: ``host:port`` of a listener of the page's own; ``None``: the
            page shares ``listen``.
        idle_timeout: seconds a silent connection stays open.
        request_timeout: seconds a request may take to arrive, from its first byte.
    """

    def __init__(
        self,
        listen: str,
        metrics: Metrics,
        readiness: Callable[[], tuple[bool, dict[str, str]]],
        readiness_timeout: float = 3.0,
        page: WsgiApp | None = None,
        *,
        page_listen: str | None = None,
        idle_timeout: float = 30.0,
        request_timeout: float = 10.0,
    ) -> None:
        self._metrics = metrics
        self._readiness = readiness
        self._timeout = readiness_timeout
        self._checker = ThreadPoolExecutor(1, thread_name_prefix="readiness")
        self._check: Future[tuple[bool, dict[str, str]]] | None = None
        self._check_lock = threading.Lock()
        mounts = [Mount(self._app, None, threads=4, name="health")]
        self._page_server: WebServer | None = None
        if page is not None and page_listen is None:
            mounts = [
                Mount(self._app, frozenset(_PATHS), threads=4, name="health"),
                Mount(page, None, threads=4, name="page"),
            ]
        self._server = WebServer(
            listen, mounts, name="http", idle_timeout=idle_timeout, request_timeout=request_timeout
        )
        if page is not None and page_listen is not None:
            self._page_server = WebServer(
                page_listen,
                [Mount(page, None, threads=4, name="page")],
                name="page",
                idle_timeout=idle_timeout,
                request_timeout=request_timeout,
            )
        self._with_page = page is not None

    @property
    def address(self) -> str:
        """Return the bound ``host:port``."""
        return self._server.address

    @property
    def page_address(self) -> str | None:
        """Return where the findings page is served (``host:port``), or ``None``."""
        if not self._with_page:
            return None
        return (self._page_server or self._server).address

    def start(self) -> None:
        """Start serving in the background."""
        self._server.start()
        if self._page_server is not None:
            self._page_server.start()
        logger.info("serving /metrics, /healthz, /readyz on http://%s", self.address)
        if self.page_address is not None:
            logger.info("serving the findings page on http://%s/findings", self.page_address)

    def stop(self) -> None:
        """Stop serving (also when never started)."""
        self._server.stop()
        if self._page_server is not None:
            self._page_server.stop()
        self._checker.shutdown(wait=False, cancel_futures=True)

    def _ready(self) -> tuple[bool, dict[str, str]]:
        """Return the readiness check's answer, or not ready when it takes too long."""
        with self._check_lock:  # requests run on several threads: start one check at most
            if self._check is None or self._check.done():
                self._check = self._checker.submit(self._readiness)
            check = self._check
        try:
            return check.result(timeout=self._timeout)
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
        start(status, [*headers, *_COMMON, ("Content-Length", str(len(body)))])
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
