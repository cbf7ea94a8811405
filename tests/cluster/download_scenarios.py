"""Cluster download scenarios, run by ``tests.crawl.driver`` in a child process.

They take jobs from the real frontier (Redis at 127.0.0.1:6379, the key prefix in
``LEAKMON_TEST_PREFIX``) and fetch them from a portal on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis
from scrapy.crawler import CrawlerRunner
from twisted.internet import defer, task

from monitor.cluster.frontier import Frontier
from monitor.config import Settings
from monitor.crawl import Validators
from monitor.crawl.batches import Batcher
from monitor.crawl.remote import DownloadService
from monitor.crawl.settings import SPIDER_MODULES
from monitor.errors import FrontierError, StoreError
from monitor.metrics import Metrics
from monitor.models import DownloadJob, utcnow
from tests.cluster.harness import REDIS_URL
from tests.crawl.portal import Portal, Resource
from tests.crawl.recording import RecordingHooks

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Sequence

    from twisted.internet.interfaces import IReactorTime

    from monitor.cluster.frontier import Taken

_TARGET = "frontier"
_JOBS = 40


class _FrontierSeam:
    """The frontier half of a replica's cluster seam, on the real frontier.

    Validators come from the recording hooks' store, as the cluster reads them
    from the shared database for each take.
    """

    def __init__(self, frontier: Frontier, lease: float, hooks: RecordingHooks) -> None:
        self.frontier = frontier
        self.lease = lease
        self.hooks = hooks
        self.validator_reads: list[int] = []  # URLs per read

    def take(self, count: int, block: float) -> Sequence[Taken]:
        return self.frontier.take(count, block)

    def touch(self, entries: Sequence[str]) -> None:
        self.frontier.touch(entries)

    def done(self, taken: Sequence[Taken]) -> None:
        self.frontier.done_many([(t.entry, t.job.url) for t in taken])

    def validators(self, urls: Collection[str]) -> dict[str, tuple[str | None, ...]]:
        self.validator_reads.append(len(urls))
        stored = {url: self.hooks.store[url] for url in urls if url in self.hooks.store}
        return {url: (v.etag, v.last_modified, v.sha256) for url, v in stored.items()}


class _StoreDownSeam(_FrontierSeam):
    """A seam whose store does not answer when a take's validators are read."""

    def validators(self, urls: Collection[str]) -> dict[str, tuple[str | None, ...]]:
        self.validator_reads.append(len(urls))
        raise StoreError("store unavailable: connection refused (test)")


class _AcksLostSeam(_FrontierSeam):
    """A seam whose frontier does not answer acknowledgements (takes still work)."""

    def __init__(self, frontier: Frontier, lease: float, hooks: RecordingHooks) -> None:
        super().__init__(frontier, lease, hooks)
        self.acknowledged: list[int] = []  # jobs per attempt

    def done(self, taken: Sequence[Taken]) -> None:
        self.acknowledged.append(len(taken))
        raise FrontierError("cannot acknowledge a download: connection refused (test)")


async def pulls_as_jobs_finish(reactor: IReactorTime) -> dict[str, Any]:
    """Queue unchanged files, let one replica holding one job at a time fetch them all.

    The service's clock is a ``task.Clock`` that is never advanced: a replica that
    waited on a timer to ask for its next job would stop after the first one.
    """
    return await _fetch_all(reactor, _FrontierSeam, max_downloads=1)


async def reads_validators_per_take(reactor: IReactorTime) -> dict[str, Any]:
    """Eight jobs held at a time: each take's validators are read together."""
    return await _fetch_all(reactor, _FrontierSeam, max_downloads=8)


async def store_down_reads_validators_one_by_one(reactor: IReactorTime) -> dict[str, Any]:
    """The batch read fails: each job asks the daemon's hooks for its own validators."""
    return await _fetch_all(reactor, _StoreDownSeam, max_downloads=8)


