"""Write the body of a file download to disk as it arrives, never whole in memory.

Scrapy's HTTP/1.1 handler collects every body in a ``BytesIO`` and builds the
response from it, so four 500 MiB downloads hold 2 GB (more while it is joined).
For the requests that carry a ``SpoolTarget`` in ``meta[SPOOL_META]`` (the data
file downloads of ``monitor.crawl.fetch``), the handler's body reader writes
each chunk to a private temporary file instead, hashing it on the way, and the
response arrives with an empty body and the file's path, sha256 and size in the
target. A ``Content-Encoding`` (gzip, deflate, br) is decoded while writing, and
the download limit applies to the decoded size, as Scrapy's decompression
middleware applies it to whole bodies; the header is then dropped so that the
middleware does not decode again. Pages and API answers are read as before.

Scrapy offers no seam for this: the reader class is swapped in its handler
module once, at import, for a subclass that behaves exactly as Scrapy's unless
a request asks for spooling (``install`` checks the class it replaces).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrapy.core.downloader.handlers import http11
from twisted.internet.protocol import connectionDone

__all__ = ["SPOOL_META", "SpoolTarget", "install"]

logger = logging.getLogger(__name__)

#: Request meta key holding the ``SpoolTarget`` of a file download.
SPOOL_META = "leakmon_spool"


@dataclass(eq=False)
class SpoolTarget:
    """Where one download's body goes, and what it was once it is complete.

    Attributes:
        suffix: the temporary file's suffix (the URL's extension, for readers).
        path: the file, once the first byte arrived; the consumer deletes it.
        sha256: the decoded body's hex digest, set when the body is complete.
        size: the decoded body's length in bytes.
        too_large: the decoded body passed the download limit (it was cancelled).
    """

    suffix: str = ""
    path: Path | None = None
    sha256: str | None = None
    size: int = 0
    too_large: bool = False

    def discard(self) -> None:
        """Delete the file (a failed, refused or unused download)."""
        if self.path is not None:
            self.path.unlink(missing_ok=True)
            self.path = None


class _Decoder:
    """Decode one Content-Encoding incrementally (gzip, deflate or br)."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._brotli: Any = None  # Any: brotli.Decompressor, an optional dependency
        self._zlib: Any = None  # Any: zlib's decompress object
        if encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj()
            self._raw_tried = False
        elif encoding == "br":
            import brotli  # type: ignore[import-untyped]  # optional, as in Scrapy; no stubs

            self._brotli = brotli.Decompressor()
        else:
            raise ValueError(f"cannot decode Content-Encoding {encoding!r}")

    def feed(self, data: bytes, limit: int) -> bytes:
        """Return what ``data`` decodes to, at most ``limit`` + 1 bytes (a bomb stops there)."""
        if self._brotli is not None:
            return bytes(self._brotli.process(data))
        try:
            return bytes(self._zlib.decompress(data, limit + 1 if limit else 0))
        except zlib.error:
            if self.encoding != "deflate" or self._raw_tried:
                raise
            # Some servers send raw deflate without the zlib header, as browsers accept.
            self._raw_tried = True
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            return bytes(self._zlib.decompress(data, limit + 1 if limit else 0))


class _DiskBody:
    """Stands in for the reader's ``BytesIO``: bytes go to a file, ``getvalue`` returns none."""

    def __init__(self, target: SpoolTarget, encoding: str | None, limit: int) -> None:
        target.discard()  # a retry starts over
        fd, name = tempfile.mkstemp(prefix="leakmon-", suffix=target.suffix)
        self._file = os.fdopen(fd, "wb")
        self._target = target
        target.path, target.size, target.sha256 = Path(name), 0, None
        self._hash = hashlib.sha256()
        self._decoder = _Decoder(encoding) if encoding else None
        self._limit = limit

    def write(self, data: bytes) -> int:
        """Write a received chunk (decoded) to the file."""
        if self._target.too_large or self._file.closed:
            return len(data)
        chunk = data
        if self._decoder is not None:
            left = self._limit - self._target.size if self._limit else 0
            chunk = self._decoder.feed(data, max(left, 0))
        self._hash.update(chunk)
        self._file.write(chunk)
        self._target.size += len(chunk)
        # A plain body over the limit is Scrapy's to cancel (it counts raw bytes).
        if self._decoder is not None and self._limit and self._target.size > self._limit:
            self._target.too_large = True
        return len(data)

    def truncate(self, size: int = 0) -> int:
        """Drop what was written (Scrapy does this when the raw body passes the limit)."""
        self._file.seek(0)
        self._file.truncate(0)
        return 0

    def getvalue(self) -> bytes:
        """Close the file and record its digest; the response body stays empty."""
        if not self._file.closed:
            self._file.close()
            self._target.sha256 = self._hash.hexdigest()
        return b""

    def close(self) -> None:
        """Close the file without completing it (a failed download)."""
        if not self._file.closed:
            self._file.close()


class _SpoolingReader(http11._ResponseReader):
    """Scrapy's body reader, writing to a ``SpoolTarget`` when the request has one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # Any: Scrapy's own arguments
        super().__init__(*args, **kwargs)
        target = self._request.meta.get(SPOOL_META)
        if not isinstance(target, SpoolTarget):
            return
        headers = self._txresponse.headers
        encodings = headers.getRawHeaders(b"content-encoding") or []
        coding = b",".join(encodings).decode("latin-1").strip().lower() or None
        if coding in ("identity", ""):
            coding = None
        if coding is not None and coding not in ("gzip", "x-gzip", "deflate", "br"):
            return  # several or unknown codings: Scrapy's middleware decides, in memory
        self._bodybuf = _DiskBody(target, coding, self._maxsize)  # type: ignore[assignment]
        if coding is not None:
            headers.removeHeader(b"content-encoding")  # decoded here: not again

    def dataReceived(self, data: bytes) -> None:
        """Receive a chunk; cancel the download once the decoded body passes the limit."""
        super().dataReceived(data)
        body = self._bodybuf
        if isinstance(body, _DiskBody) and body._target.too_large and not self._finished.called:
            logger.warning(
                "%s inflates past the download limit of %d bytes; cancelled",
                self._request.url,
                self._maxsize,
            )
            body.close()
            self._finished.cancel()

    def connectionLost(self, reason: Any = connectionDone) -> None:  # Any: a Failure
        """End the body; a failed download's file is closed (the fetch deletes it)."""
        body = self._bodybuf
        super().connectionLost(reason)
        if isinstance(body, _DiskBody):
            body.close()


def install() -> None:
    """Put the spooling reader into Scrapy's HTTP/1.1 handler (once)."""
    current = http11._ResponseReader
    if current is _SpoolingReader:
        return
    if current is not _SpoolingReader.__mro__[1]:
        raise RuntimeError("Scrapy's HTTP/1.1 body reader is not the one leakmon extends")
    http11._ResponseReader = _SpoolingReader  # type: ignore[misc]


install()
