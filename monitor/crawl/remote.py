"""Cluster mode's downloader: take file downloads from the shared frontier and fetch them here.

Each replica keeps one long-lived download crawler per target it has taken a job
for, built from that target's own Scrapy settings, so every rule of a poll applies
to its files wherever they are fetched: robots.txt, the address guard, size and
time limits, the user agent. A job is fetched exactly as a poll fetches a file
(``FileFetch``), and it is acknowledged only when it is finished: at once when the
file was unchanged, gone or failed, and when the daemon has recorded its scan
otherwise. A replica takes no more jobs than it can work on soon, so the frontier's
jobs spread over the replicas instead of piling up in one: at most ``max_downloads``
being downloaded, and none while ``max_scanning`` of its files wait for their scan.
It asks for more as soon as a download ends, and renews the jobs it holds every third
of a lease, so only a silent replica's jobs are taken over.

At scale the per-job round trips are the cost, not the conditional GET: each take
reads its jobs' validators from the store in one query (not one per file), and
acknowledgements that finish while one is being sent go together in the next.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from twisted.internet import defer, task
from twisted.internet.threads import deferToThread

from monitor.crawl.batches import Batcher
from monitor.crawl.fetch import FileFetch
from monitor.crawl.hooks import Validators
from monitor.crawl.items import DatasetItem
from monitor.crawl.poll import PollState, attach
from monitor.crawl.settings import scrapy_settings
from monitor.errors import FrontierError, StoreError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Mapping, Sequence

    from scrapy.crawler import CrawlerRunner
    from twisted.python.failure import Failure

    from monitor.config import Settings, TargetConfig
    from monitor.crawl.hooks import Hooks
    from monitor.crawl.seam import ClusterSeam, TakenJob
    from monitor.metrics import Metrics
    from monitor.models import Coverage, FetchedFile, ViewExposure

__all__ = ["DownloadService"]

logger = logging.getLogger(__name__)

#: A download crawler's request budget: it lives as long as the replica, unbounded.
_NO_BUDGET = 2**62
#: How long one ask for jobs waits when the frontier is empty.
_BLOCK = 1.0
#: How long to wait after the frontier did not answer.
_RETRY = 2.0
#: How often unchanged files are recorded (one transaction per target).
_FLUSH = 1.0


class _DownloadSpider(Spider):
    """Finds nothing and stays open: the replica hands its crawler downloads directly."""

    name = "leakmon-downloads"

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> _DownloadSpider:
        """Keep the spider open while idle (Any: Scrapy's spider arguments)."""
        spider: _DownloadSpider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.keep_open, signal=signals.spider_idle)
        return spider

    def keep_open(self) -> None:
        """Refuse to close when idle; the service stops the crawler when the replica stops."""
        raise DontCloseSpider

    async def start(self) -> AsyncIterator[Any]:
        """Yield no start requests (Any: Scrapy's start items)."""
        nothing: tuple[Any, ...] = ()
        for request in nothing:
            yield request


class _JobHooks:
    """The daemon's hooks for one job, noting whether the file went on to be scanned."""

    def __init__(self, hooks: Hooks, unchanged: set[str], handing: Callable[[], None]) -> None:
        self._hooks = hooks
        self._unchanged = unchanged
        self._handing = handing
        self.handed = False

    def validators(self, url: str, stored: Validators | None = None) -> Validators:
        return self._hooks.validators(url, stored)

    def room(self) -> defer.Deferred[None] | None:
        return self._hooks.room()

    def on_file(self, fetched: FetchedFile) -> None:
        # Noted before the daemon has the file: it may finish with it at once.
        self.handed = True
        self._handing()
        self._hooks.on_file(fetched)

    def on_unchanged(self, target: str, url: str) -> None:
        self._unchanged.add(target)
        self._hooks.on_unchanged(target, url)

    def on_gone(self, target: str, url: str, status: int) -> None:
        self._hooks.on_gone(target, url, status)

    def on_fetch_error(self, target: str, url: str, error: str) -> None:
        self._hooks.on_fetch_error(target, url, error)

    def on_exposure(self, exposure: ViewExposure) -> None:
        self._hooks.on_exposure(exposure)

    def on_coverage(self, coverage: Coverage) -> None:
        self._hooks.on_coverage(coverage)

    def on_poll_done(self, target: str, seen: set[str], ok: bool) -> None:
        self._hooks.on_poll_done(target, seen, ok)