async def acknowledgements_lost(reactor: IReactorTime) -> dict[str, Any]:
    """No acknowledgement reaches the frontier: the replica still works through every job."""
    return await _fetch_all(reactor, _AcksLostSeam, max_downloads=8, acknowledged=False)


@dataclass
class _Replica:
    """One replica's download service on the real frontier, fetching from a portal here."""

    portal: Portal
    frontier: Frontier
    hooks: RecordingHooks
    seam: _FrontierSeam
    runner: CrawlerRunner
    service: DownloadService

    def publish(self, *, stored: bool) -> None:
        """Serve and queue ``_JOBS`` files; with ``stored``, the hooks have each one's sha256."""
        for n in range(_JOBS):
            body = f"district,permits\nNorth,{n}\n".encode()
            self.portal.set(f"/data/{n}.csv", Resource(body, "text/csv"))
            url = f"{self.portal.url}data/{n}.csv"
            if stored:
                self.hooks.store[url] = Validators(None, None, hashlib.sha256(body).hexdigest())
            self.frontier.offer(DownloadJob(target=_TARGET, url=url, found_at=utcnow()))

    async def close(self) -> None:
        self.service.stop()
        for crawler in list(self.runner.crawlers):  # a copy: each stop changes the set
            await crawler.stop_async()
        self.frontier.close()
        self.portal.stop()


def _replica(
    seam_class: type[_FrontierSeam], *, max_downloads: int, max_scanning: int, clock: Any
) -> _Replica:
    """Build a replica's download service (not started) over a fresh portal and the frontier."""
    portal = Portal().start()
    frontier = Frontier(
        REDIS_URL, prefix=os.environ["LEAKMON_TEST_PREFIX"], consumer="r1", lease=30
    )
    frontier.setup()
    settings = Settings.model_validate(
        {
            "targets": [{"kind": "html", "name": _TARGET, "start_urls": [portal.url]}],
            "crawl": {"autothrottle": False, "download_timeout": 10},
        }
    )
    hooks = RecordingHooks()
    seam = seam_class(frontier, 30, hooks)
    runner = CrawlerRunner({"SPIDER_MODULES": SPIDER_MODULES})
    service = DownloadService(
        settings,
        hooks,  # type: ignore[arg-type]  (the daemon's hooks, recorded)
        Metrics(),
        seam,  # type: ignore[arg-type]  (the frontier half is used)
        lambda: runner,
        max_downloads=max_downloads,
        max_scanning=max_scanning,
        clock=clock,
    )
    return _Replica(portal, frontier, hooks, seam, runner, service)


async def _fetch_all(
    reactor: IReactorTime,
    seam_class: type[_FrontierSeam],
    *,
    max_downloads: int,
    acknowledged: bool = True,
) -> dict[str, Any]:
    """Queue ``_JOBS`` unchanged files on the real frontier; one replica fetches them all.

    Returns how many were found unchanged (the stored sha256 was used), how the
    validators were read, and what is left in the stream once all are acknowledged
    (with ``acknowledged`` False, once all were found unchanged).
    """
    replica = _replica(
        seam_class, max_downloads=max_downloads, max_scanning=max_downloads, clock=task.Clock()
    )
    hooks, frontier = replica.hooks, replica.frontier
    client = redis.Redis.from_url(REDIS_URL)
    try:
        replica.publish(stored=True)
        replica.service.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (
            _unchanged(hooks) < _JOBS or (acknowledged and client.xlen(frontier.stream))
        ):
            await task.deferLater(reactor, 0.05, lambda: None)
        asked = [e for e in hooks.events if e["hook"] == "validators"]
        return {
            "jobs": _JOBS,
            "unchanged": _unchanged(hooks),
            "waiting": frontier.waiting(),
            "left_in_stream": client.xlen(frontier.stream),
            "validator_reads": replica.seam.validator_reads,
            "asked_with_stored": sum(1 for e in asked if e["stored"]),
            "asked_without": sum(1 for e in asked if not e["stored"]),
            "acknowledged": getattr(replica.seam, "acknowledged", None),
        }
    finally:
        client.close()
        await replica.close()


