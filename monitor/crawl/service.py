"""The crawler service: poll every target on its own schedule with one long-lived Scrapy runner."""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import TYPE_CHECKING, Any, Protocol, cast

from scrapy.crawler import Crawler, CrawlerRunner
from scrapy.spiderloader import SpiderLoader
from scrapy.utils.defer import deferred_from_coro
from twisted.internet import defer

from monitor.crawl.batches import Batcher
from monitor.crawl.claims import ClaimedSchedule
from monitor.crawl.heap import release_poll
from monitor.crawl.poll import PollState, attach
from monitor.crawl.remote import DownloadService
from monitor.crawl.settings import (
    SPIDER_MODULES,
    allowed_domains,
    per_host_concurrency,
    scrapy_settings,
)
from monitor.errors import ConfigError
from monitor.models import utcnow

if TYPE_CHECKING:
    from collections.abc import Callable

    from scrapy import Spider
    from twisted.python.failure import Failure

    from monitor.config import Settings, TargetConfig
    from monitor.crawl.hooks import Hooks
    from monitor.crawl.seam import ClusterSeam
    from monitor.metrics import Metrics
    from monitor.models import Coverage

__all__ = ["Clock", "CrawlService", "poll_once"]

logger = logging.getLogger(__name__)

#: Cluster mode: a replica holds this many downloads per request its crawler may have
#: on the wire (4 × 4 by default). With as many held as on the wire, each slot waited
#: on the frontier and the store between jobs: two replicas re-polled 624 files/s, at
#: about half a core each (``bench_cluster.py --profile``).
_DOWNLOADS_AHEAD = 4
#: Never start a target's next poll sooner than this after its last one ended.
_MIN_GAP = 1.0
#: A change feed asks for what changed since a little before the last poll started:
#: portals truncate times to the second (or the day) and clocks differ, and a dataset
#: read twice costs a conditional GET where one missed costs a leak.
_CHANGE_SLACK = dt.timedelta(minutes=5)
#: ``kind: auto`` (the default): detect the portal kind before the first poll.
AUTO = "auto"


class _DelayedCall(Protocol):
    def active(self) -> bool: ...
    def cancel(self) -> None: ...


class Clock(Protocol):
    """The part of the reactor that schedules polls (``twisted.internet.task.Clock`` in tests)."""

    def callLater(
        self, delay: float, callable: Callable[..., object], *args: object
    ) -> _DelayedCall:
        """Call ``callable`` after ``delay`` seconds."""
        ...

    def seconds(self) -> float:
        """Return the current time in seconds."""
        ...


class _Reactor(Clock, Protocol):
    def callWhenRunning(self, callable: Callable[[], object]) -> object: ...
    def run(self) -> None: ...
    def stop(self) -> None: ...


