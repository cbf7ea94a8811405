"""Crawl scenarios run by ``tests.crawl.driver`` in a child process; each returns JSON-ready facts.

The scenarios only act and record; the test modules assert on what they return.
Every server binds 127.0.0.1. The "external" site is another loopback server
reached as ``localhost``, a different domain, so a crawler that strayed would
still send nothing off this machine.
"""

from __future__ import annotations

import socket
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from twisted.internet import defer, task

from monitor.config import Settings
from monitor.crawl import CrawlService
from monitor.metrics import Metrics
from tests.crawl.portal import Portal, Resource, page
from tests.crawl.recording import RecordingHooks

if TYPE_CHECKING:
    from twisted.internet.interfaces import IReactorTime

UA = "leakmon-test/0.1 (+https://github.com/leakmon/leakmon; crawler tests)"
MIB = 1024 * 1024
CSV_A = b"district,permits\nNorth,12\nSouth,7\n"
CSV_A2 = b"district,permits\nNorth,12\nSouth,7\nEast,3\n"


def _settings(targets: list[dict[str, Any]], **crawl: Any) -> Settings:
    base = {"autothrottle": False, "user_agent": UA, "download_max_mb": 1, "download_timeout": 10}
    return Settings.model_validate({"targets": targets, "crawl": base | crawl})


def _sleep(reactor: IReactorTime, seconds: float) -> defer.Deferred[None]:
    return task.deferLater(reactor, seconds, lambda: None)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fetches(metrics: Metrics, target: str) -> dict[str, float]:
    out = {}
    for status in ("2xx", "304", "3xx", "4xx", "5xx", "error", "too_large"):
        value = metrics.registry.get_sample_value(
            "leakmon_fetches_total", {"target": target, "status": status}
        )
        if value:
            out[status] = value
    return out


