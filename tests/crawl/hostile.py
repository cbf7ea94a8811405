"""A hostile web server on 127.0.0.1 for crawler tests: slow, endless, lying and looping answers.

``tests.crawl.portal.Portal`` is a well-behaved portal; this one writes raw HTTP so
it can misbehave in the ways a hostile or broken server does: headers then a byte
every few seconds, no answer at all, a chunked body that never ends, a body longer
or shorter than its Content-Length, a gzip bomb, redirect loops and link traps.
Every request is recorded. Synthetic data only.
"""

from __future__ import annotations

import functools
import gzip
import secrets
import socketserver
import threading
import time
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

if TYPE_CHECKING:
    import socket
    from collections.abc import Callable

__all__ = ["Conn", "Hostile", "bomb", "calendar", "endless", "redirect", "sessions", "trickle"]


@dataclass
class Conn:
    """One request on the hostile server: its path and query, and the socket to answer on."""

    path: str
    query: dict[str, str]
    sock: socket.socket
    server: Hostile

    def send(self, data: bytes) -> bool:
        """Write ``data``; return False once the crawler has hung up."""
        try:
            self.sock.sendall(data)
        except OSError:
            return False
        return True

    def head(self, status: int = 200, **headers: str | int) -> bool:
        """Write a status line and headers (``Content_Type`` becomes ``Content-Type``)."""
        lines = [f"HTTP/1.1 {status} X"] + [
            f"{k.replace('_', '-')}: {v}" for k, v in headers.items()
        ]
        return self.send(("\r\n".join(lines) + "\r\n\r\n").encode())

    def wait_closed(self, limit: float = 120.0) -> float:
        """Block until the crawler closes the connection (or ``limit``); return seconds waited."""
        start = time.monotonic()
        self.sock.settimeout(0.2)
        while time.monotonic() - start < limit and not self.server.stopping:
            try:
                if self.sock.recv(1024) == b"":
                    break
            except TimeoutError:
                continue
            except OSError:
                break
        return time.monotonic() - start


@dataclass(frozen=True)
class Hit:
    """One request the server received, and how long its connection stayed open."""

    path: str
    query: str
    at: float


