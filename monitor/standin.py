"""A stand-in portal and a webhook receiver on 127.0.0.1, for ``leakmon demo`` and tests.

The portal serves an index page linking its published files, honours
conditional GETs (ETag, Last-Modified → 304) and can publish or withdraw a file
while running. The receiver records every POST. Both bind to loopback only.
"""

from __future__ import annotations

import email.utils
import hashlib
import html
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Answer", "Portal", "ReceivedPost", "Receiver"]

logger = logging.getLogger(__name__)

#: The largest POST body the stand-in reads (Tableau's command forms are a few KB).
_MAX_POST = 1024 * 1024


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Keep the demo's terminal clean."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # A crawl opens many connections at once; the default backlog of 5 drops some.
    request_queue_size = 128


@dataclass
class _File:
    body: bytes
    media_type: str
    etag: str
    modified: str


@dataclass
class Answer:
    """What the portal answers to one GET; an ``etag`` makes it answer 304 when it matches."""

    body: bytes
    media_type: str
    status: int = 200
    etag: str | None = None
    modified: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class Portal:
    """An open-data portal in miniature: ``/`` lists the files under ``/data/``."""

    def __init__(self, title: str = "Stand-in open data portal", keep_alive: bool = False) -> None:
        self.title = title
        # HTTP/1.1 persistent connections, as real portals' web servers answer; off by
        # default: tests POST on fresh connections (see _serve).
        self.keep_alive = keep_alive
        self._files: dict[str, _File] = {}
        self._lock = threading.Lock()
        self.requests: list[tuple[str, str, bool]] = []  # (method, path, conditional)
        # Seconds every answer waits before it is sent: a portal across the internet
        # (bench/bench_scale.py measures throughput at 200 ms).
        self.latency = 0.0
        portal = self

        class Handler(_Quiet):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def do_GET(self) -> None:
                portal._serve(self)

            def do_POST(self) -> None:
                portal._serve(self, post=True)

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Return the portal's base URL."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def start(self) -> Portal:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def publish(self, name: str, body: bytes, media_type: str = "text/csv") -> str:
        """Publish (or replace) a file; return its URL."""
        with self._lock:
            self._files[name] = _File(
                body,
                media_type,
                f'"{hashlib.sha1(body).hexdigest()}"',  # noqa: S324  (an ETag, not security)
                email.utils.formatdate(time.time(), usegmt=True),
            )
        return self.url + "data/" + name

    def withdraw(self, name: str) -> None:
        """Take a file down: unlinked from the index and answering 404."""
        with self._lock:
            self._files.pop(name, None)

    def conditional_requests(self, name: str) -> int:
        """Return how many conditional GETs a file has received."""
        return sum(1 for _, path, cond in self.requests if path == f"/data/{name}" and cond)

    def _index(self) -> bytes:
        links = "".join(
            f'<li><a href="data/{html.escape(n)}">{html.escape(n)}</a></li>'
            for n in sorted(self._files)
        )
        return (
            f"<!doctype html><html><head><title>{html.escape(self.title)}</title></head>"
            f"<body><h1>{html.escape(self.title)}</h1><ul>{links}</ul></body></html>"
        ).encode()

    def route(self, path: str) -> Answer | None:
        """Return what ``path`` (with its query) answers, ``None`` for 404; the lock is held.

        Subclasses (portals with a catalogue API, in the tests) add their paths here.
        """
        if path in ("/", "/index.html"):
            return Answer(self._index(), "text/html; charset=utf-8")
        if path == "/robots.txt":
            return Answer(b"User-agent: *\nAllow: /\n", "text/plain")
        if path.startswith("/data/"):
            return self.file(path[6:])
        return None

    def route_post(self, path: str, body: bytes, content_type: str) -> Answer | None:
        """Return what a POST to ``path`` answers, ``None`` for 404; the lock is held.

        The plain portal takes no POSTs; the stand-in Tableau server does.
        """
        return None

    def file(self, name: str) -> Answer | None:
        """Return the answer for a published file, with its validators; the lock is held."""
        f = self._files.get(name)
        return None if f is None else Answer(f.body, f.media_type, etag=f.etag, modified=f.modified)

    def _serve(self, req: BaseHTTPRequestHandler, post: bool = False) -> None:
        conditional = bool(req.headers.get("If-None-Match") or req.headers.get("If-Modified-Since"))
        body = b""
        if post:
            length = min(int(req.headers.get("Content-Length") or 0), _MAX_POST)
            body = req.rfile.read(length) if length > 0 else b""
        if self.latency > 0:
            time.sleep(self.latency)
        with self._lock:
            self.requests.append(("POST" if post else "GET", req.path, conditional))
            if post:
                answer = self.route_post(req.path, body, req.headers.get("Content-Type") or "")
            else:
                answer = self.route(req.path)
        if answer is None:
            req.send_error(404)
            return
        etag, modified = answer.etag, answer.modified
        if etag and (
            req.headers.get("If-None-Match") == etag
            or req.headers.get("If-Modified-Since") == modified
        ):
            req.send_response(304)
            req.send_header("ETag", etag)
            req.end_headers()
            return
        req.send_response(answer.status)
        if not self.keep_alive:
            # HTTP/1.0 closes each connection; saying so keeps clients from pooling it (a
            # POST sent on a pooled, closed connection fails: only idempotent requests are
            # retried).
            req.send_header("Connection", "close")
        req.send_header("Content-Type", answer.media_type)
        req.send_header("Content-Length", str(len(answer.body)))
        if etag and modified:
            req.send_header("ETag", etag)
            req.send_header("Last-Modified", modified)
        for name, value in answer.headers.items():
            req.send_header(name, value)
        req.end_headers()
        req.wfile.write(answer.body)


@dataclass(frozen=True)
class ReceivedPost:
    """One POST the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        """Return the body parsed as JSON (Any: it is whatever was sent)."""
        return json.loads(self.body)


class Receiver:
    """A webhook endpoint that records what it receives; can fail on purpose."""

    def __init__(self) -> None:
        self.posts: list[ReceivedPost] = []
        self.fail_with: int | None = None  # answer this status instead of 200 while set
        self._cond = threading.Condition()
        receiver = self

        class Handler(_Quiet):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status = receiver.fail_with
                if status is None:
                    with receiver._cond:
                        receiver.posts.append(ReceivedPost(self.path, dict(self.headers), body))
                        receiver._cond.notify_all()
                self.send_response(status or 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Return the receiver's URL."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def start(self) -> Receiver:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, count: int, timeout: float) -> list[ReceivedPost]:
        """Wait until at least ``count`` posts arrived (or the timeout passed); return them."""
        with self._cond:
            self._cond.wait_for(lambda: len(self.posts) >= count, timeout=timeout)
            return list(self.posts)
