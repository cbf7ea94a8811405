"""Download each data file a spider found: conditionally, within the size limit, to a temp file."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import DeferredSemaphore
from twisted.internet.threads import deferToThread

from monitor.crawl.outcomes import (
    BUDGET_EXHAUSTED,
    DOWNLOAD_ERRORS,
    FETCH_META,
    describe,
    is_page,
    is_too_large,
)
from monitor.crawl.poll import state_of
from monitor.errors import FrontierError
from monitor.models import DownloadJob, FetchedFile, utcnow

if TYPE_CHECKING:
    import datetime as dt

    from scrapy.crawler import Crawler
    from scrapy.http import Response

    from monitor.crawl.hooks import Validators
    from monitor.crawl.items import DatasetItem
    from monitor.crawl.poll import PollState

__all__ = ["FetchPipeline", "FileFetch"]

logger = logging.getLogger(__name__)

_GONE = (404, 410)


class FetchPipeline:
    """Fetch every ``DatasetItem`` once per poll and tell the daemon what came of it.

    The GET carries ``If-None-Match`` / ``If-Modified-Since`` from the daemon's
    validators and Scrapy's ``download_maxsize``, so a body is held in memory
    only up to the limit. It goes through the crawler's downloader, so robots.txt,
    the offsite filter, AutoThrottle, retries and the request budget apply to it
    as to any page. Then exactly one hook is called:

    - 304, or a 2xx whose sha256 equals the stored one: ``on_unchanged``;
    - any other 2xx: ``on_file`` with the body in a temporary file;
    - 404 or 410: ``on_gone``;
    - another status, a timeout, a refused connection, an over-size body:
      ``on_fetch_error`` (``"too large: ..."`` for the last).

    Robots.txt and offsite refusals, the request budget, and links that turn out
    to be HTML pages call no hook; they are logged.
    """

    def __init__(self, crawler: Crawler, state: PollState) -> None:
        self.crawler = crawler
        self.state = state
        # Each body in flight may take max_bytes of memory (twice while Scrapy
        # joins its buffer), so file downloads are bounded apart from pages.
        self._slots = DeferredSemaphore(state.parallel_files)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FetchPipeline:
        """Build the pipeline on the crawler's poll state."""
        return cls(crawler, state_of(crawler))

    async def process_item(self, item: DatasetItem) -> DatasetItem:
        """Fetch the item's file unless it was already fetched in this poll."""
        url = str(item["url"])
        state = self.state
        if url in state.seen:
            return item
        state.seen.add(url)
        if state.stopping:
            return item  # shutting down: start no new download
        found_at = utcnow()
        if state.offload is not None:
            await self._offload(item, url, found_at)
            return item
        await self._fetch(item, url, found_at)
        return item

    async def _fetch(self, item: DatasetItem, url: str, found_at: dt.datetime) -> None:
        validators = self.state.hooks.validators(url)
        await maybe_deferred_to_future(self._slots.acquire())
        try:
            await FileFetch(self.crawler, self.state).run(item, url, validators, found_at)
        finally:
            self._slots.release()

    async def _offload(self, item: DatasetItem, url: str, found_at: dt.datetime) -> None:
        """Queue the file for whichever replica is free (cluster mode)."""
        state = self.state
        assert state.offload is not None  # noqa: S101  (checked by the caller)
        job = DownloadJob(
            target=state.target,
            url=url,
            found_at=found_at,
            portal=str(item.get("portal") or "html"),
            dataset=_text(item.get("dataset")),
            referer=_text(item.get("referer")),
        )
        try:
            queued = await maybe_deferred_to_future(deferToThread(state.offload, job))
        except FrontierError as exc:
            # The frontier is down: this replica fetches the file itself rather than
            # leave it unchecked (the scan claim still keeps it to one scan).
            logger.warning("target=%s frontier unavailable, fetching here: %s", state.target, exc)
            await self._fetch(item, url, found_at)
            return
        self._outcome("queued" if queued else "already_queued")

    def _outcome(self, name: str) -> None:
        self.state.files[name] += 1


