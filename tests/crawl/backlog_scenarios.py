"""Back-pressure scenarios: a daemon whose scans are slow, and a crawl that must wait for them.

Run by ``tests.crawl.driver`` in a child process (the reactor runs once per process);
``tests/crawl/test_backlog.py`` asserts on what they return.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from monitor.crawl import CrawlService, Validators
from monitor.crawl.backlog import ScanBacklog
from monitor.metrics import Metrics
from monitor.standin import Portal as StandinPortal
from tests.crawl.portal import Portal, Resource, page
from tests.crawl.recording import RecordingHooks
from tests.crawl.scenarios import _settings

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred
    from twisted.internet.interfaces import IReactorTime

    from monitor.models import FetchedFile

FILES = 12
#: Files on one index page for the runs of files that end at once (held, over budget).
MANY = 1500
#: File slots of those polls (the daemon's default request concurrency).
SLOTS = 8
#: How long the stand-in daemon takes to "scan" one file.
SCAN_S = 0.25


class SlowScans(RecordingHooks):
    """Hooks whose scans take ``SCAN_S`` each, one at a time, behind a real ``ScanBacklog``."""

    def __init__(self, reactor: IReactorTime, backlog: ScanBacklog | None) -> None:
        super().__init__()
        self._reactor = reactor
        self.backlog = backlog
        self.queued = 0
        self.most_queued = 0
        self._free_at = 0.0

    def room(self) -> Deferred[None] | None:
        return self.backlog.room() if self.backlog is not None else None

    def on_file(self, fetched: FetchedFile) -> None:
        super().on_file(fetched)
        self.queued += 1
        self.most_queued = max(self.most_queued, self.queued)
        if self.backlog is not None:
            self.backlog.add(fetched.size)
        now = self._reactor.seconds()
        self._free_at = max(self._free_at, now) + SCAN_S
        self._reactor.callLater(self._free_at - now, self._scanned, fetched.size)

    def _scanned(self, size: int) -> None:
        self.queued -= 1
        if self.backlog is not None:
            self.backlog.done(size)


async def slow_scans(reactor: IReactorTime, bounded: bool) -> dict[str, Any]:
    portal = Portal().start()
    try:
        links = [f"/data/f{i:02d}.csv" for i in range(FILES)]
        portal.set("/", page("Files", *links))
        for i, link in enumerate(links):
            portal.set(link, Resource(f"district,permits\nNorth,{i}\n".encode(), "text/csv"))
        settings = _settings(
            [{"kind": "html", "name": "slow", "start_urls": [portal.url]}],
            concurrent_requests=1,
            concurrent_requests_per_host=1,
        )
        backlog = (
            ScanBacklog(3, 1 << 30, call_in_reactor=lambda f: reactor.callLater(0, f))  # type: ignore[attr-defined]
            if bounded
            else None
        )
        hooks = SlowScans(reactor, backlog)
        ok = await CrawlService(settings, hooks, Metrics()).poll("slow")
        return {
            "ok": ok,
            "files": sum(1 for e in hooks.events if e["hook"] == "on_file"),
            "most_queued": hooks.most_queued,
        }
    finally:
        portal.stop()


async def bounded(reactor: IReactorTime) -> dict[str, Any]:
    """Twelve files, scans of 0.25 s, a backlog of three: downloads wait for room."""
    return await slow_scans(reactor, bounded=True)


async def unbounded(reactor: IReactorTime) -> dict[str, Any]:
    """The same without a backlog: every file is downloaded while the first scans run."""
    return await slow_scans(reactor, bounded=False)


class HoldAllButSlow(RecordingHooks):
    """A daemon that holds every file but the first few, whose downloads are slow.

    The held files queue for the file slots behind the slow downloads; when those end,
    each held file ends at once and hands its slot to the next one.
    """

    def validators(self, url: str, stored: Validators | None = None) -> Validators:
        super().validators(url, stored)
        if url.rsplit("/", 1)[-1] < f"f{SLOTS:04d}.csv":
            return Validators()
        return Validators(hold="downloaded, its scan has not finished")


async def held_run(reactor: IReactorTime) -> dict[str, Any]:
    """A long index whose files are held, queued behind slow downloads."""
    portal = StandinPortal().start()
    try:
        for i in range(MANY):
            portal.publish(f"f{i:04d}.csv", b"district,permits\nNorth,1\n")
        portal.latency = 0.5
        settings = _settings(
            [{"kind": "html", "name": "many", "start_urls": [portal.url]}],
            concurrent_requests=SLOTS,
            concurrent_requests_per_host=SLOTS,
        )
        metrics = Metrics()
        ok = await CrawlService(settings, HoldAllButSlow(), metrics).poll("many")
        return {
            "ok": ok,
            "file_requests": sum(1 for _, p, _ in portal.requests if p.startswith("/data/")),
            "held": metrics.registry.get_sample_value(
                "leakmon_resources", {"target": "many", "state": "error"}
            ),
        }
    finally:
        portal.stop()


async def _many_files(reactor: IReactorTime, hooks: RecordingHooks, **crawl: Any) -> dict[str, Any]:
    portal = Portal().start()
    try:
        links = [f"/data/f{i:04d}.csv" for i in range(MANY)]
        portal.set("/", page("Files", *links))
        for link in links:
            portal.set(link, Resource(b"district,permits\nNorth,1\n", "text/csv"))
        settings = _settings(
            [{"kind": "html", "name": "many", "start_urls": [portal.url]}],
            concurrent_requests=1,
            concurrent_requests_per_host=1,
            **crawl,
        )
        metrics = Metrics()
        ok = await CrawlService(settings, hooks, metrics).poll("many")
        return {
            "ok": ok,
            "file_requests": sum(1 for h in portal.hits if h.path.startswith("/data/")),
            "budget": metrics.registry.get_sample_value(
                "leakmon_resources", {"target": "many", "state": "budget"}
            ),
        }
    finally:
        portal.stop()


async def budget_run(reactor: IReactorTime) -> dict[str, Any]:
    """A budget far below the file count: every file past it is refused at once."""
    return await _many_files(reactor, RecordingHooks(), max_requests_per_poll=20)
