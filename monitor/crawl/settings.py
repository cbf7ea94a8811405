"""Turn leakmon's crawl configuration and one target into Scrapy settings: polite and bounded."""

from __future__ import annotations

import functools
import ipaddress
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import tldextract

from monitor.crawl.crawldelay import CRAWL_DELAY_SETTING
from monitor.crawl.ssrf import PERMISSION_SETTING, permission_of

if TYPE_CHECKING:
    from monitor.config import CrawlConfig, TargetConfig

__all__ = [
    "allowed_domains",
    "depth_limit",
    "per_host_concurrency",
    "robots_token",
    "scrapy_settings",
]

_MIB = 1024 * 1024
#: Redirect hops followed per request (Scrapy's default is 20): a portal needs two or
#: three (http to https, a CDN); a loop or an endless chain is cut here.
REDIRECT_MAX_TIMES = 5
#: AutoThrottle paces a host this much faster than its in-flight limit allows, so the
#: limit, not timer and processing overheads, sets the pace (``scrapy_settings``).
PACING_SLACK = 1.5

#: Spiders live in the top-level ``spiders`` package, one per portal kind (its ``name``).
SPIDER_MODULES = ["spiders"]


@functools.cache
def _extract() -> tldextract.TLDExtract:
    # The bundled public-suffix list only: never fetch one from the network.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def allowed_domains(target: TargetConfig) -> list[str]:
    """Return the domains a target's crawl may visit (subdomains included).

    The configured list when there is one; otherwise each start URL's registered
    domain (``data.city.gov`` gives ``city.gov``), or its host when it has none
    (an IP address, ``localhost``).
    """
    if target.allowed_domains is not None:
        return [d.lower().strip(".") for d in target.allowed_domains]
    out: list[str] = []
    for url in target.start_urls:
        host = (urlsplit(url).hostname or "").lower()
        domain = host if _is_ip(host) else _extract()(host).top_domain_under_public_suffix
        domain = domain or host
        if domain and domain not in out:
            out.append(domain)
    return out


def depth_limit(crawl: CrawlConfig, target: TargetConfig) -> int:
    """Return Scrapy's ``DEPTH_LIMIT`` for a target's ``max_depth`` (link hops from a start URL).

    Scrapy reads 0 as "no limit", so ``max_depth: 0`` (start pages only) becomes -1,
    which drops every followed link and keeps the start requests.
    """
    depth = target.max_depth if target.max_depth is not None else crawl.max_depth
    return depth if depth > 0 else -1


def per_host_concurrency(crawl: CrawlConfig, target: TargetConfig) -> int:
    """Return the requests one poll of ``target`` may have in flight to one host.

    The target's own figure when it sets one (a portal that agreed to more may exceed
    ``crawl.concurrent_requests``); else the crawl's, within ``concurrent_requests``.
    """
    if target.concurrent_requests_per_host is not None:
        return target.concurrent_requests_per_host
    return min(crawl.concurrent_requests_per_host, crawl.concurrent_requests)


def robots_token(user_agent: str) -> str:
    """Return the product token robots.txt rules name (``leakmon`` for ``leakmon/0.1 (+...)``)."""
    return user_agent.split("/", 1)[0].split()[0] if user_agent.strip() else "leakmon"