class FileFetch:
    """One conditional download of one data file, and the hook its outcome calls.

    The poll's ``FetchPipeline`` uses it for the files its spider finds; in
    cluster mode, ``monitor.crawl.remote`` uses it for the jobs a replica takes
    from the frontier, on that target's download crawler.
    """

    def __init__(self, crawler: Crawler, state: PollState) -> None:
        self.crawler = crawler
        self.state = state

    async def run(
        self, item: DatasetItem, url: str, validators: Validators, found_at: dt.datetime
    ) -> None:
        """Download ``url`` and call exactly one hook with what came of it."""
        state = self.state
        try:
            response = await self.crawler.engine.download_async(
                _request(item, url, validators, state)
            )
        except IgnoreRequest as exc:
            self._ignored(url, exc)
            return
        except DOWNLOAD_ERRORS as exc:
            if state.stopping:
                logger.info("target=%s fetch of %s interrupted by shutdown", state.target, url)
                return
            error = (
                f"too large: over the download limit of {state.max_bytes} bytes"
                if is_too_large(exc)
                else describe(exc)
            )
            self._outcome("too_large" if is_too_large(exc) else "error")
            state.hooks.on_fetch_error(state.target, url, error)
            return
        status = response.status
        if status == 304:
            self._outcome("unchanged")
            state.hooks.on_unchanged(state.target, url)
        elif 200 <= status < 300:
            await self._body(item, url, response, validators, found_at)
        elif status in _GONE:
            self._outcome("gone")
            state.hooks.on_gone(state.target, url, status)
        else:
            self._outcome("error")
            state.hooks.on_fetch_error(state.target, url, f"HTTP {status}")

    async def _body(
        self,
        item: DatasetItem,
        url: str,
        response: Response,
        validators: Validators,
        found_at: dt.datetime,
    ) -> None:
        state = self.state
        if is_page(response.headers) and not _has_extension(url, state.file_extensions):
            # A download-ish link (/export, ?format=csv) that serves an HTML page
            # is not a data file: it is not reported, and not counted as linked.
            state.seen.discard(url)
            self._outcome("not_a_file")
            logger.info("target=%s %s is an HTML page, not a data file; skipped", state.target, url)
            return
        state.metrics.bytes_downloaded.labels(state.target).inc(len(response.body))
        # Writing and hashing up to max_bytes would stall every other download on
        # the reactor thread, so it happens in the reactor's thread pool.
        try:
            path, digest = await maybe_deferred_to_future(
                deferToThread(_spool, response.body, _suffix(url))
            )
        except OSError as exc:  # a full or read-only temp dir: the file goes unchecked, loudly
            self._outcome("error")
            state.hooks.on_fetch_error(state.target, url, f"cannot write a temporary file: {exc}")
            return
        if validators.sha256 is not None and digest == validators.sha256:
            path.unlink(missing_ok=True)
            self._outcome("unchanged")
            state.hooks.on_unchanged(state.target, url)
            return
        self._outcome("new_or_changed")
        fetched = FetchedFile(
            target=state.target,
            url=url,
            path=path,
            sha256=digest,
            size=len(response.body),
            media_type=_header(response, b"Content-Type", media=True),
            etag=_header(response, b"ETag"),
            last_modified=_header(response, b"Last-Modified"),
            fetched_at=utcnow(),
            portal=str(item.get("portal") or "html"),
            dataset=_text(item.get("dataset")),
            first_seen=found_at,
        )
        try:
            state.hooks.on_file(fetched)
        except BaseException:
            # The consumer deletes the file once it has it; a hook that failed never had it.
            path.unlink(missing_ok=True)
            raise

    def _ignored(self, url: str, exc: IgnoreRequest) -> None:
        state = self.state
        if str(exc) == BUDGET_EXHAUSTED:
            self._outcome("over_budget")
        elif is_too_large(exc):
            self._outcome("too_large")
            state.hooks.on_fetch_error(
                state.target,
                url,
                f"too large: inflates past the download limit of {state.max_bytes} bytes",
            )
        elif str(exc) == "max redirections reached":  # Scrapy's RedirectMiddleware
            self._outcome("error")
            state.hooks.on_fetch_error(state.target, url, "too many redirects (a loop?)")
        elif "robots.txt" in str(exc):
            self._outcome("refused")
            logger.info("target=%s %s not fetched: %s", state.target, url, exc)
        else:
            # It redirects off the allowed domains: the operator may want to allow that host.
            self._outcome("refused")
            logger.warning("target=%s %s not fetched: %s", state.target, url, exc)

    def _outcome(self, name: str) -> None:
        self.state.files[name] += 1


def _request(item: DatasetItem, url: str, validators: Validators, state: PollState) -> Request:
    headers: dict[str, str] = {}
    if validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    referer = item.get("referer")
    if referer:
        headers["Referer"] = str(referer)
    return Request(
        url,
        headers=headers,
        callback=NO_CALLBACK,
        meta={FETCH_META: True, "download_maxsize": state.max_bytes, "download_warnsize": 0},
    )


def _spool(body: bytes, suffix: str) -> tuple[Path, str]:
    """Write a body to a new temporary file; return its path and sha256 (worker thread)."""
    fd, name = tempfile.mkstemp(prefix="leakmon-", suffix=suffix)
    with os.fdopen(fd, "wb") as out:
        out.write(body)
    return Path(name), hashlib.sha256(body).hexdigest()


def _suffix(url: str) -> str:
    # Keeps the extension so readers that look at names still can; never a path.
    suffix = PurePosixPath(urlsplit(url).path).suffix.lower()
    return suffix if suffix[1:].isalnum() and len(suffix) <= 10 else ""


def _has_extension(url: str, extensions: tuple[str, ...]) -> bool:
    return urlsplit(url).path.lower().endswith(extensions)


def _header(response: Response, name: bytes, media: bool = False) -> str | None:
    value = response.headers.get(name)
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if media:
        text = text.split(";")[0].strip().lower()
    return text or None


def _text(value: object) -> str | None:
    return str(value) if value else None