async def offers_in_batches(reactor: IReactorTime) -> dict[str, Any]:
    """A poll finding 300 files at once (and 10 of them twice) offers them in a few round trips."""
    prefix = os.environ["LEAKMON_TEST_PREFIX"]
    frontier = Frontier(REDIS_URL, prefix=prefix, consumer="r1", lease=30)
    frontier.setup()
    sizes: list[int] = []

    def offer_many(jobs: Sequence[DownloadJob]) -> list[bool]:
        sizes.append(len(jobs))
        return frontier.offer_many(jobs)

    batcher = Batcher(offer_many, limit=100)
    try:
        jobs = [
            DownloadJob(target=_TARGET, url=f"http://127.0.0.1:1/f{n}.csv", found_at=utcnow())
            for n in [*range(300), *range(10)]
        ]
        answers = await defer.gatherResults([batcher.add(job) for job in jobs])
        return {
            "queued": answers[:300].count(True),
            "again": answers[300:].count(True),
            "sizes": sizes,
            "in_stream": frontier.waiting(),
        }
    finally:
        frontier.close()


async def offers_to_a_dead_frontier(reactor: IReactorTime) -> dict[str, Any]:
    """Every offer of a batch the frontier did not answer fails, saying why."""
    frontier = Frontier("redis://127.0.0.1:1/0", prefix="dead", consumer="r1", lease=30)
    batcher = Batcher(frontier.offer_many)
    jobs = [
        DownloadJob(target=_TARGET, url=f"http://127.0.0.1:1/f{n}.csv", found_at=utcnow())
        for n in range(5)
    ]
    results = await defer.DeferredList([batcher.add(job) for job in jobs], consumeErrors=True)
    frontier.close()
    return {
        "failed": [ok is False and isinstance(value.value, FrontierError) for ok, value in results],
        "messages": sorted({str(value.value) for ok, value in results if not ok}),
    }


def _unchanged(hooks: RecordingHooks) -> int:
    return sum(1 for e in hooks.events if e["hook"] == "on_unchanged")


class _ThreadClock(task.Clock):
    """A clock that is never advanced, whose calls from other threads run on the reactor."""

    def __init__(self, reactor: Any) -> None:  # Any: the reactor (typed by zope interfaces)
        super().__init__()
        self._reactor = reactor

    def callFromThread(self, f: Callable[..., object], *args: object) -> None:
        self._reactor.callFromThread(f, *args)


async def takes_nothing_while_scans_are_full(reactor: IReactorTime) -> dict[str, Any]:
    """Changed files, never scanned until said: takes stop once two wait for their scan.

    The replica may download 8 at once and hold 2 handed to the scanner. It takes 8
    (room for 8 downloads); when the first is handed, one file waits for its scan, so
    it takes one more (7 downloading: room for 1); from the second on it takes
    nothing until only one of its files is left waiting for a scan.
    """
    # The hooks store nothing of these files: each is downloaded in full and handed.
    replica = _replica(_FrontierSeam, max_downloads=8, max_scanning=2, clock=_ThreadClock(reactor))

    def handed() -> list[str]:
        return [e["url"] for e in replica.hooks.events if e["hook"] == "on_file"]

    async def settle(count: int) -> int:
        """Wait until ``count`` files were handed, then a little more: how many are taken."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(handed()) < count:
            await task.deferLater(reactor, 0.05, lambda: None)
        await task.deferLater(reactor, 1.5, lambda: None)  # more than a take's 1 s block
        return _JOBS - replica.frontier.waiting()

    try:
        replica.publish(stored=False)
        replica.service.start()
        taken = {"at_first": await settle(9)}
        for url in handed()[:7]:  # 2 still waiting for a scan: still no take
            replica.service.file_done(url)
        taken["after_7_scanned"] = await settle(9)
        replica.service.file_done(handed()[7])  # 1 waiting: room to take 8 more downloads
        taken["after_8_scanned"] = await settle(17)
        return {**taken, "handed": len(handed())}
    finally:
        await replica.close()
