"""A small open-data portal on 127.0.0.1 for crawler tests: pages, files, validators, faults.

Every request is recorded (path, User-Agent, conditional headers), so tests can
check what the crawler sent as well as what it reported. Synthetic data only.
"""

from __future__ import annotations

import email.utils
import hashlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Hit", "Portal", "Resource"]


@dataclass
class Resource:
    """What one path serves."""

    body: bytes = b""
    media_type: str = "text/html; charset=utf-8"
    status: int = 200
    etag: bool = False
    last_modified: bool = False
    attachment: str | None = None  # file name for Content-Disposition: attachment
    no_length: bool = False  # stream the body and close, without Content-Length
    delay: float = 0.0  # seconds to wait before answering
    stamp: str = field(default="", init=False)

    def __post_init__(self) -> None:
        self.stamp = email.utils.formatdate(time.time() - 3600, usegmt=True)

    @property
    def tag(self) -> str:
        """Return the strong ETag of the body."""
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


@dataclass(frozen=True)
class Hit:
    """One request the portal received."""

    path: str
    user_agent: str | None
    if_none_match: str | None
    if_modified_since: str | None
    at: float

    @property
    def conditional(self) -> bool:
        """Say whether the request carried a validator."""
        return bool(self.if_none_match or self.if_modified_since)


class Portal:
    """An HTTP server on 127.0.0.1 whose paths the test sets and changes while it runs."""

    def __init__(self) -> None:
        self.resources: dict[str, Resource] = {}
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        portal = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                portal._serve(self)

            def log_message(self, format: str, *args: Any) -> None:
                """Keep test output clean."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Return the portal's base URL, ending with a slash."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def start(self) -> Portal:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def set(self, path: str, resource: Resource) -> None:
        """Serve ``resource`` at ``path`` (which may carry a query string)."""
        with self._lock:
            self.resources[path] = resource

    def remove(self, path: str) -> None:
        """Answer 404 at ``path`` from now on."""
        with self._lock:
            self.resources.pop(path, None)

    def hits_for(self, path: str) -> list[Hit]:
        """Return the requests made for ``path``."""
        with self._lock:
            return [h for h in self.hits if h.path == path]

    def _serve(self, req: BaseHTTPRequestHandler) -> None:
        hit = Hit(
            req.path,
            req.headers.get("User-Agent"),
            req.headers.get("If-None-Match"),
            req.headers.get("If-Modified-Since"),
            time.monotonic(),
        )
        with self._lock:
            self.hits.append(hit)
            res = self.resources.get(req.path)
        if res is None:
            req.send_error(404)
            return
        if res.delay:
            time.sleep(res.delay)
        etag = res.tag if res.etag else None
        modified = res.stamp if res.last_modified else None
        if (etag and hit.if_none_match == etag) or (modified and hit.if_modified_since == modified):
            req.send_response(304)
            if etag:
                req.send_header("ETag", etag)
            req.end_headers()
            return
        req.send_response(res.status)
        req.send_header("Content-Type", res.media_type)
        if not res.no_length:
            req.send_header("Content-Length", str(len(res.body)))
        if etag:
            req.send_header("ETag", etag)
        if modified:
            req.send_header("Last-Modified", modified)
        if res.attachment:
            req.send_header("Content-Disposition", f'attachment; filename="{res.attachment}"')
        req.end_headers()
        try:
            for i in range(0, len(res.body), 64 * 1024):
                req.wfile.write(res.body[i : i + 64 * 1024])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the crawler hung up: over-size bodies and headers-only probes


def page(title: str, *links: str, extra: str = "") -> Resource:
    """Return an HTML page titled ``title`` that links each of ``links``."""
    items = "".join(
        f'<li><a href="{href}">{href.rsplit("/", 1)[-1] or href}</a></li>' for href in links
    )
    return Resource(
        f"<!doctype html><html><head><title>{title}</title>{extra}</head>"
        f"<body><h1>{title}</h1><ul>{items}</ul></body></html>".encode()
    )
