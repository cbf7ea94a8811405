# mypy: disallow-untyped-calls=False
# (Twisted's web server classes are not annotated; this module is their only door.)
"""An HTTP server for WSGI apps: Twisted's web server on a reactor and thread of its own.

The crawl owns Twisted's global reactor on the main thread; this server never
touches it. It runs a private reactor (epoll, or poll) on one background thread,
which only moves bytes: idle or slow connections cost it a socket each and
delay nobody. Each mounted WSGI app runs on a thread pool of its own, so a slow
findings page cannot hold the threads /readyz and /metrics need.

Bounds, so a client can only cost a bounded amount:

- ``request_timeout``: from its first byte, a request line, headers and body must
  arrive within this many seconds (a client dripping a byte at a time is cut off);
- ``idle_timeout``: a connection that sends nothing for this long is closed;
- ``max_connections``: past this many open connections, new ones are closed at once;
- Twisted's own limits: 16 KiB of request line and headers, 500 headers.
"""

from __future__ import annotations

import logging
import socket
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from twisted.internet.protocol import connectionDone
from twisted.python.threadpool import ThreadPool
from twisted.web.http import HTTPChannel
from twisted.web.resource import Resource
from twisted.web.server import Request, Site
from twisted.web.wsgi import WSGIResource

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from twisted.python.failure import Failure

__all__ = ["Mount", "WebServer", "WsgiApp"]

logger = logging.getLogger(__name__)

#: Any: WSGI's environ values and start_response arguments are untyped by design.
WsgiApp: TypeAlias = "Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]"
#: How long ``stop`` waits for a thread pool's busy threads.
_STOP_WAIT_S = 5.0


def _daemon_thread(*args: Any, **kwargs: Any) -> threading.Thread:
    """Return a daemon thread: a request stuck in a hung database must not block exit."""
    return threading.Thread(*args, daemon=True, **kwargs)


class _Pool(ThreadPool):
    threadFactory = staticmethod(_daemon_thread)  # type: ignore[assignment]  # a Thread factory


@dataclass(frozen=True)
class Mount:
    """One WSGI app on the server.

    Attributes:
        app: the WSGI application.
        paths: the exact paths it answers (after %-decoding); ``None``: every
            path no other mount claims.
        threads: the size of its thread pool.
        name: names its threads (``http-<name>``) in logs and thread dumps.
    """

    app: WsgiApp
    paths: frozenset[str] | None = None
    threads: int = 4
    name: str = "app"


def _private_reactor() -> Any:
    """Return a new, uninstalled reactor (Any: Twisted types reactors as interfaces)."""
    try:
        from twisted.internet.epollreactor import EPollReactor

        return EPollReactor()
    except ImportError:  # not Linux
        from twisted.internet.pollreactor import PollReactor

        return PollReactor()


class _Request(Request):
    """A request that does not announce the server's name and version."""

    def process(self) -> None:
        super().process()
        # The WSGI thread writes the response headers later, through this reactor
        # thread, so the header is gone before they are sent.
        self.responseHeaders.removeHeader(b"server")


class _Channel(HTTPChannel):
    """An HTTP/1.1 connection that must send each request within a deadline."""

    # Set by the factory (see _Site.buildProtocol).
    request_timeout = 10.0
    callLater: Any
    _deadline: Any = None

    def dataReceived(self, data: bytes) -> None:
        if self._deadline is None and not self._handlingRequest:
            self._deadline = self.callLater(self.request_timeout, self._too_slow)
        super().dataReceived(data)

    def allContentReceived(self) -> None:
        self._cancel_deadline()
        super().allContentReceived()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._cancel_deadline()
        site: _Site = self.site  # type: ignore[attr-defined]  # set by Site.buildProtocol
        site.open_connections -= 1
        super().connectionLost(reason)

    def _too_slow(self) -> None:
        self._deadline = None
        logger.debug(
            "http: request not received within %g s, connection closed", self.request_timeout
        )
        if self.transport is not None:
            self.transport.abortConnection()

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            if self._deadline.active():
                self._deadline.cancel()
            self._deadline = None


class _Root(Resource):
    """Hands each request to the WSGI app that claims its path."""

    isLeaf = True

    def __init__(self, exact: dict[bytes, WSGIResource], rest: WSGIResource) -> None:
        super().__init__()
        self._exact = exact
        self._rest = rest

    def render(self, request: Any) -> Any:
        path = b"/" + b"/".join(request.postpath)
        return self._exact.get(path, self._rest).render(request)


