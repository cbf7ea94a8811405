"""Scrapy settings built from leakmon's config: polite, bounded, no open ports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from monitor.config import CrawlConfig, TargetConfig
from monitor.crawl.settings import allowed_domains, depth_limit, robots_token, scrapy_settings

REPO = Path(__file__).resolve().parents[2]


def _target(**overrides: object) -> TargetConfig:
    return TargetConfig.model_validate(
        {"name": "t", "start_urls": ["https://data.city.gov/"]} | overrides
    )


@pytest.mark.parametrize(
    ("start_urls", "expected"),
    [
        (["https://data.city.gov/catalog"], ["city.gov"]),
        (["https://opendata.example.co.uk/"], ["example.co.uk"]),
        (["http://127.0.0.1:8080/"], ["127.0.0.1"]),
        (["http://localhost:8080/"], ["localhost"]),
        (["https://a.example.org/", "https://b.example.org/x"], ["example.org"]),
        (["https://a.example.org/", "https://data.city.gov/"], ["example.org", "city.gov"]),
    ],
)
def test_allowed_domains_default_to_the_start_urls_registered_domains(
    start_urls: list[str], expected: list[str]
) -> None:
    assert allowed_domains(_target(start_urls=start_urls)) == expected


def test_configured_allowed_domains_win() -> None:
    target = _target(allowed_domains=["Files.City.gov.", "cdn.example.net"])
    assert allowed_domains(target) == ["files.city.gov", "cdn.example.net"]


@pytest.mark.parametrize(
    ("crawl_depth", "target_depth", "expected"),
    [(3, None, 3), (3, 1, 1), (3, 0, -1), (0, None, -1), (5, 7, 7)],
)
def test_depth_limit(crawl_depth: int, target_depth: int | None, expected: int) -> None:
    crawl = CrawlConfig(max_depth=crawl_depth)
    assert depth_limit(crawl, _target(max_depth=target_depth)) == expected


@pytest.mark.parametrize(
    ("agent", "token"),
    [
        ("leakmon/0.1 (+https://github.com/leakmon/leakmon; open-data leak monitor)", "leakmon"),
        ("CityBot (+mailto:ops@example.org)", "CityBot"),
        ("   ", "leakmon"),
    ],
)
def test_robots_token(agent: str, token: str) -> None:
    assert robots_token(agent) == token


def test_scrapy_settings_follow_the_crawl_config() -> None:
    crawl = CrawlConfig(
        user_agent="leakmon/9 (+https://example.org)",
        obey_robots_txt=True,
        autothrottle=False,
        concurrent_requests=3,
        download_timeout=12,
        download_max_mb=2,
    )
    s = scrapy_settings(crawl, _target(max_depth=2))
    assert s["USER_AGENT"] == "leakmon/9 (+https://example.org)"
    assert s["ROBOTSTXT_OBEY"] is True
    assert s["ROBOTSTXT_USER_AGENT"] == "leakmon"
    assert s["AUTOTHROTTLE_ENABLED"] is False
    assert s["CONCURRENT_REQUESTS"] == 3
    assert s["DOWNLOAD_TIMEOUT"] == 12
    assert s["DOWNLOAD_MAXSIZE"] == 2 * 1024 * 1024
    assert s["DEPTH_LIMIT"] == 2
    # Never more per host than in all: the per-host default (4) is cut to 3.
    assert s["CONCURRENT_REQUESTS_PER_DOMAIN"] == 3
    assert s["AUTOTHROTTLE_TARGET_CONCURRENCY"] == 4.5


def test_per_host_concurrency_is_autothrottles_target_and_a_target_may_raise_it() -> None:
    crawl = CrawlConfig(concurrent_requests=8, concurrent_requests_per_host=4)
    polite = scrapy_settings(crawl, _target())
    assert polite["CONCURRENT_REQUESTS_PER_DOMAIN"] == 4
    # AutoThrottle's delay is latency / target concurrency, paced a half faster than the
    # 4 in flight allow, so the in-flight limit binds (not 1 per round trip, Scrapy's default).
    assert polite["AUTOTHROTTLE_TARGET_CONCURRENCY"] == 6.0
    agreed = scrapy_settings(crawl, _target(concurrent_requests_per_host=16))
    assert agreed["CONCURRENT_REQUESTS_PER_DOMAIN"] == 16
    assert agreed["CONCURRENT_REQUESTS"] == 16
    assert agreed["AUTOTHROTTLE_TARGET_CONCURRENCY"] == 24.0


def test_no_listening_port_and_no_scrapy_log_file() -> None:
    s = scrapy_settings(CrawlConfig(), _target())
    assert s["TELNETCONSOLE_ENABLED"] is False
    assert s["REMOTE_CONTROL_ENABLED"] is False
    assert s["LOG_FILE"] is None
    assert s["TWISTED_REACTOR"] is None


def test_a_polls_crawler_runs_only_leakmons_extensions_and_never_imports_remote_control() -> None:
    # In a fresh interpreter: a crawler built from the settings, its extensions made.
    # Scrapy's own (stats, log counts, telnet, remote control) listened to every file's
    # signals or imported aiohttp (9 MB) while switched off.
    code = (
        "import sys\n"
        "from twisted.internet import reactor\n"
        "from scrapy.crawler import Crawler\n"
        "from monitor.config import CrawlConfig, TargetConfig\n"
        "from monitor.crawl.settings import scrapy_settings\n"
        "from spiders.html import HtmlSpider\n"
        "t = TargetConfig.model_validate({'name': 't', 'start_urls': ['https://data.city.gov/']})\n"
        "c = Crawler(HtmlSpider, scrapy_settings(CrawlConfig(), t))\n"
        "c._apply_settings()\n"
        "print(sorted(type(m).__module__ for m in c.extensions.middlewares))\n"
        "print('aiohttp' in sys.modules, 'scrapy.extensions.telnet' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr[-2000:]
    names, imported = out.stdout.strip().splitlines()
    # CarryOver and HeadersProbe stand down without a poll's state; Scrapy's would not.
    assert names == "['monitor.crawl.throttle']"
    assert imported == "False False"


def test_importing_the_crawler_installs_no_reactor() -> None:
    # The daemon chooses the reactor (monitor.scheduler); importing must not pick one.
    code = (
        "import sys, monitor.crawl, spiders.html;print('twisted.internet.reactor' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert out.stdout.strip() == "False"
