"""``leakmon scan URL`` follows the crawler's rules: the guard per hop, 5 redirects, a deadline."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest

from monitor.download import download
from monitor.errors import FetchError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

CSV = b"district,permits\nNorth,12\n"


def _serve(handle: Callable[[BaseHTTPRequestHandler], None]) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

        def do_GET(self) -> None:
            handle(self)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _redirect(to: str) -> Callable[[BaseHTTPRequestHandler], None]:
    def handle(h: BaseHTTPRequestHandler) -> None:
        if h.path == "/file.csv":
            h.send_response(200)
            h.send_header("Content-Type", "text/csv")
            h.send_header("Content-Length", str(len(CSV)))
            h.end_headers()
            h.wfile.write(CSV)
            return
        h.send_response(302)
        h.send_header("Location", to.replace("{path}", str(int(h.path.strip("/") or 0) + 1)))
        h.send_header("Content-Length", "0")
        h.end_headers()

    return handle


@pytest.fixture
def other() -> Iterator[str]:
    server, base = _serve(_redirect("/file.csv"))  # another service on the same host
    yield base
    server.shutdown()


def _run(to: str, path: str = "/0") -> Any:
    server, base = _serve(_redirect(to))
    try:
        return download(base + path, max_bytes=1 << 20, timeout=5, deadline=10)
    finally:
        server.shutdown()


def test_a_redirect_within_the_origin_is_followed() -> None:
    got = _run("/file.csv")
    assert got.path.read_bytes() == CSV
    got.path.unlink()


def test_a_redirect_to_another_port_of_the_host_is_refused(other: str) -> None:
    with pytest.raises(FetchError, match=r"refused \(port\)"):
        _run(other + "/file.csv")


def test_a_redirect_to_a_private_name_is_refused() -> None:
    with pytest.raises(FetchError, match=r"refused \(address\)"):
        _run("http://localhost:80/file.csv")


def test_a_redirect_to_another_scheme_is_refused() -> None:
    with pytest.raises(FetchError, match=r"refused \(scheme\)"):
        _run("ftp://127.0.0.1/file.csv")


def test_redirects_stop_after_five() -> None:
    with pytest.raises(FetchError, match="more than 5 redirects"):
        _run("/{path}")


def test_a_dripping_body_ends_at_the_deadline() -> None:
    def drip(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/csv")
        h.end_headers()
        try:
            for _ in range(100):
                h.wfile.write(b"x")
                h.wfile.flush()
                time.sleep(0.3)
        except OSError:
            pass

    server, base = _serve(drip)
    started = time.monotonic()
    try:
        with pytest.raises(FetchError, match="deadline"):
            download(base + "/slow.csv", max_bytes=1 << 20, timeout=5, deadline=1.5)
    finally:
        server.shutdown()
    assert time.monotonic() - started < 4