class DownloadService:
    """Take jobs from the frontier and fetch them on per-target download crawlers.

    Args:
        settings: the daemon's settings (targets, crawl limits).
        hooks: the daemon's callbacks.
        metrics: where frontier counts go.
        seam: the cluster's frontier.
        runner: the crawl service's runner (one reactor, one runner).
        max_downloads: jobs being downloaded at once. More than the download
            crawler's own concurrency, so that its slots do not wait on the round
            trips to the frontier and the store between one job and the next (the
            extra jobs wait in Scrapy's queue, which keeps the per-host limits).
        max_scanning: no job is taken while this many of the replica's files are
            handed to the scanner: changed files are scanned by whichever replica
            has room, not queued behind this one's scans.
        clock: schedules retries; the reactor.
    """

    def __init__(
        self,
        settings: Settings,
        hooks: Hooks,
        metrics: Metrics,
        seam: ClusterSeam,
        runner: Callable[[], CrawlerRunner],
        *,
        max_downloads: int,
        max_scanning: int,
        clock: Any,  # Any: the reactor (typed by zope interfaces)
    ) -> None:
        self._settings = settings
        self._targets: Mapping[str, TargetConfig] = {t.name: t for t in settings.targets}
        self._hooks = hooks
        self._metrics = metrics
        self._seam = seam
        self._runner = runner
        self._max_downloads = max_downloads
        self._max_scanning = max_scanning
        self._clock = clock
        self._ready: dict[str, Crawler] = {}
        self._waiting: dict[str, list[defer.Deferred[Crawler]]] = {}
        self._inflight: dict[str, TakenJob] = {}  # entry id -> job (downloading or scanning)
        self._downloading: set[str] = set()  # entry ids of jobs being downloaded
        # url -> jobs whose file the daemon has (two at most: a reclaimed one beside the first)
        self._scanning: dict[str, list[TakenJob]] = {}
        self._unchanged: set[str] = set()
        # Finished jobs are acknowledged together: those finishing while one batch is
        # on its way go in the next.
        self._acks: Batcher[TakenJob, None] = Batcher(self._done)
        self._stopping = False
        # A take is under way or due (a retry): an acknowledgement must not start another.
        self._pulling = False
        self._failing: str | None = None  # the frontier's last error, until it answers again
        self._touch = task.LoopingCall(self._renew)
        self._flush = task.LoopingCall(self._flush_unchanged)

    def start(self) -> None:
        """Start taking jobs (on the reactor)."""
        self._touch.start(max(self._seam.lease / 3, 0.5), now=False)
        self._flush.start(_FLUSH, now=False)
        self._pull()

    def stop(self) -> None:
        """Take no more jobs; the ones held are reclaimed by others after the lease.

        The download crawlers stop with the runner (``CrawlService.stop``).
        """
        self._stopping = True
        for loop in (self._touch, self._flush):
            if loop.running:
                loop.stop()

    def file_done(self, url: str) -> None:
        """Acknowledge the job of a file the daemon has finished with (from any thread)."""
        self._clock.callFromThread(self._scanned, url)

    # -- taking jobs ---------------------------------------------------------------------

    def _pull(self) -> None:
        """Take as many jobs as there is room for; with none, the next acknowledgement pulls.

        Not a timer: unchanged files are done in milliseconds, and asking again every
        tenth of a second held a replica to its jobs in hand per tenth (about 55
        files/s; a 100,000-file re-poll on two replicas took 930 s).
        """
        self._pulling = False
        if self._stopping:
            return
        scanning = len(self._inflight) - len(self._downloading)
        room = self._max_downloads - len(self._downloading)
        if room <= 0 or scanning >= self._max_scanning:
            return
        self._pulling = True
        d = deferToThread(self._take, room)
        d.addCallbacks(self._took, self._take_failed)

    def _take(self, room: int) -> tuple[list[TakenJob], dict[str, Validators] | None]:
        """Take jobs, then read their files' validators in one query (thread pool).

        ``None`` for the validators when the store did not answer: each job then
        asks the daemon, whose own store backoff decides (a full download).
        """
        batch = list(self._seam.take(room, _BLOCK))
        if not batch:
            return batch, {}
        try:
            rows = self._seam.validators({taken.job.url for taken in batch})
        except StoreError as exc:
            logger.debug("validators of %d taken download(s) not read: %s", len(batch), exc)
            return batch, None
        known = {}
        for taken in batch:
            row = rows.get(taken.job.url)
            known[taken.job.url] = Validators(*row) if row is not None else Validators()
        return batch, known

    def _took(self, took: tuple[list[TakenJob], dict[str, Validators] | None]) -> None:
        batch, known = took
        if self._failing is not None:
            logger.info("the frontier answers again")
            self._failing = None
        for taken in batch:
            self._run(taken, None if known is None else known[taken.job.url])
        self._pull()

    def _take_failed(self, failure: Failure) -> None:
        error = failure.getErrorMessage()
        if error != self._failing:  # once per new failure, not every retry
            logger.warning(
                "cannot take downloads from the frontier, trying again every %.0f s: %s",
                _RETRY,
                error,
            )
        self._failing = error
        self._pulling = True  # until the retry
        self._clock.callLater(_RETRY, self._pull)

    def _run(self, taken: TakenJob, stored: Validators | None) -> None:
        job = taken.job
        self._metrics.frontier_jobs.labels("reclaimed" if taken.reclaimed else "taken").inc()
        if job.target not in self._targets:
            logger.error(
                "frontier job for target=%s, which this replica's configuration does not have;"
                " dropped (do all replicas run the same configuration?)",
                job.target,
            )
            self._ack(taken)
            return
        if taken.reclaimed:
            logger.info("target=%s took over a download a silent replica left", job.target)
        self._inflight[taken.entry] = taken
        self._downloading.add(taken.entry)
        self._metrics.frontier_inflight.set(len(self._inflight))
        d = self._crawler(job.target)
        d.addCallback(lambda crawler: defer.ensureDeferred(self._fetch(crawler, taken, stored)))
        d.addCallbacks(self._fetched, self._failed, callbackArgs=(taken,), errbackArgs=(taken,))

    async def _fetch(self, crawler: Crawler, taken: TakenJob, stored: Validators | None) -> bool:
        job = taken.job
        hooks = _JobHooks(
            self._hooks,
            self._unchanged,
            lambda: self._scanning.setdefault(job.url, []).append(taken),
        )
        state = self._state(job.target, hooks)
        if stored is not None:  # read with its batch: only the daemon's holds are added
            validators = self._hooks.validators(job.url, stored)
        else:  # the store read waits on the database: not on the reactor thread
            validators = await deferToThread(self._hooks.validators, job.url)
        item = DatasetItem(
            url=job.url,
            target=job.target,
            portal=job.portal,
            dataset=job.dataset,
            referer=job.referer,
        )
        await FileFetch(crawler, state).run(item, job.url, validators, job.found_at)
        return hooks.handed

    def _fetched(self, handed: bool, taken: TakenJob) -> None:
        self._downloading.discard(taken.entry)
        if not handed:
            self._ack(taken)
        elif not self._pulling:  # acknowledged once its scan is recorded; a download slot is free
            self._pull()

    def _failed(self, failure: Failure, taken: TakenJob) -> None:
        # The job boundary: a download that blew up is logged and acknowledged (the next
        # poll queues the file again), never retried in a loop.
        logger.error(
            "target=%s frontier download failed: %s",
            taken.job.target,
            failure.getTraceback(elideFrameworkCode=True),
        )
        self._downloading.discard(taken.entry)
        self._ack(taken)

    def _scanned(self, url: str) -> None:
        for taken in self._scanning.pop(url, []):
            self._ack(taken)

    def _ack(self, taken: TakenJob) -> None:
        if self._inflight.pop(taken.entry, None) is None and taken.job.target in self._targets:
            return  # acknowledged already (a job that failed after its file was handed over)
        self._metrics.frontier_inflight.set(len(self._inflight))
        self._metrics.frontier_jobs.labels("done").inc()
        self._acks.add(taken).addErrback(self._ack_failed, taken)
        if not self._pulling:
            self._pull()  # room for one more

    def _ack_failed(self, failure: Failure, taken: TakenJob) -> None:
        # Not the frontier's failure (``_done`` handles that): a fault here, said loudly.
        logger.error(
            "target=%s acknowledging a download failed: %s",
            taken.job.target,
            failure.getTraceback(elideFrameworkCode=True),
        )

    def _done(self, batch: Sequence[TakenJob]) -> list[None]:
        """Acknowledge a batch of finished jobs (thread pool); a failure is logged, not raised.

        An unacknowledged job is only repeated by another replica after the lease,
        which finds its file unchanged: worth a warning, not an error for each job.
        """
        try:
            self._seam.done(batch)
        except FrontierError as exc:
            logger.warning(
                "could not acknowledge %d download(s) (another replica will repeat them"
                " after the lease; it will find the files unchanged): %s",
                len(batch),
                exc,
            )
        return [None] * len(batch)

    # -- crawlers, leases, unchanged files -------------------------------------------------

    def _state(self, target: str, hooks: Hooks) -> PollState:
        crawl = self._settings.crawl
        return PollState(
            target=target,
            hooks=hooks,
            metrics=self._metrics,
            budget=_NO_BUDGET,
            max_bytes=crawl.download_max_mb * 1024 * 1024,
            file_extensions=tuple(e.lower() for e in crawl.file_extensions),
            parallel_files=1,
        )

    def _crawler(self, target: str) -> defer.Deferred[Crawler]:
        """Return the target's download crawler once its spider is open (built on first use)."""
        ready = self._ready.get(target)
        if ready is not None:
            return defer.succeed(ready)
        d: defer.Deferred[Crawler] = defer.Deferred()
        waiters = self._waiting.get(target)
        if waiters is None:
            self._waiting[target] = [d]
            self._open(target)
        else:
            waiters.append(d)
        return d

    def _open(self, name: str) -> None:
        crawler = Crawler(
            _DownloadSpider, scrapy_settings(self._settings.crawl, self._targets[name])
        )
        attach(crawler, self._state(name, self._hooks))

        def spider_opened(spider: Spider) -> None:
            self._ready[name] = crawler
            for waiter in self._waiting.pop(name, []):
                waiter.callback(crawler)

        crawler.signals.connect(spider_opened, signal=signals.spider_opened, weak=False)

        def closed(result: object) -> None:
            self._ready.pop(name, None)
            for waiter in self._waiting.pop(name, []):
                waiter.errback(RuntimeError(f"download crawler of target={name} did not open"))
            if not self._stopping:
                logger.warning("target=%s download crawler closed; a new one opens on demand", name)

        self._runner().crawl(crawler, target=name).addBoth(closed)

    def _renew(self) -> None:
        entries = list(self._inflight)
        if entries:
            deferToThread(self._seam.touch, entries).addErrback(
                lambda f: logger.warning("cannot renew downloads: %s", f.getErrorMessage())
            )

    def _flush_unchanged(self) -> None:
        targets, self._unchanged = self._unchanged, set()
        for target in sorted(targets):
            # Not a poll's end (ok=False): only records the unchanged files it collected.
            self._hooks.on_poll_done(target, set(), False)