class _Site(Site):
    requestFactory = _Request
    protocol = _Channel  # type: ignore[assignment]  # plain HTTP/1.1, no HTTP/2 negotiation
    displayTracebacks = False

    def __init__(
        self,
        root: Resource,
        *,
        reactor: Any,
        idle_timeout: float,
        request_timeout: float,
        max_connections: int,
    ) -> None:
        super().__init__(root, reactor=reactor, timeout=idle_timeout)
        # No form parsing on the reactor thread: the apps read bodies themselves, if at all.
        self._parsePOSTFormSubmission = False
        self.request_timeout = request_timeout
        self.max_connections = max_connections
        self.open_connections = 0
        self.refused_connections = 0

    def buildProtocol(self, addr: Any) -> Any:
        if self.open_connections >= self.max_connections:
            self.refused_connections += 1
            if self.refused_connections in (1, 10, 100) or self.refused_connections % 1000 == 0:
                logger.warning(
                    "http: %d open connections, the limit: %d connection(s) refused so far",
                    self.open_connections,
                    self.refused_connections,
                )
            return None  # Twisted closes the connection
        channel = super().buildProtocol(addr)
        channel.request_timeout = self.request_timeout
        self.open_connections += 1
        return channel

    def log(self, request: Any) -> None:
        """Send access lines to debug logging, not to Twisted's log file."""
        logger.debug(
            "http %s %s %s",
            request.method.decode("latin-1"),
            request.uri.decode("latin-1")[:200],
            request.code,
        )


class WebServer:
    """Serves WSGI apps on ``host:port`` from a private reactor on a background thread.

    The socket is bound when the server is built, so a port in use fails at once.

    Args:
        listen: ``host:port``; an empty host is 127.0.0.1; port 0 picks a free port (tests).
        mounts: the apps and the paths each answers; exactly one may claim the rest.
        idle_timeout: seconds a connection may stay silent.
        request_timeout: seconds a request may take to arrive, from its first byte.
        max_connections: open connections at most; more are closed at once.
        name: names the reactor thread and the log lines.
    """

    def __init__(
        self,
        listen: str,
        mounts: Sequence[Mount],
        *,
        idle_timeout: float = 30.0,
        request_timeout: float = 10.0,
        max_connections: int = 512,
        name: str = "http",
    ) -> None:
        rest = [m for m in mounts if m.paths is None]
        if len(rest) > 1:
            raise ValueError(f"at most one mount may answer every other path, got {len(rest)}")
        if not mounts:
            raise ValueError("a web server needs at least one mount")
        self.name = name
        host, _, port = listen.rpartition(":")
        self._sock = socket.create_server((host or "127.0.0.1", int(port)), backlog=128)
        self._sock.setblocking(False)
        self._reactor = _private_reactor()
        self._pools: list[_Pool] = []
        exact: dict[bytes, WSGIResource] = {}
        fallback: WSGIResource | None = None
        for mount in mounts:
            pool = _Pool(minthreads=1, maxthreads=mount.threads, name=f"{name}-{mount.name}")
            self._pools.append(pool)
            resource = WSGIResource(self._reactor, pool, mount.app)
            if mount.paths is None:
                fallback = resource
            else:
                exact.update({p.encode("latin-1"): resource for p in mount.paths})
        root = _Root(exact, fallback if fallback is not None else next(iter(exact.values())))
        self._site = _Site(
            root,
            reactor=self._reactor,
            idle_timeout=idle_timeout,
            request_timeout=request_timeout,
            max_connections=max_connections,
        )
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._port: Any = None

    @property
    def address(self) -> str:
        """Return the bound ``host:port``."""
        host, port = self._sock.getsockname()[:2]
        return f"{host!s}:{port}"

    def start(self) -> None:
        """Start serving in the background."""
        for pool in self._pools:
            pool.start()
        self._port = self._reactor.adoptStreamPort(
            self._sock.fileno(), self._sock.family, self._site
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving (also when never started); waits a few seconds at most."""
        if self._thread.is_alive():
            self._reactor.callFromThread(self._port.stopListening)
            self._reactor.callFromThread(self._reactor.stop)
            self._thread.join(timeout=5)
        stoppers = [
            threading.Thread(target=pool.stop, name=f"{self.name}-stop", daemon=True)
            for pool in self._pools
        ]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join(timeout=_STOP_WAIT_S)
        self._sock.close()

    def _run(self) -> None:
        # No signal handlers: they belong to the main thread and the crawl's reactor.
        self._reactor.run(installSignalHandlers=False)
