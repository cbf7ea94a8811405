"""What the catalogue spiders share: API requests, reporting files, walking across polls."""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import parse_qsl, urlsplit

import scrapy

from monitor.crawl.items import API_REQUEST, DatasetItem
from spiders.changes import moment
from spiders.links import BadURL, absolute_url, skip_bad_url

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from scrapy.http import Response
    from twisted.python.failure import Failure

__all__ = ["DEFAULT_EXTENSIONS", "CatalogueSpider", "extension_for", "position", "text"]

#: The crawler passes ``crawl.file_extensions``; this is for running a spider alone.
DEFAULT_EXTENSIONS: tuple[str, ...] = (".csv", ".tsv", ".txt", ".xlsx", ".xls", ".xlsm", ".ods")
DEFAULT_EXTENSIONS += (".json", ".geojson", ".ndjson", ".jsonl", ".zip", ".pdf")
#: The crawler passes ``crawl.max_datasets_per_poll``; this is for running a spider alone.
DEFAULT_MAX_DATASETS = 2000
#: The share of ``max_requests`` a walk plans to spend; the rest covers retries and redirects.
BUDGET_SHARE = 0.9
#: Request meta key: the cursor the next poll resumes from when this API request fails.
RESUME = "leakmon_resume"
_T = TypeVar("_T")
_E = TypeVar("_E")
#: Query parameters whose value names a file format (``?format=csv``).
FORMAT_PARAMS = frozenset({"format", "_format", "fmt", "filetype", "outputformat"})
#: Media types and format names of data files, mapped to the extension that reads them.
DATA_TYPES = {
    "text/csv": ".csv",
    "application/csv": ".csv",
    "text/tab-separated-values": ".tsv",
    "text/plain": ".txt",
    "application/vnd.ms-excel": ".xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.ms-excel.sheet.macroenabled.12": ".xlsm",
    "application/vnd.oasis.opendocument.spreadsheet": ".ods",
    "application/json": ".json",
    "application/geo+json": ".geojson",
    "application/vnd.geo+json": ".geojson",
    "application/x-ndjson": ".ndjson",
    "application/zip": ".zip",
    "application/x-zip-compressed": ".zip",
    "application/pdf": ".pdf",
    "excel": ".xlsx",
    "microsoft excel": ".xlsx",
}


def extension_for(label: object) -> str | None:
    """Return the extension a media type or format name stands for (``CSV`` → ``.csv``)."""
    if not isinstance(label, str) or not label.strip():
        return None
    text = label.split(";")[0].strip().lower()
    return DATA_TYPES.get(text) or (f".{text.lstrip('.')}" if text.isalnum() else None)


