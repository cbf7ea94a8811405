"""Crawl scenarios against hostile servers and SSRF bait, run by ``tests.crawl.driver``.

Every server binds a loopback address. Host names are answered by a fake resolver
installed on the reactor (``_FakeDNS``), and ``reactor.connectTCP`` is wrapped so
that a connection to anything but a loopback address or a faked name fails and is
recorded: a guard that let a request through would still send nothing off this
machine, and the test would see the attempt.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from twisted.internet import defer
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IResolverSimple
from zope.interface import classImplements

from monitor.crawl import CrawlService
from monitor.metrics import Metrics
from tests.crawl import hostile
from tests.crawl.hostile import Hostile, page_html
from tests.crawl.recording import RecordingHooks
from tests.crawl.scenarios import _fetches, _settings

if TYPE_CHECKING:
    from collections.abc import Sequence

CSV = b"district,permits\nNorth,12\nSouth,7\n"
REASONS = ("scheme", "offsite", "address", "name", "resolved")


class _FakeDNS:
    """Answer host names from a table, as a resolver on 127.0.0.x would; others do not exist."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table
        self.asked: list[str] = []

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> defer.Deferred[str]:
        self.asked.append(name)
        if name.replace(".", "").isdigit():
            return defer.succeed(name)  # an IP address resolves to itself
        if name in self.table:
            return defer.succeed(self.table[name])
        return defer.fail(DNSLookupError(name))


classImplements(_FakeDNS, IResolverSimple)


