"""Download one URL for ``leakmon scan URL``: bounded in size and time, to a temp file.

The daemon crawls with Scrapy; this is only the one-shot gate's path, so it
uses the standard library and refuses anything but http(s).
"""

from __future__ import annotations

import logging
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from monitor import __version__
from monitor.errors import FetchError, FileTooLarge

__all__ = ["Downloaded", "download"]

logger = logging.getLogger(__name__)

USER_AGENT = f"leakmon/{__version__} (+https://github.com/leakmon/leakmon)"


@dataclass(frozen=True)
class Downloaded:
    """A downloaded file: where it lies and what the server called it."""

    path: Path
    media_type: str | None


def download(url: str, max_bytes: int, timeout: float = 60.0) -> Downloaded:
    """Download ``url`` into a temporary file (the caller deletes it).

    Raises:
        FetchError: for a non-http(s) URL or any network or HTTP error.
        FileTooLarge: when the body is longer than ``max_bytes``.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"{url}: only http and https URLs can be scanned")
    suffix = Path(parts.path).suffix[:10]
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})  # noqa: S310
    fd, name = tempfile.mkstemp(prefix="leakmon-", suffix=suffix)
    target = Path(name)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp, open(fd, "wb") as out:  # noqa: S310
            media_type = resp.headers.get_content_type()
            copied = 0
            while chunk := resp.read(1024 * 1024):
                copied += len(chunk)
                if copied > max_bytes:
                    raise FileTooLarge(f"{url}: body is over the limit of {max_bytes} bytes")
                out.write(chunk)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        target.unlink(missing_ok=True)
        raise FetchError(f"{url}: download failed: {exc}") from exc
    except FileTooLarge:
        target.unlink(missing_ok=True)
        raise
    return Downloaded(target, media_type)