class CatalogueSpider(scrapy.Spider):
    """The base of spiders that read a portal's catalogue API rather than follow its links.

    It is not a spider of its own (it has no ``name``). Besides the arguments
    every spider gets (``target``, ``start_urls``, ``allowed_domains``,
    ``file_extensions``), a catalogue spider gets ``cursor`` (where the last
    poll's walk stopped, ``None`` to start at the beginning), ``max_datasets``
    (datasets to walk in this poll) and ``max_requests`` (the poll's request
    budget: a walk stops early, at a dataset boundary, rather than report more
    files than the budget can fetch; see ``spent``) and ``changed_since`` (when
    the last poll started, for a change feed). When it closes, the crawler
    reads:

    - ``next_cursor``: where the next poll starts; ``None`` once the walk is
      through (it then starts over). A failed API request leaves it at that
      request's page, so the walk resumes there.
    - ``progress``: (datasets walked so far in this pass, datasets the catalogue
      reports), or ``None`` when the catalogue did not say.
    - ``failures``: what it could not read although the server answered (an
      answer that is not the API's JSON); each makes the poll incomplete. HTTP
      errors need no entry: the crawler sees them itself.

    API requests carry ``API_REQUEST`` in their meta, so the crawler reads their
    bodies whole and counts any failure of theirs against the poll. Files are
    reported once per poll, only on ``allowed_domains``; file links elsewhere
    are counted and logged when the spider closes.
    """

    #: Catalogue pages follow each other, they are not links: Scrapy's depth limit is off.
    custom_settings: ClassVar[dict[str, Any]] = {"DEPTH_LIMIT": 0}

    def __init__(
        self,
        target: str = "",
        start_urls: Iterable[str] = (),
        allowed_domains: Iterable[str] = (),
        file_extensions: Iterable[str] = DEFAULT_EXTENSIONS,
        cursor: str | None = None,
        max_datasets: int = DEFAULT_MAX_DATASETS,
        max_requests: int | None = None,
        changed_since: str | None = None,
        **kwargs: Any,  # Any: Scrapy passes spider arguments through untyped
    ) -> None:
        super().__init__(**kwargs)
        # When the target's last poll started (ISO 8601, UTC): a catalogue with a change
        # feed reads what changed since first, before its walk. None: no feed read.
        self.changed_since = changed_since or None
        self.target = target
        self.start_urls = list(start_urls)
        self.allowed_domains = [d.lower().strip(".") for d in allowed_domains]
        self.file_extensions = tuple(e.lower() for e in file_extensions)
        self.cursor = cursor or None
        self.max_datasets = max(1, int(max_datasets))
        self.max_requests = int(max_requests) if max_requests else None
        self.api_requests = 0  # API requests made in this poll
        self.reserved = 0  # files expected from API answers still to come
        self.next_cursor: str | None = self.cursor
        self.progress: tuple[int, int] | None = None
        self.failures: list[str] = []
        self.walked = 0  # datasets walked in this poll
        self.stuck = False  # an API page failed: the walk resumes at the earliest such page
        self.reported: set[str] = set()
        self.offsite_files: set[str] = set()
        # Resources found but not reported, by URL: (coverage state, why); read by the
        # crawler when the spider closes, so the poll's coverage names them.
        self.unchecked: dict[str, tuple[str, str]] = {}
        # Changed entries the change feed left to the walk for the request budget.
        self.feed_cut = 0
        # Whether this poll's change feed was read (set by each spider), and whether any
        # of its requests failed: see ``feed_through``.
        self.feed_read = False
        self.feed_broken = False

    # -- API requests --------------------------------------------------------------------

    def api(
        self,
        url: str,
        callback: Callable[..., Any],
        *,
        resume: str | None,
        cb_kwargs: dict[str, Any] | None = None,
        handle: Iterable[int] = (),
        meta: dict[str, Any] | None = None,
        accept: str = "application/json",
    ) -> scrapy.Request:
        """Return a request for a catalogue API page.

        Args:
            url: the API URL.
            callback: what reads the answer.
            resume: the cursor the next poll starts from if this request fails.
            cb_kwargs: keyword arguments for the callback.
            handle: HTTP statuses the callback judges itself (a 404 that means
                "no such endpoint, try another", not a failed poll).
            meta: more request meta (``ROBOTS_FALLBACK``).
            accept: the ``Accept`` header (HTML for a portal's own listing pages).
        """
        self.api_requests += 1
        options: dict[str, Any] = {API_REQUEST: True, RESUME: resume, **(meta or {})}
        if handle:
            options["handle_httpstatus_list"] = list(handle)
        return scrapy.Request(
            url,
            callback=callback,
            errback=self.api_failed,
            cb_kwargs=cb_kwargs or {},
            meta=options,
            dont_filter=True,
            headers={"Accept": accept},
        )

    def api_failed(self, failure: Failure) -> None:
        """Leave the cursor at a catalogue page that could not be read; the crawler saw why."""
        request = getattr(failure, "request", None)
        if request is not None:
            self.resume_at(request.meta.get(RESUME))
            self.logger.info(
                "target=%s catalogue page %s failed (%s); the walk resumes there next poll",
                self.target,
                request.url,
                failure.getErrorMessage(),
            )

    def json_of(self, response: Response, resume: str | None) -> Any:
        """Return the answer's JSON, or ``None`` after noting that it was none (Any: JSON)."""
        try:
            # utf-8-sig: catalogues served from Windows servers often start with a BOM.
            return json.loads(response.body.decode("utf-8-sig"))
        except (ValueError, UnicodeDecodeError) as exc:
            self.unreadable(response.url, f"the answer is not JSON ({exc})", resume)
            return None

    def join(self, base: str, href: str) -> str | None:
        """Return a link made absolute, or ``None`` (counted and logged) when it is no URL."""
        try:
            return absolute_url(base, href)
        except BadURL as exc:
            skip_bad_url(self, href, exc)
            return None

    def isolated(self, produce: Iterator[_T], what: str) -> Iterator[_T]:
        """Pass on what one catalogue entry produces; an entry that breaks is skipped.

        A catalogue is data its portal controls: one dataset with a value of an
        unexpected shape (a number where text was, a lone surrogate, a malformed
        URL) ends that dataset's processing, is counted and logged, and the rest of
        the page, the catalogue and the poll go on; the cursor still advances.
        """
        try:
            yield from produce
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
            skip_bad_url(self, what, BadURL(f"entry skipped ({type(exc).__name__}: {exc})"))

    # -- change feeds ----------------------------------------------------------------------

    @property
    def since(self) -> dt.datetime | None:
        """Return when the last poll started (less the crawler's slack), or ``None``: no feed."""
        return moment(self.changed_since)

    @property
    def feed_through(self) -> bool:
        """Say whether the change feed was read (the crawler then moves its time on).

        True with no feed to read (the first poll) or a feed that answered; False when
        it was not read (the catalogue failed) or failed in part: the crawler then
        keeps asking from the same time, so what this poll's feed missed is read first
        by the next one rather than left to the walk alone. A feed cut by the request
        budget counts as read: newest first, the next feed would only read the same
        entries again, so what it left is the walk's (logged, ``feed_cut``).
        """
        if self.since is None:
            return True
        return self.feed_read and not self.feed_broken

    def changed_first(
        self, changed: Sequence[_E], read: Callable[[_E], Iterator[_T]], where: str
    ) -> Iterator[_T]:
        """Report what a change feed found changed, ahead of the walk, until the budget is spent.

        Every portal's feed ends here (CKAN, Socrata, DCAT, ArcGIS): the entries are
        read in the feed's order, each isolated (a broken one is counted and
        skipped), and the feed stops where the request budget would start dropping
        files; what it leaves is read by the walk, which stays the full sweep, so
        the budget drops no file. ``feed_cut`` then says so for the poll's log.
        """
        if changed:
            self.logger.info(
                "target=%s change feed: %d entr%s changed since %s, read first",
                self.target,
                len(changed),
                "y" if len(changed) == 1 else "ies",
                self.changed_since,
            )
        for done, entry in enumerate(changed):
            if self.spent():
                self.feed_cut += len(changed) - done
                self.logger.info(
                    "target=%s change feed: %d changed entr%s left to the walk (request budget)",
                    self.target,
                    len(changed) - done,
                    "y" if len(changed) - done == 1 else "ies",
                )
                return
            yield from self.isolated(read(entry), where)

    def unreadable(self, url: str, why: str, resume: str | None) -> None:
        """Note an API answer that could not be used: the poll is incomplete and resumes here."""
        self.failures.append(f"API page {url}: {why}")
        self.resume_at(resume)

    def resume_at(self, cursor: str | None) -> None:
        """Make the next poll resume at ``cursor`` (a failed page), or earlier if another failed."""
        if not self.stuck or position(cursor) < position(self.next_cursor):
            self.next_cursor = cursor
        self.stuck = True

    def walk_to(self, done: int, total: int, after: str | None) -> None:
        """Record the walk's position: ``done`` of ``total`` datasets, next poll at ``after``."""
        self.progress = (max(0, done), max(0, total, done))
        if not self.stuck:
            self.next_cursor = after

    def room(self) -> int:
        """Return how many more datasets this poll may walk."""
        return max(0, self.max_datasets - self.walked)

    def spent(self) -> bool:
        """Say whether the files reported and API pages asked for fill this poll's budget.

        Each reported file costs at least one request, so a walk that goes on
        past this would have the budget drop files it already passed, and the
        next poll would not come back to them. Checked between datasets.
        """
        if self.max_requests is None:
            return False
        planned = 1 + self.api_requests + len(self.reported) + self.reserved  # 1: robots.txt
        return planned >= self.max_requests * BUDGET_SHARE

    # -- files ---------------------------------------------------------------------------

    def report(
        self, url: object, *, base: str, dataset: str | None, title: str | None, referer: str | None
    ) -> Iterator[DatasetItem]:
        """Yield an item for a file URL (relative to ``base``), once per poll, on allowed hosts."""
        if not isinstance(url, str) or not url.strip():
            return
        try:
            absolute = absolute_url(base, url)
        except BadURL as exc:
            skip_bad_url(self, url, exc)
            self.not_checked(ascii(url.strip()[:300]), "error", str(exc))
            return
        if urlsplit(absolute).scheme not in ("http", "https") or absolute in self.reported:
            return
        if not self.allowed(absolute):
            self.offsite_files.add(absolute)
            self.not_checked(absolute, "permission", "on a host outside allowed_domains")
            return
        self.reported.add(absolute)
        yield DatasetItem(
            url=absolute,
            target=self.target,
            portal=self.name,
            dataset=dataset,
            title=title or PurePosixPath(urlsplit(absolute).path).name or None,
            referer=referer,
        )

    def not_checked(self, url: str, state: str, why: str) -> None:
        """Note a resource found but not reported: ``state`` is the coverage reason.

        ``robots``, ``budget``, ``error``, ``unsupported`` or ``permission``; the
        poll's coverage counts it and ``leakmon status`` shows ``why``.
        """
        if url not in self.reported:
            self.unchecked[url] = (state, why)

    def allowed(self, url: str) -> bool:
        """Say whether a URL is on the allowed domains (any domain when none is given)."""
        if not self.allowed_domains:
            return True
        host = (urlsplit(url).hostname or "").lower()
        return any(host == d or host.endswith("." + d) for d in self.allowed_domains)

    def is_data_url(self, url: object) -> bool:
        """Say whether a URL names a data file by extension or by a ``format`` parameter."""
        if not isinstance(url, str):
            return False
        parts = urlsplit(url)
        if parts.path.lower().endswith(self.file_extensions):
            return True
        return any(
            key.lower() in FORMAT_PARAMS and extension_for(value) in self.file_extensions
            for key, value in parse_qsl(parts.query)
        )

    def closed(self, reason: str) -> None:
        """Say how many file links were skipped for pointing off the allowed domains."""
        if self.offsite_files:
            self.logger.info(
                "target=%s: %d file link(s) on other domains were not fetched;"
                " add their domains to allowed_domains to watch them",
                self.target,
                len(self.offsite_files),
            )


def position(cursor: str | None) -> int:
    """Return the number a cursor ends with (``"views:3"`` → 3; ``None`` → 0), for ordering."""
    tail = (cursor or "0").rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def text(value: object) -> str | None:
    """Return a JSON value as a stripped string, or ``None`` when it is empty or not text."""
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        # JSON may carry lone surrogates ("\ud83d"); they would fail every later encode.
        clean = str(value).encode("utf-8", "replace").decode("utf-8")
        return clean.strip() or None
    return None
