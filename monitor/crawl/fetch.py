"""Download each data file a spider found: conditionally, within the size limit, to a temp file."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import tempfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit, urlunsplit

from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import DeferredSemaphore
from twisted.internet.threads import deferToThread

from monitor.crawl.items import DatasetItem
from monitor.crawl.outcomes import (
    BUDGET_EXHAUSTED,
    DOWNLOAD_ERRORS,
    FETCH_META,
    NEW_FILE_META,
    describe,
    is_page,
    is_too_large,
)
from monitor.crawl.poll import OUTCOME_STATES, state_of
from monitor.crawl.streaming import SPOOL_META, SpoolTarget
from monitor.errors import FrontierError
from monitor.models import DownloadJob, FetchedFile, utcnow

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable

    from scrapy.crawler import Crawler
    from scrapy.http import Response

    from monitor.crawl.hooks import Validators
    from monitor.crawl.poll import PollState

__all__ = ["FetchPipeline", "FileFetch", "fetch_in_slot"]

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
        if not isinstance(item, DatasetItem):
            return item  # a ViewItem: the Tableau pipeline's
        url = str(item["url"])
        state = self.state
        if url in state.seen:
            return item
        state.seen.add(url)
        state.resource(url, "found")
        state.found[url] = {
            k: _text(item.get(k)) for k in ("portal", "dataset", "title", "referer")
        }
        if state.stopping:
            state.resource(url, "error", "not fetched: the crawler was stopped")
            return item  # shutting down: start no new download
        found_at = utcnow()
        if state.offload is not None:
            await self._offload(item, url, found_at)
            return item
        await self._fetch(item, url, found_at)
        return item

    async def _fetch(self, item: DatasetItem, url: str, found_at: dt.datetime) -> None:
        await fetch_in_slot(self.crawler, self.state, self._slots, item, url, found_at)

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
            queued = await maybe_deferred_to_future(state.offload(job))
        except FrontierError as exc:
            # The frontier is down: this replica fetches the file itself rather than
            # leave it unchecked (the scan claim still keeps it to one scan).
            logger.warning("target=%s frontier unavailable, fetching here: %s", state.target, exc)
            await self._fetch(item, url, found_at)
            return
        self._outcome("queued" if queued else "already_queued", url)

    def _outcome(self, name: str, url: str) -> None:
        self.state.files[name] += 1
        self.state.resource(url, OUTCOME_STATES[name])


async def fetch_in_slot(
    crawler: Crawler,
    state: PollState,
    slots: DeferredSemaphore,
    item: DatasetItem,
    url: str,
    found_at: dt.datetime,
) -> None:
    """Download one file in one of the poll's file slots, once the scan backlog has room.

    A file the daemon holds (its scan has not finished, or its retry is not due) is
    recorded as held at once, without a slot: it ends synchronously, and a long run of
    such files, each handing its slot to the next waiter inside the previous one's
    stack, once exhausted Python's recursion limit and lost a waiter, hanging the poll.

    Back-pressure: while the daemon's backlog of files waiting for their scan is
    full, no new download starts; those in flight finish, so the overshoot is at most
    the poll's ``parallel_files``. After such a wait the validators are read again.
    """
    validators = state.hooks.validators(url)
    fetch = FileFetch(crawler, state)
    if validators.hold is not None:
        await fetch.run(item, url, validators, found_at)
        return
    await maybe_deferred_to_future(slots.acquire())
    try:
        waited = False
        while (waiting := state.hooks.room()) is not None:
            waited = True
            await maybe_deferred_to_future(waiting)
        if waited:
            validators = state.hooks.validators(url)
        await fetch.run(item, url, validators, found_at)
    finally:
        # Handed on in the next reactor turn, not inside this stack: a file that ends
        # at once (a 304 from a fast server) must not nest the next waiter's download.
        _next_turn(slots.release)


def _next_turn(call: Callable[[], object]) -> None:
    from twisted.internet import reactor

    # getattr: Twisted's module-level reactor is typed as its interfaces' union.
    getattr(reactor, "callLater")(0, call)  # noqa: B009


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
        if validators.hold is not None:
            # Its last body could not be checked; retried with backoff, not every poll.
            self._outcome("held", url, validators.hold)
            logger.debug("target=%s %s not fetched: %s", state.target, url, validators.hold)
            return
        request = _request(item, url, validators, state)
        spooled: SpoolTarget = request.meta[SPOOL_META]
        try:
            response = await self.crawler.engine.download_async(request)
        except IgnoreRequest as exc:
            spooled.discard()
            self._ignored(url, exc)
            return
        except DOWNLOAD_ERRORS as exc:
            spooled.discard()
            if state.stopping:
                logger.info("target=%s fetch of %s interrupted by shutdown", state.target, url)
                return
            error = (
                f"too large: over the download limit of {state.max_bytes} bytes"
                if is_too_large(exc)
                else describe(exc)
            )
            if spooled.too_large:  # decoded while streaming (monitor.crawl.streaming)
                error = f"too large: inflates past the download limit of {state.max_bytes} bytes"
            self._outcome("too_large" if is_too_large(exc) else "error", url, error)
            state.hooks.on_fetch_error(state.target, url, error)
            return
        status = response.status
        if status == 304:
            self._outcome("unchanged", url)
            state.hooks.on_unchanged(state.target, url)
        elif 200 <= status < 300:
            await self._body(item, url, response, validators, found_at, spooled)
            return
        elif status in _GONE:
            self._outcome("gone", url)
            state.hooks.on_gone(state.target, url, status)
        else:
            self._outcome("forbidden" if status in (401, 403) else "error", url, f"HTTP {status}")
            state.hooks.on_fetch_error(state.target, url, f"HTTP {status}")
        spooled.discard()  # an error page's body, or none

    async def _body(
        self,
        item: DatasetItem,
        url: str,
        response: Response,
        validators: Validators,
        found_at: dt.datetime,
        spooled: SpoolTarget,
    ) -> None:
        state = self.state
        if is_page(response.headers) and not _has_extension(url, state.file_extensions):
            # A download-ish link (/export, ?format=csv) that serves an HTML page
            # is not a data file: it is not reported, and not counted as linked.
            state.seen.discard(url)
            state.forget(url)
            spooled.discard()
            self._outcome("not_a_file")
            logger.info("target=%s %s is an HTML page, not a data file; skipped", state.target, url)
            return
        try:
            if spooled.path is not None and spooled.sha256 is not None:
                # Streamed to disk as it arrived (monitor.crawl.streaming).
                path, digest, size = spooled.path, spooled.sha256, spooled.size
            else:
                # A body Scrapy held (an empty one, an unknown coding): writing and
                # hashing it would stall the reactor thread, so the thread pool does it.
                spooled.discard()
                size = len(response.body)
                path, digest = await maybe_deferred_to_future(
                    deferToThread(_spool, response.body, _suffix(url))
                )
        except OSError as exc:  # a full or read-only temp dir: the file goes unchecked, loudly
            self._outcome("error", url, "cannot write a temporary file")
            state.hooks.on_fetch_error(state.target, url, f"cannot write a temporary file: {exc}")
            return
        state.metrics.bytes_downloaded.labels(state.target).inc(size)
        if validators.sha256 is not None and digest == validators.sha256:
            path.unlink(missing_ok=True)
            self._outcome("unchanged", url)
            state.hooks.on_unchanged(state.target, url)
            return
        self._outcome("new_or_changed", url)
        fetched = FetchedFile(
            target=state.target,
            url=url,
            path=path,
            sha256=digest,
            size=size,
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
            self._outcome("over_budget", url, "the poll's request budget ran out")
        elif is_too_large(exc):
            self._outcome("too_large", url, "too large")
            state.hooks.on_fetch_error(
                state.target,
                url,
                f"too large: inflates past the download limit of {state.max_bytes} bytes",
            )
        elif str(exc) == "max redirections reached":  # Scrapy's RedirectMiddleware
            self._outcome("error", url, "too many redirects")
            state.hooks.on_fetch_error(state.target, url, "too many redirects (a loop?)")
        elif "robots.txt" in str(exc):
            self._outcome("robots", url, "robots.txt disallows it")
            logger.info("target=%s %s not fetched: %s", state.target, url, exc)
        else:
            # It redirects off the allowed domains: the operator may want to allow that host.
            self._outcome("refused", url, str(exc))
            logger.warning("target=%s %s not fetched: %s", state.target, url, exc)

    def _outcome(self, name: str, url: str | None = None, why: str | None = None) -> None:
        self.state.files[name] += 1
        if url is not None and name in OUTCOME_STATES:
            self.state.resource(url, OUTCOME_STATES[name], why)


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
        _without_userinfo(url, headers),
        headers=headers,
        callback=NO_CALLBACK,
        meta={
            FETCH_META: True,
            # Never fetched: it may be the leak published since the last poll.
            NEW_FILE_META: not (validators.sha256 or validators.etag or validators.last_modified),
            "download_maxsize": state.max_bytes,
            "download_warnsize": 0,
            # The body goes to disk as it arrives, never whole in memory.
            SPOOL_META: SpoolTarget(suffix=_suffix(url)),
        },
    )


def _without_userinfo(url: str, headers: dict[str, str]) -> str:
    """Move a link's user-info (``http://anonymous@host/leak.csv``) into Basic authentication.

    Twisted would take ``anonymous@host`` for the host name and the download would
    fail on DNS; a browser sends the user-info as credentials, and so does leakmon.
    The file keeps its URL as linked (in findings, logs are redacted).
    """
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode()
    headers["Authorization"] = f"Basic {token}"
    return urlunsplit(parts._replace(netloc=hostport))


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