def _story_site(portal: Portal, external: Portal) -> None:
    ext = external.url.replace("127.0.0.1", "localhost")
    portal.set("/robots.txt", Resource(b"User-agent: *\nDisallow: /private/\n", "text/plain"))
    portal.set(
        "/",
        page(
            "Open data catalogue",
            "/data/a.csv",
            "data/a.csv#top",  # the same file again, relative and with a fragment
            "/get/report",  # no extension: an attachment
            "/get/huge",  # no extension, over the size limit: only its headers are read
            "/export?format=csv",
            "/export/help",  # looks like a download, is an HTML page
            "/data/plain.csv",  # no validators at all
            "/data/removed.csv",  # 404
            "/data/big.csv",  # over the size limit, announced
            "/data/stream.csv",  # over the size limit, streamed without a length
            "/private/secret.csv",  # robots.txt disallows
            "/private/index.html",
            ext + "data/ext.csv",  # another domain
            ext,
            "/catalog/",
            "mailto:open-data@example.org",
            extra='<link rel="stylesheet" href="/style.css"><link rel="icon" href="/favicon.ico">',
        ),
    )
    portal.set("/catalog/", page("Catalogue", "/catalog/b/", "/data/a.csv"))
    portal.set("/catalog/b/", page("Dataset B", "/data/b.xlsx", "/catalog/b/c/"))
    portal.set("/catalog/b/c/", page("Too deep", "/data/too-deep.csv"))
    portal.set("/data/a.csv", Resource(CSV_A, "text/csv", etag=True, last_modified=True))
    portal.set(
        "/get/report",
        Resource(
            b"year,count\n2023,5\n", "application/octet-stream", etag=True, attachment="x.csv"
        ),
    )
    portal.set(
        "/get/huge",
        Resource(b"z" * (MIB + MIB // 2), "application/octet-stream", attachment="huge.csv"),
    )
    portal.set("/export?format=csv", Resource(b"k,v\n1,2\n", "text/csv", last_modified=True))
    portal.set("/export/help", page("How to export"))
    portal.set("/data/plain.csv", Resource(b"a,b\n1,2\n", "text/csv"))
    portal.set("/data/big.csv", Resource(b"x" * (MIB + MIB // 2), "text/csv"))
    portal.set("/data/stream.csv", Resource(b"y" * (MIB + MIB // 2), "text/csv", no_length=True))
    portal.set("/data/b.xlsx", Resource(b"PK\x03\x04 synthetic", "application/zip", etag=True))
    portal.set("/data/too-deep.csv", Resource(b"deep\n", "text/csv"))
    portal.set("/private/secret.csv", Resource(b"s\n", "text/csv"))
    portal.set("/style.css", Resource(b"body{}", "text/css"))
    external.set("/", page("Elsewhere", "/data/ext.csv"))
    external.set("/data/ext.csv", Resource(b"e\n", "text/csv"))


async def story(reactor: IReactorTime) -> dict[str, Any]:
    """Poll one portal three times: first sight, unchanged, then a file changed and one unlinked."""
    portal, external = Portal().start(), Portal().start()
    try:
        _story_site(portal, external)
        settings = _settings(
            [
                {
                    "kind": "html",
                    "name": "story",
                    "start_urls": [portal.url],
                    "every": 60,
                    "max_depth": 2,
                }
            ]
        )
        hooks, metrics = RecordingHooks(), Metrics()
        service = CrawlService(settings, hooks, metrics)
        polls = []
        for step in ("first", "unchanged", "changed"):
            if step == "changed":
                index = portal.resources["/"].body.replace(b'<a href="/data/plain.csv">', b"<b>")
                portal.set("/", Resource(index))
                portal.set("/data/a.csv", Resource(CSV_A2, "text/csv", etag=True))
            events, hits = len(hooks.events), len(portal.hits)
            ok = await service.poll("story")
            polls.append(
                {
                    "step": step,
                    "ok": ok,
                    "events": hooks.events[events:],
                    "hits": [asdict(h) for h in portal.hits[hits:]],
                }
            )
        return {
            "base": portal.url.rstrip("/"),
            "polls": polls,
            "external_hits": len(external.hits),
            "fetches": _fetches(metrics, "story"),
            "bytes": metrics.registry.get_sample_value(
                "leakmon_downloaded_bytes_total", {"target": "story"}
            ),
            "last_poll": metrics.registry.get_sample_value(
                "leakmon_last_successful_poll_timestamp_seconds", {"target": "story"}
            ),
            "poll_count": metrics.registry.get_sample_value(
                "leakmon_poll_duration_seconds_count", {"target": "story"}
            ),
        }
    finally:
        portal.stop()
        external.stop()


async def failures(reactor: IReactorTime) -> dict[str, Any]:
    """Poll targets whose start fails (down, 500, robots), a flaky, a shallow and a small one."""
    portal = Portal().start()
    try:
        portal.set("/robots.txt", Resource(b"User-agent: *\nDisallow: /private/\n", "text/plain"))
        portal.set("/", page("Index", "/data/a.csv", "/sub/", "/deeper/"))
        portal.set("/deeper/", page("Deeper", "/data/d.csv"))
        portal.set("/sub/", Resource(b"busy", "text/plain", status=503))
        portal.set("/err/", Resource(b"boom", "text/plain", status=500))
        portal.set("/private/start/", page("Private", "/data/a.csv"))
        portal.set("/data/a.csv", Resource(CSV_A, "text/csv"))
        portal.set("/data/d.csv", Resource(CSV_A, "text/csv"))
        portal.set("/shallow/", page("Shallow", "/shallow/next/", "/shallow/s.csv"))
        portal.set("/shallow/next/", page("Next", "/shallow/t.csv"))
        portal.set("/shallow/s.csv", Resource(b"n\n1\n", "text/csv"))
        many = [f"/many/{i}.csv" for i in range(10)]
        portal.set("/many/", page("Many", *many))
        for path in many:
            portal.set(path, Resource(b"n\n1\n", "text/csv"))
        url = portal.url
        settings = _settings(
            [
                {"name": "down", "start_urls": [f"http://127.0.0.1:{_closed_port()}/"]},
                {"kind": "html", "name": "broken", "start_urls": [url + "err/"]},
                {"kind": "html", "name": "robots", "start_urls": [url + "private/start/"]},
                {"kind": "html", "name": "flaky", "start_urls": [url]},
                {
                    "kind": "html",
                    "name": "shallow",
                    "start_urls": [url + "shallow/"],
                    "max_depth": 0,
                },
            ]
        )
        budget = _settings(
            [{"kind": "html", "name": "budget", "start_urls": [url + "many/"]}],
            max_requests_per_poll=4,
        )
        hooks, metrics = RecordingHooks(), Metrics()
        service = CrawlService(settings, hooks, metrics)
        small = CrawlService(budget, hooks, metrics)
        names = ["down", "broken", "robots", "flaky", "shallow"]
        results = await defer.gatherResults(
            [service.poll(n) for n in names] + [small.poll("budget")], consumeErrors=True
        )
        return {
            "base": url.rstrip("/"),
            "ok": dict(zip([*names, "budget"], results, strict=True)),
            "events": hooks.events,
            "hits": [asdict(h) for h in portal.hits],
            "fetches": {n: _fetches(metrics, n) for n in [*names, "budget"]},
        }
    finally:
        portal.stop()


async def schedule(reactor: IReactorTime) -> dict[str, Any]:
    """Start the service with 1 s intervals, stop it mid-poll, and record when each poll ran."""
    portal = Portal().start()
    try:
        portal.set("/", page("Index", "/data/a.csv"))
        portal.set("/data/a.csv", Resource(CSV_A, "text/csv", etag=True))
        portal.set("/slow/", Resource(page("Slow", "/data/a.csv").body, delay=4.0))
        settings = _settings(
            [
                {"kind": "html", "name": "one", "start_urls": [portal.url], "every": "1s"},
                {"kind": "html", "name": "two", "start_urls": [portal.url], "every": "1s"},
                {
                    "kind": "html",
                    "name": "slow",
                    "start_urls": [portal.url + "slow/"],
                    "every": "1s",
                },
            ]
        )
        hooks = RecordingHooks()
        service = CrawlService(settings, hooks, Metrics())
        windows: list[dict[str, Any]] = []
        real_poll = service.poll

        def poll(name: str) -> defer.Deferred[bool]:
            window = {"target": name, "start": reactor.seconds(), "end": None, "ok": None}
            windows.append(window)

            def ended(ok: bool) -> bool:
                window["end"], window["ok"] = reactor.seconds(), ok
                return ok

            return real_poll(name).addCallback(ended)

        service.poll = poll  # type: ignore[method-assign]
        before = service.running
        service.start()
        during = service.running
        await _sleep(reactor, 3.2)
        stop_at = reactor.seconds()
        await service.stop()
        stopped_at = reactor.seconds()
        after = service.running
        polls_at_stop = len(windows)
        await _sleep(reactor, 2.0)
        return {
            "running": [before, during, after],
            "windows": windows,
            "stop_seconds": stopped_at - stop_at,
            "stop_at": stop_at,
            "polls_at_stop": polls_at_stop,
            "polls_later": len(windows),
            "events": hooks.events,
        }
    finally:
        portal.stop()
