"""Download one URL for ``leakmon scan URL``: bounded in size and time, to a temp file.

The daemon crawls with Scrapy; this is only the one-shot gate's path, so it
uses the standard library and refuses anything but http(s).
"""

from __future__ import annotations

import logging
import socket
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from monitor import __version__
from monitor.addresses import is_public_address
from monitor.errors import FetchError, FileTooLarge
from monitor.redaction import redact_url

__all__ = ["Downloaded", "download"]

logger = logging.getLogger(__name__)

USER_AGENT = f"leakmon/{__version__} (+https://github.com/leakmon/leakmon)"


@dataclass(frozen=True)
class Downloaded:
    """A downloaded file: where it lies and what the server called it."""

    path: Path
    media_type: str | None


#: Redirect hops followed at most, as the crawler (Scrapy's REDIRECT_MAX_TIMES).
MAX_REDIRECTS = 5
_REDIRECTS = (301, 302, 303, 307, 308)
_WEB_PORTS = (80, 443)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Let each 3xx surface, so every hop is checked before it is followed."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        """Follow nothing."""
        return


_OPENER = urllib.request.build_opener(_NoRedirect)


def download(
    url: str, max_bytes: int, timeout: float = 60.0, deadline: float = 600.0
) -> Downloaded:
    """Download ``url`` into a temporary file (the caller deletes it).

    The crawler's rules apply: http(s) only, at most ``MAX_REDIRECTS`` redirects,
    and every hop checked by the address guard. The URL the operator gave is
    trusted as a start URL is (it may be on a private network); a redirect may
    lead only to a public address, and on the given host only to its own port or
    80/443. ``timeout`` bounds each network wait; ``deadline`` the whole download,
    so a body dripped a byte at a time ends too.

    Raises:
        FetchError: a refused URL or hop, a network or HTTP error, the deadline.
        FileTooLarge: when the body is longer than ``max_bytes``.
    """
    ends = time.monotonic() + deadline
    start = urllib.parse.urlsplit(url)
    if start.scheme not in ("http", "https"):
        raise FetchError(f"{url}: only http and https URLs can be scanned")
    suffix = Path(start.path).suffix[:10]
    fd, name = tempfile.mkstemp(prefix="leakmon-", suffix=suffix)
    target = Path(name)
    try:
        with open(fd, "wb") as out:
            media_type = _fetch(url, start, out, max_bytes, timeout, ends)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        target.unlink(missing_ok=True)
        if isinstance(exc, TimeoutError) and time.monotonic() >= ends - 0.05:
            why = f"the download did not finish within its deadline of {deadline:g} s"
            raise FetchError(f"{redact_url(url)}: {why}") from exc
        raise FetchError(f"{redact_url(url)}: download failed: {exc}") from exc
    except (FileTooLarge, FetchError):
        target.unlink(missing_ok=True)
        raise
    return Downloaded(target, media_type)


def _fetch(
    url: str,
    start: urllib.parse.SplitResult,
    out: BinaryIO,
    max_bytes: int,
    timeout: float,
    ends: float,
) -> str | None:
    for _ in range(MAX_REDIRECTS + 1):
        _check(url, start)
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})  # noqa: S310
        try:
            resp = _OPENER.open(request, timeout=_left(ends, timeout, url))
        except urllib.error.HTTPError as exc:
            location = exc.headers.get("Location") if exc.code in _REDIRECTS else None
            exc.close()
            if not location:
                raise
            url = urllib.parse.urljoin(url, location)
            continue
        with resp:
            # Each wait is bounded by what is left of the deadline, not only by
            # ``timeout``: a server that drips a byte a second never times out a read.
            sock = getattr(getattr(resp.fp, "raw", None), "_sock", None)
            copied = 0
            while True:
                left = _left(ends, timeout, url)
                if isinstance(sock, socket.socket):
                    sock.settimeout(left)
                chunk = resp.read1(1024 * 1024)
                if not chunk:
                    break
                copied += len(chunk)
                if copied > max_bytes:
                    raise FileTooLarge(
                        f"{redact_url(url)}: body is over the limit of {max_bytes} bytes"
                    )
                out.write(chunk)
            return str(resp.headers.get_content_type())
    raise FetchError(f"{redact_url(url)}: more than {MAX_REDIRECTS} redirects (a loop?)")


def _left(ends: float, timeout: float, url: str) -> float:
    """Return the seconds the next wait may take; raise when the deadline has passed."""
    left = ends - time.monotonic()
    if left <= 0:
        raise FetchError(f"{redact_url(url)}: the download did not finish within its deadline")
    return min(timeout, left)


def _check(url: str, start: urllib.parse.SplitResult) -> None:
    """Refuse a hop the crawler's address guard would refuse (the start URL is trusted)."""
    parts = urllib.parse.urlsplit(url)
    shown = redact_url(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"{shown}: refused (scheme): a redirect to a non-http(s) URL")
    host = parts.hostname.lower().rstrip(".")
    origin_host = (start.hostname or "").lower().rstrip(".")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    start_port = start.port or (443 if start.scheme == "https" else 80)
    if host == origin_host:
        if port != start_port and port not in _WEB_PORTS:
            raise FetchError(f"{shown}: refused (port): another port of the scanned host")
        return
    for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = str(info[4][0])
        if not is_public_address(address):
            raise FetchError(
                f"{shown}: refused (address): a redirect to {address}, which is not public"
            )