class CrawlService:
    """Poll each configured target every ``every`` seconds, on the Twisted reactor.

    A poll is one Scrapy crawl of one target: its spider (chosen by the target's
    ``kind``) yields ``DatasetItem``s, ``FetchPipeline`` downloads them and calls
    the hooks, and ``on_poll_done`` closes it. A target's next poll is scheduled
    when its last one ends, ``every`` seconds after that one started (or
    ``_MIN_GAP`` after it ended, if it ran longer), so polls of one target never
    overlap; different targets poll concurrently.

    A catalogue spider (``ckan``, ``dcat``, ``socrata``...) walks at most
    ``crawl.max_datasets_per_poll`` datasets per poll: it gets ``cursor`` (where
    the last poll stopped, ``None`` at first), ``max_datasets`` and
    ``max_requests`` (the poll's request budget) as spider arguments, and sets
    ``next_cursor`` (``None`` when the walk is through) and ``progress``
    (datasets walked in this pass, datasets in the catalogue). The service keeps
    each target's cursor in memory between polls and exports the progress as
    ``leakmon_catalogue_datasets_walked`` / ``leakmon_catalogue_datasets``. A
    poll that saw only part of a catalogue is not ``ok`` (unseen files are not
    gone), though it counts as a successful poll if nothing failed.

    Args:
        settings: the daemon's settings; ``targets`` and ``crawl`` are used.
        hooks: the daemon's callbacks (reactor thread; they must not block).
        metrics: where fetch counts, bytes and poll times go.
        clock: what schedules polls; the reactor unless a test passes a ``Clock``.
        cluster: cluster mode: polls are claimed from the shared store instead of
            scheduled here (``ClaimedSchedule``), found files are queued on the shared
            frontier, and this replica downloads the files it takes from there
            (``DownloadService``).

    Raises:
        ConfigError: a target's ``kind`` has no spider.
    """

    def __init__(
        self,
        settings: Settings,
        hooks: Hooks,
        metrics: Metrics,
        *,
        clock: Clock | None = None,
        cluster: ClusterSeam | None = None,
    ) -> None:
        self._settings = settings
        self._cluster = cluster
        # Cluster mode: found files go to the frontier, several per round trip.
        self._offers = Batcher(cluster.offer) if cluster is not None else None
        self._claimed: ClaimedSchedule | None = None
        self._downloads: DownloadService | None = None
        self._hooks = hooks
        self._metrics = metrics
        self._clock = clock
        self._targets: dict[str, TargetConfig] = {t.name: t for t in settings.targets}
        self._spiders = _spider_classes(settings.targets)
        self._detected: dict[str, str] = {}
        self._runner: CrawlerRunner | None = None
        self._pending: dict[str, _DelayedCall] = {}
        self._active: dict[str, tuple[PollState, defer.Deferred[bool]]] = {}
        self._cursors: dict[str, str | None] = {}
        self._short_since: dict[str, dt.datetime] = {}
        # When each target's last poll started: its change feed asks for what changed since.
        self._polled_at: dict[str, dt.datetime] = {}
        # Files each target's last poll could not fetch for the budget: fetched first next time.
        self._carry: dict[str, list[dict[str, str | None]]] = {}
        self._started = False
        self._stopping = False

    @property
    def running(self) -> bool:
        """Say whether polls are scheduled (for /readyz)."""
        return self._started and not self._stopping

    def start(self) -> None:
        """Schedule every target's first poll now; call it once the reactor runs."""
        if self._started:
            return
        self._started = True
        logger.info("crawler started: %d target(s)", len(self._targets))
        for target in self._targets.values():
            after = target.coverage_alert_after or self._settings.crawl.coverage_alert_after
            self._metrics.coverage_alert_after.labels(target.name).set(after)
            short = self._short_since.get(target.name)  # from the store, across a restart
            self._metrics.coverage_incomplete_since.labels(target.name).set(
                short.timestamp() if short else 0
            )
            if target.robots == "ignore" and self._settings.crawl.obey_robots_txt:
                logger.warning(
                    "target=%s robots: ignore: its robots.txt is not read (rules and"
                    " Crawl-Delay); only for a portal whose operator allows it",
                    target.name,
                )
        if self._cluster is not None:
            self._start_cluster(self._cluster)
            return
        for name in self._targets:
            self._schedule(name, 0.0)

    def _start_cluster(self, cluster: ClusterSeam) -> None:
        self._claimed = ClaimedSchedule(self, cluster, self._targets, self._metrics)
        self._downloads = DownloadService(
            self._settings,
            self._hooks,
            self._metrics,
            cluster,
            self._runner_,
            max_downloads=_DOWNLOADS_AHEAD
            * min(
                self._settings.crawl.concurrent_requests,
                self._settings.crawl.concurrent_requests_per_host,
            ),
            # Enough to keep the scan workers busy; more would take changed files
            # that other replicas could start scanning sooner.
            max_scanning=self._settings.scan_workers,
            clock=self._reactor(),
        )
        self._claimed.start()
        self._downloads.start()

    def resume(self, name: str, cursor: str | None) -> None:
        """Start a target's next catalogue walk at ``cursor`` (cluster mode: from the store)."""
        self._cursors[name] = cursor

    def cursor(self, name: str) -> str | None:
        """Return where a target's next catalogue walk starts."""
        return self._cursors.get(name)

    def carry(self, name: str) -> list[dict[str, str | None]]:
        """Return the files a target's last poll could not fetch for its budget (to store)."""
        return list(self._carry.get(name, []))

    def resume_carry(self, name: str, entries: list[dict[str, str | None]]) -> None:
        """Carry the files a poll before a restart could not fetch into the next poll."""
        if name in self._targets and entries and self._cluster is None:
            self._carry.setdefault(name, list(entries))

    def resume_coverage(
        self, name: str, since: dt.datetime | None, polled_at: dt.datetime | None = None
    ) -> None:
        """Carry a target's "coverage short since" and last poll time across a restart."""
        if since is not None:
            self._short_since[name] = since
        if polled_at is not None:
            self._polled_at.setdefault(name, polled_at)

    def file_done(self, url: str) -> None:
        """Say that the daemon has finished with a file it was handed (any thread).

        In cluster mode this acknowledges the file's frontier job; otherwise it does nothing.
        """
        if self._downloads is not None:
            self._downloads.file_done(url)

    def stop(self) -> defer.Deferred[None]:
        """Stop scheduling and stop the running polls; the Deferred fires when they have ended.

        Downloads already on the wire finish first (each within ``download_timeout``);
        the caller bounds the wait (``monitor.scheduler`` gives it a grace period).
        """
        self._stopping = True
        released: defer.Deferred[None] | None = None
        if self._claimed is not None:
            released = self._claimed.stop()
        if self._downloads is not None:
            self._downloads.stop()
        for call in self._pending.values():
            if call.active():
                call.cancel()
        self._pending.clear()
        # Any: poll Deferreds (bool) and the lease hand-back (None) are waited on alike.
        running: list[defer.Deferred[Any]] = [d for _, d in self._active.values()]
        for state, _ in self._active.values():
            state.stopping = True
        if self._runner is not None:
            # Not CrawlerRunner.stop(): it iterates the live set of crawlers, which a crawler
            # that ends meanwhile changes ("Set changed size during iteration").
            crawlers = list(self._runner.crawlers)
            defer.DeferredList(
                [deferred_from_coro(c.stop_async()) for c in crawlers], consumeErrors=True
            ).addCallback(_log_stop_failures)
        if released is not None:
            running.append(released)
        done: defer.Deferred[None] = defer.DeferredList(running, consumeErrors=True).addCallback(
            lambda _: None
        )
        return done

    def poll(self, name: str) -> defer.Deferred[bool]:
        """Poll one target now; the Deferred fires with ``ok`` after ``on_poll_done``.

        Raises:
            KeyError: no target has this name.
            RuntimeError: this target's previous poll is still running.
        """
        target = self._targets[name]
        if name in self._active:
            raise RuntimeError(f"target {name!r} is already being polled")
        if target.kind == AUTO and name not in self._detected:
            return self._detect(name).addCallback(lambda _: self.poll(name))
        kind = self._detected.get(name, target.kind)
        crawl = self._settings.crawl
        state = PollState(
            target=name,
            hooks=self._hooks,
            metrics=self._metrics,
            budget=crawl.max_requests_per_poll,
            max_bytes=crawl.download_max_mb * 1024 * 1024,
            file_extensions=tuple(e.lower() for e in crawl.file_extensions),
            # Bodies stream to disk (monitor.crawl.streaming), so file downloads may use
            # every request slot of the poll; Scrapy keeps each host to its own limit.
            parallel_files=max(crawl.concurrent_requests, per_host_concurrency(crawl, target)),
            cursor=self._cursors.get(name),
            offload=self._offers.add if self._offers is not None else None,
            carry_in=self._carry.pop(name, []),
        )
        crawler = Crawler(self._spider(kind), scrapy_settings(crawl, target))
        attach(crawler, state)
        started = time.monotonic()
        crawled = self._runner_().crawl(
            crawler,
            target=name,
            start_urls=list(target.start_urls),
            allowed_domains=allowed_domains(target),
            file_extensions=list(crawl.file_extensions),
            cursor=state.cursor,
            max_datasets=crawl.max_datasets_per_poll,
            max_requests=crawl.max_requests_per_poll,
            changed_since=(
                (since - _CHANGE_SLACK).isoformat()
                if (since := self._polled_at.get(name))
                else None
            ),
        )
        began_at = utcnow()
        d: defer.Deferred[bool] = (
            crawled.addCallbacks(lambda _: True, self._crawl_failed, errbackArgs=(state,))
            .addCallback(self._fed, name, crawler, began_at)
            .addCallback(self._finish, state, started)
        )
        self._active[name] = (state, d)

        def forget(result: bool | Failure) -> bool | Failure:
            self._active.pop(name, None)
            return result

        return d.addBoth(forget)

    # -- internals -----------------------------------------------------------------------

    def _detect(self, name: str) -> defer.Deferred[str]:
        """Find a target's portal kind once (``kind: auto``), before its first poll."""
        from monitor.crawl.discover import detect_kind  # lazy import: avoids a cycle

        target = self._targets[name]

        def found(result: tuple[str, dict[str, str]]) -> str:
            kind, evidence = result
            self._detected[name] = kind
            logger.info(
                "target=%s detected portal kind %s (%s)",
                name,
                kind,
                "; ".join(evidence.values()) or "no API answered: plain HTML",
            )
            return kind

        def failed(failure: Failure) -> str:
            logger.warning(
                "target=%s kind detection failed, using html: %s", name, failure.getErrorMessage()
            )
            self._detected[name] = "html"
            return "html"

        d: defer.Deferred[str] = defer.maybeDeferred(
            detect_kind, self._settings, target.start_urls[0]
        )
        return d.addCallbacks(found, failed)

    def _spider(self, kind: str) -> type[Spider]:
        """Return the spider class of a kind, loading a detected kind on first use."""
        if kind not in self._spiders:
            self._spiders[kind] = _loader().load(kind)
        return self._spiders[kind]

    def _runner_(self) -> CrawlerRunner:
        # Built on first use: CrawlerRunner wants the reactor's process, not import time.
        if self._runner is None:
            self._runner = CrawlerRunner({"SPIDER_MODULES": SPIDER_MODULES})
        return self._runner

    def _reactor(self) -> Clock:
        if self._clock is None:
            self._clock = _the_reactor()
        return self._clock

    def _crawl_failed(self, failure: Failure, state: PollState) -> bool:
        # The poll boundary: a crawl that could not even start (a spider bug, a bad
        # setting) is logged and counted as incomplete, and polling goes on.
        state.failures.append(f"the crawl failed: {failure.getErrorMessage()}")
        logger.error(
            "target=%s crawl failed: %s",
            state.target,
            failure.getTraceback(elideFrameworkCode=True),
        )
        return False

    def _fed(self, ok: bool, name: str, crawler: Crawler, began_at: dt.datetime) -> bool:
        """Move the target's change-feed time to this poll's start, if its feed was read.

        A catalogue spider says whether its feed was read (``feed_through``: it answered
        and no part of it failed); if not, the next poll's feed asks from the same
        earlier time, so what this one missed is still read first. Spiders without a
        feed (plain sites) always move it.
        """
        spider = getattr(crawler, "spider", None)
        if ok and getattr(spider, "feed_through", True) is True:
            self._polled_at[name] = began_at
        else:
            logger.info(
                "target=%s change feed not read: the next poll asks from %s again",
                name,
                self._polled_at[name].isoformat() if name in self._polled_at else "the start",
            )
        return ok

    def _finish(self, _: bool, state: PollState, started: float) -> bool:
        elapsed = time.monotonic() - started
        ok = state.incomplete() is None
        self._metrics.poll_duration.labels(state.target).observe(elapsed)
        if state.problem() is None:  # a healthy poll, though maybe of part of a catalogue
            self._metrics.last_poll.labels(state.target).set(time.time())
        self._cursors[state.target] = state.next_cursor
        carry = state.carry_out()
        if carry and state.offload is None:  # cluster mode: the frontier has its own order
            self._carry[state.target] = carry
        if state.progress is not None:
            kind = self._targets[state.target].kind
            self._metrics.catalogue_walked.labels(state.target, kind).set(state.progress[0])
            self._metrics.catalogue_size.labels(state.target, kind).set(state.progress[1])
        coverage = state.coverage(self._short_since.get(state.target))
        self._coverage(coverage)
        logger.info("target=%s %s", state.target, state.summary(elapsed))
        self._hooks.on_coverage(coverage)
        seen = state.release()
        files = len(seen)
        self._hooks.on_poll_done(state.target, seen, ok)
        # Freed in the next reactor turn, once this Deferred chain has let go of the crawler.
        self._reactor().callLater(0, release_poll, files)
        return ok

    def _coverage(self, coverage: Coverage) -> None:
        target = coverage.target
        if coverage.incomplete_since is None:
            self._short_since.pop(target, None)
        else:
            self._short_since[target] = coverage.incomplete_since
        since = coverage.incomplete_since
        self._metrics.coverage_incomplete_since.labels(target).set(
            since.timestamp() if since else 0
        )
        self._metrics.resources.labels(target, "discovered").set(coverage.discovered)
        for state, n in coverage.counts.items():
            self._metrics.resources.labels(target, state).set(n)

    def _schedule(self, name: str, delay: float) -> None:
        if self._stopping:
            return
        self._pending[name] = self._reactor().callLater(delay, self._scheduled, name)

    def _scheduled(self, name: str) -> None:
        self._pending.pop(name, None)
        if self._stopping:
            return
        clock = self._reactor()
        began = clock.seconds()
        # maybeDeferred: a poll that cannot even be built fails this Deferred
        # instead of escaping into the reactor and ending the target's schedule.
        d = defer.maybeDeferred(self.poll, name)

        def again(result: bool | Failure) -> None:
            if not isinstance(result, bool):
                # The poll could not be built, or on_poll_done raised: logged, and the
                # schedule goes on (the daemon must keep running).
                logger.error("target=%s poll ended with an error: %s", name, result.getTraceback())
            if self._stopping:
                return
            every = self._targets[name].every
            now = clock.seconds()
            if now - began > every:
                logger.warning(
                    "target=%s poll took %.0f s, longer than its interval (every=%.0f s)",
                    name,
                    now - began,
                    every,
                )
            self._schedule(name, max(began + every - now, _MIN_GAP))

        d.addBoth(again)