def scrapy_settings(crawl: CrawlConfig, target: TargetConfig) -> dict[str, Any]:
    """Return the Scrapy settings of one poll of ``target`` (Any: Scrapy's values are mixed)."""
    permission = permission_of(target, allowed_domains(target), crawl.trusted_hosts)
    per_host = per_host_concurrency(crawl, target)
    return {
        "BOT_NAME": "leakmon",
        "SPIDER_MODULES": SPIDER_MODULES,
        # Honest and polite: who we are, what robots.txt allows, adaptive delays.
        "USER_AGENT": crawl.user_agent,
        "ROBOTSTXT_OBEY": crawl.obey_robots_txt and target.robots == "obey",
        # robots.txt's Crawl-Delay, unless the target sets crawl_delay (monitor.crawl.crawldelay).
        CRAWL_DELAY_SETTING: target.crawl_delay,
        "ROBOTSTXT_USER_AGENT": robots_token(crawl.user_agent),
        "AUTOTHROTTLE_ENABLED": crawl.autothrottle,
        # Each poll is a new crawler, so AutoThrottle starts over: begin at 1 s, not 5 s.
        "AUTOTHROTTLE_START_DELAY": 1.0,
        # AutoThrottle spaces requests to a host by latency / this. At per_host itself the
        # spacing alone allows exactly per_host / latency, and every overhead (timers, the
        # answer's processing) comes off it: 74% of that at 200 ms. Paced a half faster,
        # the in-flight limit below is what binds: never more than per_host at once, and
        # the delay still rises with the host's latency and on its errors.
        "AUTOTHROTTLE_TARGET_CONCURRENCY": per_host * PACING_SLACK,
        "CONCURRENT_REQUESTS": max(crawl.concurrent_requests, per_host),
        "CONCURRENT_REQUESTS_PER_DOMAIN": per_host,
        # Bounded: time, size, depth. The request budget is RequestBudget's job.
        "DOWNLOAD_TIMEOUT": crawl.download_timeout,
        "DOWNLOAD_MAXSIZE": crawl.download_max_mb * _MIB,
        "DOWNLOAD_WARNSIZE": 0,
        "DEPTH_LIMIT": depth_limit(crawl, target),
        "REDIRECT_MAX_TIMES": REDIRECT_MAX_TIMES,
        # A body shorter than its Content-Length is an error, never a whole file.
        "DOWNLOAD_FAIL_ON_DATALOSS": True,
        # http and https only: a portal's link to file:, ftp:, s3: or data: is never fetched.
        "DOWNLOAD_HANDLERS": {"file": None, "ftp": None, "s3": None, "data": None},
        # Where this target's requests may go (monitor.crawl.ssrf.AddressGuard).
        PERMISSION_SETTING: permission.as_setting(),
        # Breadth first: index pages before the deep ones, so a spent budget loses the least.
        "DEPTH_PRIORITY": 1,
        "SCHEDULER_DISK_QUEUE": "scrapy.squeues.PickleFifoDiskQueue",
        "SCHEDULER_MEMORY_QUEUE": "scrapy.squeues.FifoMemoryQueue",
        # No listening ports, no files: the telnet console and the remote-control
        # HTTP server (which runs Python code it is sent) are off.
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        "HTTPCACHE_ENABLED": False,
        "JOBDIR": None,
        "FEEDS": {},
        # Logs go through Python logging (monitor.logs configures it); no Scrapy
        # log file or handler, no stats dump per poll (CrawlService logs a summary).
        "LOG_FILE": None,
        "LOG_STDOUT": False,
        "STATS_DUMP": False,
        # Use whichever reactor the process installed (monitor.scheduler's default,
        # or asyncio's): the crawler needs no asyncio-only feature.
        "TWISTED_REACTOR": None,
        "ITEM_PIPELINES": {
            "monitor.crawl.fetch.FetchPipeline": 100,
            "monitor.crawl.tableau.TableauPipeline": 200,
        },
        # What the target's Tableau views may offer, and sessions per Tableau host.
        "LEAKMON_TABLEAU": target.tableau.model_dump(),
        # Scrapy's depth limit, but the next page of a listing or a sitemap is not a hop.
        "SPIDER_MIDDLEWARES": {
            "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
            # A warning for spider authors who copy response.meta; leakmon's spiders are
            # its own and tested, and it saw every item of every poll.
            "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware": None,
            "monitor.crawl.depth.HopDepth": 900,
            # Before the depth and duplicate checks see the link: ?sid=... is not a new page.
            "monitor.crawl.sessions.SessionIds": 950,
        },
        "DOWNLOADER_MIDDLEWARES": {
            "monitor.crawl.guard.PollGuard": 10,
            # Before the offsite filter (50) and robots.txt (100): a refused request
            # costs nothing, and dont_filter does not get past it.
            "monitor.crawl.ssrf.AddressGuard": 40,
            # Just inside RetryMiddleware (550): it sees a 429 first and waits as asked.
            "monitor.crawl.ratelimit.RetryAfter": 560,
            # Just after Scrapy's robots.txt middleware (100), which reads the delay first.
            "monitor.crawl.crawldelay.CrawlDelay": 110,
            # Just inside MetaRefreshMiddleware (580), which resolves <base href> first.
            "monitor.crawl.basehref.UsableBase": 585,
            "monitor.crawl.statuses.StatusMetrics": 980,
            "monitor.crawl.budget.RequestBudget": 990,
            # Its byte counts (a request's whole HTTP text rebuilt, per file, per poll)
            # are read by nothing: StatusMetrics counts what the operator sees.
            "scrapy.downloadermiddlewares.stats.DownloaderStats": None,
        },
        # None of Scrapy's own extensions: its stats, log counts, "Crawled N pages" lines
        # and memory checks are read by nothing here (CrawlService logs a summary, the
        # daemon has its own metrics), yet each listened to every file's signals; the
        # telnet console and remote control were off but still imported (aiohttp, 9 MB).
        "EXTENSIONS_BASE": {},
        "EXTENSIONS": {
            "monitor.crawl.probe.HeadersProbe": 100,
            # The files the last poll's budget cut off are fetched first: a large site rotates.
            "monitor.crawl.carry.CarryOver": 200,
            # AutoThrottle that lets the 304s of unchanged files lower its delay.
            "monitor.crawl.throttle.ConditionalThrottle": 0,
        },
    }


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
