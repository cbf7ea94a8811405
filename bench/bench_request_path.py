"""CPU per conditional GET on four HTTP paths, side by side (issue 18, item 2).

leakmon re-checks an unchanged file with one conditional GET that the portal answers
with 304. The daemon spends about 0.8-0.9 ms of CPU per such file on this host
(``profile_poll.py``; target 0.5 ms). This benchmark says how much of that is the
HTTP path itself, so that the target is judged against a measured floor:

- ``twisted``: Twisted's ``Agent`` on a persistent connection pool, 4 requests in flight:
  the layer Scrapy's HTTP/1.1 handler is built on, with nothing above it;
- ``scrapy``: a bare Scrapy crawl (no extensions, Scrapy's default middlewares, no item
  pipeline) that requests every file with ``If-None-Match``, 4 in flight per host;
- ``scrapy+items``: the same, but each file goes as leakmon's do: the spider yields an
  item per link and an item pipeline downloads it with ``engine.download_async``;
- ``items, no mw``: ``scrapy+items`` without any of Scrapy's own downloader and spider
  middlewares (robots.txt, offsite, redirects, retries, cookies, compression...): what
  Scrapy's engine and downloader cost on their own.

Each arm runs in its own fresh process (a Twisted reactor cannot restart), the arms
alternate ``--rounds`` times against one stand-in portal on 127.0.0.1 (HTTP/1.1
keep-alive, 304 for a matching ETag), and the process's user + system CPU is divided by
the requests it made. The portal runs in this process, on the same cores: its CPU is
not counted. Usage:

  .venv/bin/python bench/bench_request_path.py --files 10000 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ARMS = ("twisted", "scrapy", "scrapy+items", "items, no mw")
_IN_FLIGHT = 4


def _twisted(jobs: list[tuple[str, str]]) -> int:
    from twisted.internet import defer, reactor
    from twisted.web.client import Agent, HTTPConnectionPool, readBody
    from twisted.web.http_headers import Headers

    pool = HTTPConnectionPool(reactor, persistent=True)
    pool.maxPersistentPerHost = _IN_FLIGHT
    agent = Agent(reactor, pool=pool)
    gate = defer.DeferredSemaphore(_IN_FLIGHT)
    done = [0]

    async def one(url: str, etag: str) -> None:
        headers = Headers({b"If-None-Match": [etag.encode()]})
        response = await agent.request(b"GET", url.encode(), headers)
        await readBody(response)
        done[0] += 1

    def all_done(_: object) -> None:
        reactor.stop()

    requests = [gate.run(lambda u=u, e=e: defer.ensureDeferred(one(u, e))) for u, e in jobs]
    defer.gatherResults(requests).addBoth(all_done)
    reactor.run()
    return done[0]


def _scrapy(jobs: list[tuple[str, str]], items: bool, middlewares: bool = True) -> int:
    import scrapy
    from scrapy.crawler import CrawlerProcess

    done = [0]

    class Pipeline:
        """Download each item's file as leakmon's FetchPipeline does (engine.download_async)."""

        def __init__(self, crawler: object) -> None:
            self.crawler = crawler

        @classmethod
        def from_crawler(cls, crawler: object) -> Pipeline:
            return cls(crawler)

        async def process_item(self, item: dict[str, str]) -> dict[str, str]:
            request = scrapy.Request(
                item["url"],
                headers={"If-None-Match": item["etag"]},
                meta={"handle_httpstatus_all": True},
            )
            await self.crawler.engine.download_async(request)  # type: ignore[attr-defined]
            done[0] += 1
            return item

    class Files(scrapy.Spider):
        name = "files"

        async def start(self):  # type: ignore[no-untyped-def]
            if items:
                # One page whose answer yields every item, as an index page's links do.
                yield scrapy.Request(jobs[0][0], callback=self.items, dont_filter=True,
                                     meta={"handle_httpstatus_all": True})  # fmt: skip
                return
            for url, etag in jobs:
                yield scrapy.Request(url, headers={"If-None-Match": etag}, callback=self.counted,
                                     meta={"handle_httpstatus_all": True})  # fmt: skip

        def counted(self, response: object) -> None:
            done[0] += 1

        def items(self, response: object):  # type: ignore[no-untyped-def]
            for url, etag in jobs:
                yield {"url": url, "etag": etag}

    settings = {
        "LOG_LEVEL": "WARNING",
        "TELNETCONSOLE_ENABLED": False,
        "EXTENSIONS_BASE": {},
        "ROBOTSTXT_OBEY": False,
        "CONCURRENT_REQUESTS": _IN_FLIGHT,
        "CONCURRENT_REQUESTS_PER_DOMAIN": _IN_FLIGHT,
        "CONCURRENT_ITEMS": _IN_FLIGHT,
        "DOWNLOADER_MIDDLEWARES": {"scrapy.downloadermiddlewares.stats.DownloaderStats": None},
        "ITEM_PIPELINES": {Pipeline: 100} if items else {},
        "TWISTED_REACTOR": "twisted.internet.epollreactor.EPollReactor",
    }
    if not middlewares:
        settings |= {"DOWNLOADER_MIDDLEWARES_BASE": {}, "SPIDER_MIDDLEWARES_BASE": {}}
    process = CrawlerProcess(settings, install_root_handler=False)
    process.crawl(Files)
    process.start()
    return done[0]


def child(arm: str, jobs_file: Path) -> None:
    """Run one arm in this process; print its requests, CPU and wall time as JSON."""
    jobs = [tuple(j) for j in json.loads(jobs_file.read_text())]
    started = time.monotonic()
    if arm == "twisted":
        done = _twisted(jobs)  # type: ignore[arg-type]
    else:
        items = arm != "scrapy"
        done = _scrapy(jobs, items, middlewares=arm != "items, no mw")  # type: ignore[arg-type]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"done": done, "user": usage.ru_utime, "system": usage.ru_stime,
                      "wall": time.monotonic() - started}))  # fmt: skip


def _run_arm(arm: str, jobs_file: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", arm, str(jobs_file)],
        capture_output=True, text=True, check=True, timeout=3600,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    from bench.bench_scale import publish_small_files
    from monitor.standin import Portal

    tmp = Path(tempfile.mkdtemp(prefix="leakmon-request-path-"))
    portal = Portal(keep_alive=True).start()
    try:
        _, names = publish_small_files(portal, tmp, args.files)
        # The stand-in's own ETag per file, so that every request is answered 304.
        jobs = [(portal.url + "data/" + n, portal.file(n).etag) for n in names]  # type: ignore[union-attr]
        jobs_file = tmp / "jobs.json"
        jobs_file.write_text(json.dumps(jobs))
        # A one-request run of each arm: its CPU (imports, start-up) is taken off.
        empty = tmp / "empty.json"
        empty.write_text(json.dumps(jobs[:1]))
        base = {arm: _run_arm(arm, empty) for arm in ARMS}
        runs: dict[str, list[float]] = {arm: [] for arm in ARMS}
        for r in range(args.rounds):
            for arm in ARMS:
                requests0 = len(portal.requests)
                got = _run_arm(arm, jobs_file)
                made = len(portal.requests) - requests0
                cpu = got["user"] + got["system"] - base[arm]["user"] - base[arm]["system"]
                ms = cpu * 1000 / made
                runs[arm].append(ms)
                print(f"round {r + 1} {arm:14} {made:,} requests in {got['wall']:.1f} s:"
                      f" {ms:.3f} ms CPU per request", flush=True)  # fmt: skip
        print(f"\n{args.files:,} conditional GETs answered 304, 4 in flight, median of"
              f" {args.rounds} rounds (ms of CPU per request; ratio to bare Twisted):")  # fmt: skip
        floor = statistics.median(runs["twisted"])
        for arm in ARMS:
            m = statistics.median(runs[arm])
            print(f"  {arm:14} {m:.3f} ms  {m / floor:.2f}x")
    finally:
        portal.stop()


if __name__ == "__main__":
    main()
