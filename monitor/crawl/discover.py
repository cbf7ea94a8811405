"""What leakmon would watch at a URL: the portal kind detected and every file found, unfetched.

``leakmon discover URL`` is the first thing a new user runs against their own
portal. It crawls exactly as a poll would (same spider, robots.txt, budget and
politeness) but downloads no file and scans nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.crawler import Crawler, CrawlerRunner
from twisted.internet import defer

from monitor.config import TargetConfig
from monitor.crawl.hooks import Validators
from monitor.crawl.poll import PollState, attach
from monitor.crawl.settings import allowed_domains, scrapy_settings
from monitor.metrics import Metrics

if TYPE_CHECKING:
    from monitor.config import Settings
    from monitor.models import Coverage, FetchedFile, ViewExposure

__all__ = ["Discovered", "Discovery", "detect_kind", "discover"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Discovered:
    """A file a poll would fetch."""

    url: str
    portal: str
    dataset: str | None
    title: str | None


@dataclass(frozen=True)
class Discovery:
    """The result of ``discover``."""

    url: str
    kind: str
    evidence: dict[str, str] = field(default_factory=dict)
    files: tuple[Discovered, ...] = ()
    incomplete: str | None = None


class _NoHooks:
    """Hooks for a crawl that fetches nothing: no file reaches them."""

    def validators(self, url: str, stored: Validators | None = None) -> Validators:
        return Validators()

    def room(self) -> None:
        return None  # nothing is scanned while detecting a portal's kind

    def on_file(self, fetched: FetchedFile) -> None:
        fetched.path.unlink(missing_ok=True)

    def on_unchanged(self, target: str, url: str) -> None:
        """Nothing to note."""

    def on_gone(self, target: str, url: str, status: int) -> None:
        """Nothing to note."""

    def on_fetch_error(self, target: str, url: str, error: str) -> None:
        """Nothing to note."""

    def on_exposure(self, exposure: ViewExposure) -> None:
        """Nothing to note."""

    def on_coverage(self, coverage: Coverage) -> None:
        """Nothing to note."""

    def on_poll_done(self, target: str, seen: set[str], ok: bool) -> None:
        """Nothing to note."""


def _crawler(
    settings: Settings, target: TargetConfig, spider: str, guarded: bool = True
) -> tuple[Crawler, PollState]:
    """Build a crawler; unguarded crawls (detection probes) skip the poll plugins."""
    from scrapy.spiderloader import SpiderLoader  # lazy import: only when crawling

    options = scrapy_settings(settings.crawl, target)
    options["ITEM_PIPELINES"] = {}  # discovery never downloads files
    loader = SpiderLoader(options_settings(options))
    crawler = Crawler(loader.load(spider), options)
    state = PollState(
        target=target.name,
        hooks=_NoHooks(),
        metrics=Metrics(),
        budget=settings.crawl.max_requests_per_poll,
        max_bytes=settings.crawl.download_max_mb * 1024 * 1024,
        file_extensions=tuple(e.lower() for e in settings.crawl.file_extensions),
    )
    if guarded:
        attach(crawler, state)
    return crawler, state


def options_settings(options: dict[str, Any]) -> Any:
    """Return Scrapy ``Settings`` for the loader (Any: Scrapy's settings object)."""
    from scrapy.settings import Settings as ScrapySettings  # lazy import

    return ScrapySettings(options)


@defer.inlineCallbacks
def detect_kind(settings: Settings, url: str) -> Any:
    """Return (kind, evidence) for a URL, as a Deferred (Any: inlineCallbacks' type)."""
    target = TargetConfig(name="discover", start_urls=[url], kind="detect")
    # Unguarded: a probe answering 404 is the expected "not this kind", not a failed page.
    crawler, _ = _crawler(settings, target, "detect", guarded=False)
    yield CrawlerRunner().crawl(
        crawler, target=target.name, start_urls=[url], allowed_domains=allowed_domains(target)
    )
    spider: Any = crawler.spider
    return spider.detected, dict(spider.evidence)


@defer.inlineCallbacks
def _discover(settings: Settings, url: str, kind: str | None) -> Any:
    evidence: dict[str, str] = {}
    if kind is None:
        kind, evidence = yield detect_kind(settings, url)
    target = TargetConfig(name="discover", start_urls=[url], kind=kind)
    crawler, state = _crawler(settings, target, kind)
    found: dict[str, Discovered] = {}

    def collect(item: Any) -> None:
        found.setdefault(
            item["url"],
            Discovered(
                item["url"], item.get("portal") or kind, item.get("dataset"), item.get("title")
            ),
        )

    crawler.signals.connect(collect, signal=signals.item_scraped)
    yield CrawlerRunner().crawl(
        crawler,
        target=target.name,
        start_urls=[url],
        allowed_domains=allowed_domains(target),
        file_extensions=list(settings.crawl.file_extensions),
        max_datasets=settings.crawl.max_datasets_per_poll,
        max_requests=settings.crawl.max_requests_per_poll,
    )
    state.close_reason = state.close_reason or "finished"
    return Discovery(url, kind, evidence, tuple(found.values()), state.incomplete())


def discover(settings: Settings, url: str, kind: str | None = None) -> Discovery:
    """Crawl ``url`` once without fetching files; blocking, once per process (the reactor)."""
    from twisted.internet import reactor as _reactor  # lazy import: installs the reactor

    reactor: Any = _reactor  # Any: Twisted types the global reactor as an interface
    outcome: list[Any] = []

    def run() -> None:
        d = _discover(settings, url, kind)
        d.addBoth(outcome.append)
        d.addBoth(lambda _: reactor.stop())

    reactor.callWhenRunning(run)
    reactor.run()
    result = outcome[0] if outcome else None
    if isinstance(result, Discovery):
        return result
    if result is not None and hasattr(result, "raiseException"):
        result.raiseException()
    raise RuntimeError(f"discovery of {url} did not finish")