def _log_stop_failures(results: list[tuple[bool, Any]]) -> None:
    # Any: DeferredList gives (True, result) or (False, Failure) pairs.
    for ok, failure in results:
        if not ok:
            logger.warning("crawler stop failed: %s", failure.getErrorMessage())


def _the_reactor() -> _Reactor:
    from twisted.internet import reactor  # lazy import: installs the reactor

    # Twisted types the reactor by zope interfaces, which mypy cannot read without a plugin.
    return cast("_Reactor", reactor)


def _loader() -> SpiderLoader:
    from scrapy.settings import Settings as ScrapySettings

    return SpiderLoader(ScrapySettings({"SPIDER_MODULES": SPIDER_MODULES}))


def _spider_classes(targets: list[TargetConfig]) -> dict[str, type[Spider]]:
    loader = _loader()
    known = loader.list()
    out: dict[str, type[Spider]] = {}
    for target in targets:
        if target.kind == AUTO:
            continue  # detected before the target's first poll
        if target.kind not in known:
            raise ConfigError(
                f"target {target.name!r}: no spider for kind {target.kind!r}"
                f" (known kinds: {', '.join(sorted(known))})"
            )
        out[target.kind] = loader.load(target.kind)
    return out


def poll_once(settings: Settings, target_name: str, hooks: Hooks, metrics: Metrics) -> bool:
    """Run the reactor for one poll of one target; return whether the poll was complete.

    Blocking, and once per process: Twisted's reactor cannot be restarted. For
    tests and one-shot commands; the daemon uses ``CrawlService`` on its reactor.

    Raises:
        KeyError: no target has this name.
        twisted.internet.error.ReactorNotRestartable: the reactor already ran here.
    """
    reactor = _the_reactor()
    service = CrawlService(settings, hooks, metrics)
    if target_name not in service._targets:
        raise KeyError(f"no target named {target_name!r}")
    outcome: list[bool | Failure] = []

    def run() -> None:
        def done(result: bool | Failure) -> None:
            outcome.append(result)
            reactor.stop()

        defer.maybeDeferred(service.poll, target_name).addBoth(done)

    reactor.callWhenRunning(run)
    reactor.run()
    if not outcome:
        return False
    result = outcome[0]
    if isinstance(result, bool):
        return result
    result.raiseException()
    return False  # pragma: no cover  (raiseException always raises)
