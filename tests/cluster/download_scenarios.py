"""Cluster download scenarios, run by ``tests.crawl.driver`` in a child process.

They take jobs from the real frontier (Redis at 127.0.0.1:6379, the key prefix in
``LEAKMON_TEST_PREFIX``) and fetch them from a portal on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import os
import time
from typing import TYPE_CHECKING, Any

from scrapy.crawler import CrawlerRunner
from twisted.internet import task

from monitor.cluster.frontier import Frontier
from monitor.config import Settings
from monitor.crawl import Validators
from monitor.crawl.remote import DownloadService
from monitor.crawl.settings import SPIDER_MODULES
from monitor.metrics import Metrics
from monitor.models import DownloadJob, utcnow
from tests.cluster.harness import REDIS_URL
from tests.crawl.portal import Portal, Resource
from tests.crawl.recording import RecordingHooks

if TYPE_CHECKING:
    from collections.abc import Sequence

    from twisted.internet.interfaces import IReactorTime

    from monitor.cluster.frontier import Taken

_TARGET = "frontier"
_JOBS = 40


class _FrontierSeam:
    """The frontier half of a replica's cluster seam, on the real frontier."""

    def __init__(self, frontier: Frontier, lease: float) -> None:
        self.frontier = frontier
        self.lease = lease

    def take(self, count: int, block: float) -> Sequence[Taken]:
        return self.frontier.take(count, block)

    def touch(self, entries: Sequence[str]) -> None:
        self.frontier.touch(entries)

    def done(self, taken: Taken) -> None:
        self.frontier.done(taken.entry, taken.job.url)


async def pulls_as_jobs_finish(reactor: IReactorTime) -> dict[str, Any]:
    """Queue unchanged files, let one replica holding one job at a time fetch them all.

    The service's clock is a ``task.Clock`` that is never advanced: a replica that
    waited on a timer to ask for its next job would stop after the first one.
    """
    portal = Portal().start()
    prefix = os.environ["LEAKMON_TEST_PREFIX"]
    frontier = Frontier(REDIS_URL, prefix=prefix, consumer="r1", lease=30)
    frontier.setup()
    settings = Settings.model_validate(
        {
            "targets": [{"kind": "html", "name": _TARGET, "start_urls": [portal.url]}],
            "crawl": {"autothrottle": False, "download_timeout": 10},
        }
    )
    hooks = RecordingHooks()
    runner = CrawlerRunner({"SPIDER_MODULES": SPIDER_MODULES})
    service = DownloadService(
        settings,
        hooks,  # type: ignore[arg-type]  (the daemon's hooks, recorded)
        Metrics(),
        _FrontierSeam(frontier, 30),  # type: ignore[arg-type]  (the frontier half is used)
        lambda: runner,
        max_inflight=1,
        clock=task.Clock(),
    )
    try:
        for n in range(_JOBS):
            body = f"district,permits\nNorth,{n}\n".encode()
            portal.set(f"/data/{n}.csv", Resource(body, "text/csv"))
            url = f"{portal.url}data/{n}.csv"
            hooks.store[url] = Validators(None, None, hashlib.sha256(body).hexdigest())
            frontier.offer(DownloadJob(target=_TARGET, url=url, found_at=utcnow()))
        service.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _unchanged(hooks) < _JOBS:
            await task.deferLater(reactor, 0.05, lambda: None)
        return {"jobs": _JOBS, "unchanged": _unchanged(hooks), "waiting": frontier.waiting()}
    finally:
        service.stop()
        for crawler in list(runner.crawlers):  # a copy: each stop changes the set
            await crawler.stop_async()
        frontier.close()
        portal.stop()


def _unchanged(hooks: RecordingHooks) -> int:
    return sum(1 for e in hooks.events if e["hook"] == "on_unchanged")