def _wire_guard(reactor: Any, names: set[str]) -> list[str]:
    """Refuse and record every connection to a host that is neither loopback nor faked."""
    attempts: list[str] = []
    real = reactor.connectTCP

    def connect(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        attempts.append(host)
        if not (host.startswith("127.") or host in names):
            raise ConnectionRefusedError(f"test wire guard: no connection to {host}")
        return real(host, port, *args, **kwargs)

    reactor.connectTCP = connect
    return attempts


def _refused(metrics: Metrics, target: str) -> dict[str, float]:
    out = {}
    for reason in REASONS:
        value = metrics.registry.get_sample_value(
            "leakmon_refused_requests_total", {"target": target, "reason": reason}
        )
        if value:
            out[reason] = value
    return out


def _poll_record(hooks: RecordingHooks, target: str) -> dict[str, Any]:
    mine = [e for e in hooks.events if e.get("target") == target]
    done = [e for e in mine if e["hook"] == "on_poll_done"]
    return {
        "ok": done[-1]["ok"] if done else None,
        "seen": done[-1]["seen"] if done else None,
        "files": [e["url"] for e in mine if e["hook"] == "on_file"],
        "errors": [
            {"url": e["url"], "error": e["error"]} for e in mine if e["hook"] == "on_fetch_error"
        ],
    }


async def ssrf(reactor: Any) -> dict[str, Any]:
    """A portal whose links and redirects aim at metadata, private and loopback addresses."""
    portal = Hostile("127.0.0.1").start()
    trap = Hostile("127.0.0.2").start()  # loopback, but no target's: nothing may reach it
    p, t = portal.port, trap.port
    dns = _FakeDNS(
        {
            "portal.example.org": "127.0.0.1",
            "data.example.org": "127.0.0.2",  # public-looking, resolves to a private address
            "files.example.net": "127.0.0.1",  # configured in a target's allowed_domains
        }
    )
    reactor.installResolver(dns)
    attempts = _wire_guard(reactor, set(dns.table))
    try:
        bait = {
            "/go/meta": "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
            "/go/ten": "http://10.0.0.1/admin",
            "/go/v6": "http://[fd00:ec2::254]/latest/meta-data/",
            "/go/gce": "http://metadata.google.internal/computeMetadata/v1/",
            "/go/zero": f"http://0.0.0.0:{t}/",
            "/go/decimal": f"http://2130706433:{t}/",  # 127.0.0.1 spelled as one number
            "/go/loop2": f"http://127.0.0.2:{t}/",
            "/go/dns": f"http://data.example.org:{t}/",
        }
        for path, where in bait.items():
            portal.route(path, hostile.redirect(where))
        portal.page(
            "/",
            page_html(
                "Open data",
                "/data/ok.csv",
                "/data/leak.csv",
                f"http://data.example.org:{t}/data/direct.csv",
                f"http://data.example.org:{t}/page/",
                *bait,
            ),
        )
        portal.file("/data/ok.csv", CSV)
        portal.route("/data/leak.csv", hostile.redirect(f"http://10.0.0.1:{t}/leak.csv"))
        portal.page("/intra/", page_html("Intranet", f"http://files.example.net:{p}/data/ok.csv"))
        portal.route("/start-redirects", hostile.redirect(f"http://127.0.0.2:{t}/"))
        trap.page("/", page_html("Trap", "/data/trap.csv"))
        trap.file("/data/direct.csv", CSV)
        base = f"http://portal.example.org:{p}/"
        settings = _settings(
            [
                # Derived domains (example.org): the bait off it is offsite.
                {"kind": "html", "name": "guarded", "start_urls": [base]},
                # Any domain: the bait is refused for its address or name.
                {"kind": "html", "name": "open", "start_urls": [base], "allowed_domains": []},
                # A configured domain may be private: the operator named it.
                {
                    "kind": "html",
                    "name": "intranet",
                    "start_urls": [f"http://127.0.0.1:{p}/intra/"],
                    "allowed_domains": ["127.0.0.1", "files.example.net"],
                },
                {
                    "kind": "html",
                    "name": "start",
                    "start_urls": [base + "start-redirects"],
                    "allowed_domains": [],
                },
                # Redirected off its domains: Scrapy's offsite filter drops it unseen.
                {"kind": "html", "name": "offsite-start", "start_urls": [base + "start-redirects"]},
            ],
            download_timeout=5,
        )
        hooks, metrics = RecordingHooks(), Metrics()
        service = CrawlService(settings, hooks, metrics)
        names = ["guarded", "open", "intranet", "start", "offsite-start"]
        oks = await defer.gatherResults([service.poll(n) for n in names], consumeErrors=True)
        return {
            "p": p,
            "t": t,
            "ok": dict(zip(names, oks, strict=True)),
            "polls": {n: _poll_record(hooks, n) for n in names},
            "refused": {n: _refused(metrics, n) for n in names},
            "fetches": {n: _fetches(metrics, n) for n in names},
            "trap_hits": [asdict(h) for h in trap.hits],
            "portal_paths": sorted({h.path for h in portal.hits}),
            "attempts": sorted(set(attempts)),
            "dns_asked": sorted(set(dns.asked)),
        }
    finally:
        portal.stop()
        trap.stop()


async def slow(reactor: Any) -> dict[str, Any]:
    """Slow-loris and silent servers, for pages and for files, with download_timeout=2 s."""
    server = Hostile().start()
    try:
        server.route("/loris/", hostile.trickle(every=0.5, media_type="text/html"))
        server.route("/silent/", hostile.silent)
        server.page(
            "/files/",
            page_html(
                "Files", "/data/loris.csv", "/data/silent.csv", "/data/headers.csv", "/data/ok.csv"
            ),
        )
        server.route("/data/headers.csv", hostile.trickle_headers(every=0.2))
        server.route("/data/loris.csv", hostile.trickle(every=0.5))
        server.route("/data/silent.csv", hostile.silent)
        server.file("/data/ok.csv", CSV)
        url = server.url
        settings = _settings(
            [
                {"kind": "html", "name": "loris-page", "start_urls": [url + "loris/"]},
                {"kind": "html", "name": "silent-page", "start_urls": [url + "silent/"]},
                {"kind": "html", "name": "slow-files", "start_urls": [url + "files/"]},
            ],
            download_timeout=2,
            obey_robots_txt=False,
        )
        hooks, metrics = RecordingHooks(), Metrics()
        service = CrawlService(settings, hooks, metrics)
        names = ["loris-page", "silent-page", "slow-files"]
        took: dict[str, float] = {}

        async def timed(name: str) -> bool:
            start = time.monotonic()
            ok = await service.poll(name)
            took[name] = time.monotonic() - start
            return bool(ok)

        oks = await defer.gatherResults(
            [defer.ensureDeferred(timed(n)) for n in names], consumeErrors=True
        )
        return {
            "ok": dict(zip(names, oks, strict=True)),
            "took": took,
            "polls": {n: _poll_record(hooks, n) for n in names},
            "fetches": {n: _fetches(metrics, n) for n in names},
            "hits": {
                path: len(server.hits_for(path))
                for path in ("/loris/", "/silent/", "/data/loris.csv", "/data/silent.csv")
            },
            "open_for": dict(server.closed_after),
        }
    finally:
        server.stop()


async def _timed_polls(
    service: CrawlService, names: list[str]
) -> tuple[dict[str, bool], dict[str, float]]:
    took: dict[str, float] = {}

    async def timed(name: str) -> bool:
        start = time.monotonic()
        ok = await service.poll(name)
        took[name] = round(time.monotonic() - start, 2)
        return bool(ok)

    oks = await defer.gatherResults(
        [defer.ensureDeferred(timed(n)) for n in names], consumeErrors=True
    )
    return dict(zip(names, oks, strict=True)), took


async def sizes(reactor: Any) -> dict[str, Any]:
    """Endless, lying and compressed bodies with download_max_mb=2."""
    server = Hostile().start()
    try:
        files = {
            "/data/endless.csv": hostile.endless(),
            "/data/longer.csv": hostile.lying_length(10, CSV * 100),
            "/data/shorter.csv": hostile.lying_length(100_000, CSV),
            "/data/huge-declared.csv": hostile.lying_length(50 * 1024 * 1024, CSV),
            "/data/gzip.csv": hostile.bomb("gzip", 1024 * 1024 * 1024),
            "/data/deflate.csv": hostile.bomb("deflate", 64 * 1024 * 1024),
            "/data/br.csv": hostile.bomb("br", 64 * 1024 * 1024),
            "/data/zstd.csv": hostile.bomb("zstd", 64 * 1024 * 1024),
            "/data/nested.csv": hostile.bomb("gzip, gzip", 1024 * 1024 * 1024),
        }
        for path, answer in files.items():
            server.route(path, answer)
        server.file("/data/ok.csv", CSV)
        server.page("/files/", page_html("Files", "/data/ok.csv", *files))
        server.route("/endless/", hostile.endless("text/html"))
        server.route("/bomb/", hostile.bomb("gzip", 1024 * 1024 * 1024, "text/html"))
        # Its own file: the stand-in store is keyed by URL as the daemon's is, so a file the
        # "files" target fetched first would come back unchanged here, not as a file.
        server.file("/data/linked.csv", CSV)
        server.page("/links/", page_html("Links", "/bomb/", "/data/linked.csv"))
        server.route(
            "/short/",
            hostile.lying_length(100_000, b"<html><a href='/data/ok.csv'>x</a>", "text/html"),
        )
        url = server.url
        settings = _settings(
            [
                {"kind": "html", "name": "files", "start_urls": [url + "files/"]},
                {"kind": "html", "name": "endless-page", "start_urls": [url + "endless/"]},
                {"kind": "html", "name": "bomb-page", "start_urls": [url + "bomb/"]},
                {"kind": "html", "name": "short-page", "start_urls": [url + "short/"]},
                {"kind": "html", "name": "bomb-link", "start_urls": [url + "links/"]},
            ],
            download_max_mb=2,
            download_timeout=10,
            obey_robots_txt=False,
        )
        hooks, metrics = RecordingHooks(), Metrics()
        service = CrawlService(settings, hooks, metrics)
        names = ["files", "endless-page", "bomb-page", "short-page", "bomb-link"]
        oks, took = await _timed_polls(service, names)
        return {
            "base": url.rstrip("/"),
            "ok": oks,
            "took": took,
            "polls": {n: _poll_record(hooks, n) for n in names},
            "sizes": {e["url"]: e["size"] for e in hooks.events if e["hook"] == "on_file"},
            "fetches": {n: _fetches(metrics, n) for n in names},
        }
    finally:
        server.stop()


async def loops(reactor: Any) -> dict[str, Any]:
    """Redirect loops and chains, an endless calendar and session-id links."""
    server = Hostile().start()
    try:
        url = server.url
        server.route("/loop/a", hostile.redirect(url + "loop/b"))
        server.route("/loop/b", hostile.redirect(url + "loop/a"))
        server.route(
            "/chain", hostile.redirect(lambda c: f"{url}chain?n={int(c.query.get('n', '0')) + 1}")
        )
        server.page(
            "/links/", page_html("Links", "/loop/a", "/chain", "/data/ok.csv", "/data/chain.csv")
        )
        server.route(
            "/data/chain.csv",
            hostile.redirect(lambda c: f"{url}data/chain.csv?n={int(c.query.get('n', '0')) + 1}"),
        )
        server.file("/data/ok.csv", CSV)
        server.route("/cal/", hostile.calendar())
        server.route("/s/", hostile.sessions("/s/", "/data/ok.csv"))
        settings = _settings(
            [
                {"kind": "html", "name": "links", "start_urls": [url + "links/"]},
                {"kind": "html", "name": "loop-start", "start_urls": [url + "loop/a"]},
                {"kind": "html", "name": "chain-start", "start_urls": [url + "chain"]},
                {
                    "kind": "html",
                    "name": "calendar",
                    "start_urls": [url + "cal/?m=2026-11"],
                    "max_depth": 50,
                },
                {"kind": "html", "name": "sessions", "start_urls": [url + "s/"], "max_depth": 50},
                {
                    "kind": "html",
                    "name": "cal-deep",
                    "start_urls": [url + "cal/?m=2026-11"],
                    "max_depth": 3,
                },
            ],
            obey_robots_txt=False,
            max_requests_per_poll=60,
        )
        hooks, metrics = RecordingHooks(), Metrics()
        service = CrawlService(settings, hooks, metrics)
        names = ["links", "loop-start", "chain-start", "calendar", "sessions", "cal-deep"]
        oks, took = await _timed_polls(service, names)
        return {
            "ok": oks,
            "took": took,
            "polls": {n: _poll_record(hooks, n) for n in names},
            "fetches": {n: _fetches(metrics, n) for n in names},
            "hits": {
                p: len(server.hits_for(p))
                for p in ("/loop/a", "/loop/b", "/chain", "/data/chain.csv", "/cal/", "/s/")
            },
        }
    finally:
        server.stop()


async def keeps_going(reactor: Any) -> dict[str, Any]:
    """Run the service for 9 s with hostile targets beside a good one, polling every second."""
    server = Hostile().start()
    try:
        url = server.url
        server.route("/silent/", hostile.silent)
        server.route("/loris/", hostile.trickle(every=0.5, media_type="text/html"))
        server.route("/bomb/", hostile.bomb("gzip, gzip", 256 * 1024 * 1024, "text/html"))
        server.route("/loop/a", hostile.redirect(url + "loop/b"))
        server.route("/loop/b", hostile.redirect(url + "loop/a"))
        server.route("/cal/", hostile.calendar())
        server.page("/good/", page_html("Good", "/data/ok.csv"))
        server.file("/data/ok.csv", CSV)
        starts = {
            "silent": "silent/",
            "loris": "loris/",
            "bomb": "bomb/",
            "loop": "loop/a",
            "cal": "cal/?m=2026-11",
            "good": "good/",
        }
        settings = _settings(
            [
                {
                    "kind": "html",
                    "name": name,
                    "start_urls": [url + path],
                    "every": "1s",
                    "max_depth": 50,
                }
                for name, path in starts.items()
            ],
            download_timeout=2,
            obey_robots_txt=False,
            max_requests_per_poll=40,
        )
        hooks = RecordingHooks()
        service = CrawlService(settings, hooks, Metrics())
        service.start()
        await task_sleep(reactor, 9.0)
        await service.stop()
        done = [e for e in hooks.events if e["hook"] == "on_poll_done"]
        return {
            "polls": {n: [e["ok"] for e in done if e["target"] == n] for n in starts},
            "running_after": service.running,
        }
    finally:
        server.stop()


def task_sleep(reactor: Any, seconds: float) -> defer.Deferred[None]:
    """Wait on the reactor."""
    from twisted.internet import task

    return task.deferLater(reactor, seconds, lambda: None)