class Hostile:
    """A raw HTTP/1.1 server on ``host`` (127.0.0.1 unless another loopback address)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Callable[[Conn], None]] = {}
        self.hits: list[Hit] = []
        self.closed_after: dict[str, float] = {}  # path -> seconds its connection stayed open
        self.stopping = False
        self._lock = threading.Lock()
        hostile = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                hostile._handle(self.request)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        """Return the port served."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Return the base URL, ending with a slash."""
        return f"http://{self._server.server_address[0]}:{self.port}/"

    def start(self) -> Hostile:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; routes that wait notice within a fraction of a second."""
        self.stopping = True
        self._server.shutdown()
        self._server.server_close()

    def route(self, path: str, answer: Callable[[Conn], None]) -> None:
        """Answer requests for ``path`` (without its query) with ``answer``."""
        self.routes[path] = answer

    def page(self, path: str, html: str, status: int = 200) -> None:
        """Serve a well-formed HTML page at ``path``."""
        body = html.encode()
        self.route(path, lambda c: _whole(c, status, body, "text/html; charset=utf-8"))

    def file(self, path: str, body: bytes, media_type: str = "text/csv") -> None:
        """Serve a well-formed file at ``path``."""
        self.route(path, lambda c: _whole(c, 200, body, media_type))

    def hits_for(self, path: str) -> list[Hit]:
        """Return the requests made for ``path``."""
        with self._lock:
            return [h for h in self.hits if h.path == path]

    def _handle(self, sock: socket.socket) -> None:
        data = b""
        sock.settimeout(10)
        try:
            while b"\r\n\r\n" not in data and len(data) < 65536:
                chunk = sock.recv(4096)
                if not chunk:
                    return
                data += chunk
        except OSError:
            return
        target = data.split(b"\r\n", 1)[0].split(b" ")[1].decode("latin-1")
        parts = urlsplit(target)
        with self._lock:
            self.hits.append(Hit(parts.path, parts.query, time.monotonic()))
        conn = Conn(parts.path, dict(parse_qsl(parts.query)), sock, self)
        answer = self.routes.get(parts.path.split(";", 1)[0])  # ;jsessionid=... is a parameter
        start = time.monotonic()
        if answer is None:
            _whole(conn, 404, b"not here", "text/plain")
        else:
            answer(conn)
        with self._lock:
            self.closed_after[parts.path] = time.monotonic() - start


def _whole(conn: Conn, status: int, body: bytes, media_type: str) -> None:
    conn.head(status, Content_Type=media_type, Content_Length=len(body), Connection="close")
    conn.send(body)


def page_html(title: str, *links: str) -> str:
    """Return an HTML page titled ``title`` that links each of ``links``."""
    items = "".join(f'<li><a href="{href}">{href}</a></li>' for href in links)
    head = f"<!doctype html><html><head><title>{title}</title></head>"
    return f"{head}<body><ul>{items}</ul></body></html>"


# -- misbehaviours ------------------------------------------------------------------------


def trickle(every: float, media_type: str = "text/csv") -> Callable[[Conn], None]:
    """Send headers, then one byte of body every ``every`` seconds, forever (slow loris)."""

    def answer(conn: Conn) -> None:
        if not conn.head(200, Content_Type=media_type, Content_Length=100_000):
            return
        while not conn.server.stopping and conn.send(b"x"):
            time.sleep(every)

    return answer


def trickle_headers(every: float) -> Callable[[Conn], None]:
    """Send the status line and headers one byte every ``every`` seconds, never finishing them."""

    def answer(conn: Conn) -> None:
        for byte in b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nX-Padding: " + b"x" * 10_000:
            if conn.server.stopping or not conn.send(bytes([byte])):
                return
            time.sleep(every)

    return answer


def silent(conn: Conn) -> None:
    """Accept the request and never answer, until the crawler hangs up."""
    conn.wait_closed()


def endless(media_type: str = "text/csv") -> Callable[[Conn], None]:
    """Send a chunked body that never ends (64 KiB chunks, as fast as the crawler reads)."""
    chunk = b"%x\r\n%s\r\n" % (65536, b"n,1\n" * 16384)

    def answer(conn: Conn) -> None:
        if conn.head(200, Content_Type=media_type, Transfer_Encoding="chunked"):
            while not conn.server.stopping and conn.send(chunk):
                pass

    return answer


def lying_length(
    declared: int, actual: bytes, media_type: str = "text/csv"
) -> Callable[[Conn], None]:
    """Declare ``declared`` bytes, send ``actual`` (more or fewer) and close."""

    def answer(conn: Conn) -> None:
        conn.head(200, Content_Type=media_type, Content_Length=declared, Connection="close")
        conn.send(actual)

    return answer


def bomb(encoding: str, inflated: int, media_type: str = "text/csv") -> Callable[[Conn], None]:
    """Serve ``inflated`` zero bytes compressed with ``encoding`` (gzip, deflate, br, zstd).

    ``gzip, gzip`` compresses twice: 1 GiB of zeros is then a body of under 2 KB.
    """
    layers = [e.strip() for e in encoding.split(",")]
    body = compress(layers[0], inflated)
    for _ in layers[1:]:
        body = gzip.compress(body, 9)

    def answer(conn: Conn) -> None:
        conn.head(
            200,
            Content_Type=media_type,
            Content_Encoding=encoding,
            Content_Length=len(body),
            Connection="close",
        )
        conn.send(body)

    return answer


@functools.cache
def compress(encoding: str, inflated: int) -> bytes:
    """Return ``inflated`` zero bytes compressed with ``encoding``, built in 1 MiB steps.

    Cached: 1 GiB at gzip level 9 (about 1 MB) takes some 10 s to build.
    """
    block = bytes(1024 * 1024)
    steps, rest = divmod(inflated, len(block))
    if encoding == "gzip":
        z = zlib.compressobj(9, zlib.DEFLATED, 31)
    elif encoding == "deflate":
        z = zlib.compressobj(9, zlib.DEFLATED, 15)
    elif encoding == "br":
        import brotli  # Scrapy's dependency for br

        return bytes(brotli.compress(bytes(inflated), quality=5))
    elif encoding == "zstd":
        try:
            from compression import zstd  # type: ignore[import-not-found]
        except ImportError:
            from backports import zstd  # type: ignore[no-redef]  # Scrapy's dependency
        comp = zstd.ZstdCompressor()
        out = b"".join(comp.compress(block) for _ in range(steps))
        return out + comp.compress(bytes(rest)) + comp.flush()
    else:
        raise ValueError(encoding)
    out = b"".join(z.compress(block) for _ in range(steps))
    return out + z.compress(bytes(rest)) + z.flush()


def redirect(location: Callable[[Conn], str] | str, status: int = 302) -> Callable[[Conn], None]:
    """Redirect to ``location`` (a URL, or a function of the request giving one)."""

    def answer(conn: Conn) -> None:
        where = location(conn) if callable(location) else location
        conn.head(status, Location=where, Content_Length=0, Connection="close")

    return answer


def calendar(prefix: str = "/cal/") -> Callable[[Conn], None]:
    """An endless calendar: ``/cal/?m=2026-11`` links the previous and the next month, forever."""

    def answer(conn: Conn) -> None:
        year, month = (int(x) for x in conn.query.get("m", "2026-11").split("-"))
        prev = (year, month - 1) if month > 1 else (year - 1, 12)
        nxt = (year, month + 1) if month < 12 else (year + 1, 1)
        links = [f"{prefix}?m={y}-{m:02d}" for y, m in (prev, nxt)]
        _whole(conn, 200, page_html(f"{year}-{month:02d}", *links).encode(), "text/html")

    return answer


def sessions(path: str, *files: str) -> Callable[[Conn], None]:
    """Link to itself with a fresh ``sid`` on every answer (a session-id trap), and ``files``."""

    def answer(conn: Conn) -> None:
        sid = secrets.token_hex(8)
        links = [f"{path}?sid={sid}", f"{path};jsessionid={sid}", *files]
        _whole(conn, 200, page_html("Session", *links).encode(), "text/html")

    return answer
