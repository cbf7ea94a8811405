"""The crawler service: poll every target on its own schedule with one long-lived Scrapy runner."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Protocol, cast

from scrapy.crawler import Crawler, CrawlerRunner
from scrapy.spiderloader import SpiderLoader
from twisted.internet import defer

from monitor.crawl.poll import PollState, attach
from monitor.crawl.settings import SPIDER_MODULES, allowed_domains, scrapy_settings
from monitor.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable

    from scrapy import Spider
    from twisted.python.failure import Failure

    from monitor.config import Settings, TargetConfig
    from monitor.crawl.hooks import Hooks
    from monitor.metrics import Metrics

__all__ = ["Clock", "CrawlService", "poll_once"]

logger = logging.getLogger(__name__)

#: Never start a target's next poll sooner than this after its last one ended.
_MIN_GAP = 1.0
#: File bodies downloading at once per poll, at most (each may hold max_bytes of memory).
_MAX_PARALLEL_FILES = 4


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

    Args:
        settings: the daemon's settings; ``targets`` and ``crawl`` are used.
        hooks: the daemon's callbacks (reactor thread; they must not block).
        metrics: where fetch counts, bytes and poll times go.
        clock: what schedules polls; the reactor unless a test passes a ``Clock``.

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
    ) -> None:
        self._settings = settings
        self._hooks = hooks
        self._metrics = metrics
        self._clock = clock
        self._targets: dict[str, TargetConfig] = {t.name: t for t in settings.targets}
        self._spiders = _spider_classes(settings.targets)
        self._runner: CrawlerRunner | None = None
        self._pending: dict[str, _DelayedCall] = {}
        self._active: dict[str, tuple[PollState, defer.Deferred[bool]]] = {}
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
        for name in self._targets:
            self._schedule(name, 0.0)

    def stop(self) -> defer.Deferred[None]:
        """Stop scheduling and stop the running polls; the Deferred fires when they have ended.

        Downloads already on the wire finish first (each within ``download_timeout``);
        the caller bounds the wait (``monitor.scheduler`` gives it a grace period).
        """
        self._stopping = True
        for call in self._pending.values():
            if call.active():
                call.cancel()
        self._pending.clear()
        running = [d for _, d in self._active.values()]
        for state, _ in self._active.values():
            state.stopping = True
        if self._runner is not None:
            self._runner.stop().addErrback(
                lambda failure: logger.warning("crawler stop failed: %s", failure.getErrorMessage())
            )
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
        crawl = self._settings.crawl
        state = PollState(
            target=name,
            hooks=self._hooks,
            metrics=self._metrics,
            budget=crawl.max_requests_per_poll,
            max_bytes=crawl.download_max_mb * 1024 * 1024,
            file_extensions=tuple(e.lower() for e in crawl.file_extensions),
            parallel_files=min(crawl.concurrent_requests, _MAX_PARALLEL_FILES),
        )
        crawler = Crawler(self._spiders[target.kind], scrapy_settings(crawl, target))
        attach(crawler, state)
        started = time.monotonic()
        crawled = self._runner_().crawl(
            crawler,
            target=name,
            start_urls=list(target.start_urls),
            allowed_domains=allowed_domains(target),
            file_extensions=list(crawl.file_extensions),
        )
        d: defer.Deferred[bool] = crawled.addCallbacks(
            lambda _: True, self._crawl_failed, errbackArgs=(state,)
        ).addCallback(self._finish, state, started)
        self._active[name] = (state, d)

        def forget(result: bool | Failure) -> bool | Failure:
            self._active.pop(name, None)
            return result

        return d.addBoth(forget)

    # -- internals -----------------------------------------------------------------------

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

    def _finish(self, _: bool, state: PollState, started: float) -> bool:
        elapsed = time.monotonic() - started
        why = state.incomplete()
        ok = why is None
        self._metrics.poll_duration.labels(state.target).observe(elapsed)
        if ok:
            self._metrics.last_poll.labels(state.target).set(time.time())
        files = ", ".join(f"{k}={v}" for k, v in sorted(state.files.items())) or "none fetched"
        logger.info(
            "target=%s poll %s in %.1f s: %d requests, %d files linked (%s)%s",
            state.target,
            "complete" if ok else "INCOMPLETE",
            elapsed,
            state.requests,
            len(state.seen),
            files,
            "" if ok else f"; unseen files are not taken as gone because {why}",
        )
        self._hooks.on_poll_done(state.target, set(state.seen), ok)
        return ok

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


def _the_reactor() -> _Reactor:
    from twisted.internet import reactor  # lazy import: installs the reactor

    # Twisted types the reactor by zope interfaces, which mypy cannot read without a plugin.
    return cast("_Reactor", reactor)


def _spider_classes(targets: list[TargetConfig]) -> dict[str, type[Spider]]:
    from scrapy.settings import Settings as ScrapySettings

    loader = SpiderLoader(ScrapySettings({"SPIDER_MODULES": SPIDER_MODULES}))
    known = loader.list()
    out: dict[str, type[Spider]] = {}
    for target in targets:
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
