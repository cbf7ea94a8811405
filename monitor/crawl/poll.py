"""What one poll of one target shares between the crawl's plugins, and whether it saw everything."""

from __future__ import annotations

import logging
import weakref
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from scrapy.exceptions import NotConfigured

from monitor.models import CHECKED_STATES, COVERAGE_STATES, NOT_CHECKED_STATES, Coverage, utcnow

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable

    from scrapy.crawler import Crawler
    from twisted.internet.defer import Deferred

    from monitor.crawl.hooks import Hooks
    from monitor.metrics import Metrics
    from monitor.models import DownloadJob

__all__ = ["OUTCOME_STATES", "PollState", "attach", "state_of"]

logger = logging.getLogger(__name__)

#: The coverage state of each way a file fetch ends (``FileFetch`` outcomes).
OUTCOME_STATES = {
    "new_or_changed": "checked",
    "gone": "checked",
    "unchanged": "unchanged",
    "queued": "queued",
    "already_queued": "queued",
    "over_budget": "budget",
    "robots": "robots",
    "refused": "permission",
    "forbidden": "permission",
    "error": "error",
    "too_large": "error",
    "held": "error",  # could not be checked before; its retry is not due yet
}
#: "state url: why" lines kept per poll for ``leakmon status``: enough to act on, bounded.
_MAX_NOTES = 20


@dataclass(eq=False)
class PollState:
    """The state of one poll: built by ``CrawlService``, read by its Scrapy plugins.

    Attributes:
        target: the configured target's name.
        hooks: the daemon's callbacks.
        metrics: where fetch counts go.
        budget: how many HTTP requests this poll may send.
        max_bytes: the largest body downloaded.
        file_extensions: lower-case extensions (``.csv``) that mark a data file.
        parallel_files: how many file bodies may be downloading at once.
        seen: every file URL linked in this poll.
        requests: how many requests were sent so far.
        budget_exhausted: True once a request was dropped for the budget.
        failures: why the poll did not see the whole portal, one line per page.
        close_reason: Scrapy's reason for closing the spider (``finished`` is good).
        stopping: True when the service is shutting down.
        files: how file fetches ended, for the poll's summary line.
        cursor: where this poll's catalogue walk started (``None``: at the beginning).
        next_cursor: where the next poll's walk starts (``None``: at the beginning again).
        progress: (datasets walked so far in this pass, datasets the catalogue reports).
        offload: cluster mode: queues a found file on the shared frontier instead of
            downloading it here (``monitor.crawl.offers``, on the reactor thread); fires
            False when the URL was queued already.
        resources: every resource the poll found (file URLs, and the catalogue or API
            pages it could not read), with its coverage state (``COVERAGE_STATES``;
            ``found`` until its fetch ends).
        reasons: why each resource not checked was not, by URL.
        found: each file's provenance (``url``, ``portal``, ``dataset``, ``title``,
            ``referer``), by URL, so the files the budget cut off can be carried over.
        carry_in: files the last poll's budget cut off; fetched first in this poll
            (``monitor.crawl.carry``), so a site larger than the budget rotates.
        carry_pending: the carried files not yet requested; ``RequestBudget`` keeps
            their share of the budget for them.
    """

    target: str
    hooks: Hooks
    metrics: Metrics
    budget: int
    max_bytes: int
    file_extensions: tuple[str, ...]
    parallel_files: int = 4
    seen: set[str] = field(default_factory=set)
    requests: int = 0
    budget_exhausted: bool = False
    failures: list[str] = field(default_factory=list)
    close_reason: str | None = None
    stopping: bool = False
    files: Counter[str] = field(default_factory=Counter)
    cursor: str | None = None
    next_cursor: str | None = None
    progress: tuple[int, int] | None = None
    offload: Callable[[DownloadJob], Deferred[bool]] | None = None
    resources: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    found: dict[str, dict[str, str | None]] = field(default_factory=dict)
    carry_in: list[dict[str, str | None]] = field(default_factory=list)
    carry_pending: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        # Until a spider says otherwise, a walk that made no progress resumes where it was.
        if self.next_cursor is None:
            self.next_cursor = self.cursor
        self.carry_pending = {str(e["url"]) for e in self.carry_in if e.get("url")}

    def page_failed(self, url: str, why: str, start: bool, kind: str | None = None) -> None:
        """Record a page the crawl could not read, so the poll is not taken as complete."""
        kind = kind or ("start URL" if start else "page")
        self.failures.append(f"{kind} {url}: {why}")
        state = (
            "robots" if "robots.txt" in why else "budget" if "request budget" in why else "error"
        )
        self.resource(url, state, f"{kind}: {why}")
        logger.warning(
            "target=%s %s failed, poll is incomplete: %s: %s", self.target, kind, url, why
        )

    def take_walk(self, spider: object) -> None:
        """Read what a catalogue spider says of its walk when it closes.

        A spider that walks a catalogue across polls sets ``next_cursor`` (``str``
        or ``None``), ``progress`` (two ints) and ``failures`` (lines saying what
        it could not read, such as an API answer that is not JSON). A spider
        without these attributes (``html``) leaves the state as it was.
        """
        if hasattr(spider, "next_cursor"):
            after = getattr(spider, "next_cursor", None)
            if after is not None and not isinstance(after, str):
                logger.error(
                    "target=%s: spider's next_cursor %r is not a string", self.target, after
                )
                after = None
            self.next_cursor = after
        progress = getattr(spider, "progress", None)
        if (
            isinstance(progress, tuple)
            and len(progress) == 2
            and all(isinstance(n, int) and n >= 0 for n in progress)
        ):
            self.progress = (progress[0], progress[1])
        for why in getattr(spider, "failures", None) or ():
            self.failures.append(str(why))
            logger.warning("target=%s poll is incomplete: %s", self.target, why)
        unchecked = getattr(spider, "unchecked", None)
        for url, (state, why) in unchecked.items() if isinstance(unchecked, dict) else ():
            if state in NOT_CHECKED_STATES:
                self.resource(str(url), state, str(why))
            else:
                logger.error(
                    "target=%s: spider's unchecked state %r is unknown", self.target, state
                )

    def resource(self, url: str, state: str, why: str | None = None) -> None:
        """Record a resource the poll found and its coverage state (``found`` while fetching)."""
        if state != "found" and state not in COVERAGE_STATES:
            raise ValueError(f"unknown coverage state {state!r}")
        self.resources[url] = state
        if state in CHECKED_STATES:
            # Provenance is kept only for what may be carried over (a few hundred bytes
            # a file: at 100,000 files, tens of MB for the length of a poll).
            self.found.pop(url, None)
        if state in NOT_CHECKED_STATES:
            self.reasons[url] = why or state
        else:
            self.reasons.pop(url, None)

    def carry_out(self) -> list[dict[str, str | None]]:
        """Return the files the budget cut off in this poll, for the next poll to fetch first."""
        return [
            {**self.found.get(url, {}), "url": url}
            for url, state in self.resources.items()
            if state == "budget" and url in self.found  # files, not pages the budget dropped
        ]

    def release(self) -> set[str]:
        """Hand over the poll's ``seen`` and drop its per-file records, once it is summed up.

        A finished poll's state is not freed when its poll ends: the crawler, the
        spider and Scrapy's reference cycles keep it until the garbage collector's
        next full pass, often while the next poll runs. At 100,000 files its sets and
        dicts hold megabytes, so they are emptied here; ``seen`` goes to
        ``on_poll_done`` as it is (the daemon owns it from then on, no copy).
        """
        seen = self.seen
        self.seen = set()
        self.resources = {}
        self.reasons = {}
        self.found = {}
        self.carry_in = []
        self.carry_pending = set()
        return seen

    def forget(self, url: str) -> None:
        """Drop a link that turned out not to be a resource (an HTML page)."""
        self.resources.pop(url, None)
        self.reasons.pop(url, None)

    def counts(self) -> dict[str, int]:
        """Return how many resources are in each coverage state (a fetch never ended: error)."""
        counts = Counter(
            "error" if state == "found" else state for state in self.resources.values()
        )
        return {state: counts.get(state, 0) for state in COVERAGE_STATES}

    def coverage(self, since: dt.datetime | None = None) -> Coverage:
        """Return the poll's coverage; ``since``: when the target's coverage fell short before."""
        counts = self.counts()
        why = self.incomplete()
        missed = sum(counts[s] for s in NOT_CHECKED_STATES)
        if missed:
            short = f"{missed} of {sum(counts.values())} resources not checked"
            why = short if why is None else f"{short}; {why}"
        if why is None:
            verdict = "complete"
        elif self.problem() is None and not missed:
            verdict = "partial"
        else:
            verdict = "incomplete"
        now = utcnow()
        notes = tuple(
            f"{self.resources.get(url, 'error')} {url}: {reason}"
            for url, reason in list(self.reasons.items())[:_MAX_NOTES]
        )
        if self.resources and any(s == "found" for s in self.resources.values()):
            notes += ("error: some fetches never ended (the poll was stopped)",)
        short_since = None
        if verdict != "complete":
            short_since = since or now
        return Coverage(self.target, now, counts, verdict, why, notes[:_MAX_NOTES], short_since)

    def problem(self) -> str | None:
        """Return why the poll went wrong (stopped, budget, a failed page), or ``None``."""
        if self.stopping:
            return "the crawler was stopped"
        if self.budget_exhausted:
            return f"the request budget of {self.budget} ran out"
        if self.failures:
            more = f" and {len(self.failures) - 1} more" if len(self.failures) > 1 else ""
            return self.failures[0] + more
        if self.close_reason != "finished":
            return f"the crawl ended with reason {self.close_reason!r}"
        return None

    def partial(self) -> str | None:
        """Return why a healthy poll still saw only part of a catalogue, or ``None``.

        A catalogue too large for one poll (``crawl.max_datasets_per_poll``) is
        walked across several; a poll that started or stopped mid-walk has seen
        only its share, so unseen files must not be taken as gone.
        """
        if self.cursor is None and self.next_cursor is None:
            return None
        walked = f": {self.progress[0]} of {self.progress[1]} datasets" if self.progress else ""
        return f"the catalogue is walked across polls{walked}"

    def incomplete(self) -> str | None:
        """Return why the poll's ``seen`` cannot be trusted as complete, or ``None``."""
        return self.problem() or self.partial()

    def summary(self, elapsed: float) -> str:
        """Return the poll's one-line summary for the log."""
        coverage = self.coverage()
        why = coverage.why
        verdict = coverage.verdict if coverage.verdict != "incomplete" else "INCOMPLETE"
        files = ", ".join(f"{k}={v}" for k, v in sorted(self.files.items())) or "none fetched"
        walk = (
            f", {self.progress[0]} of {self.progress[1]} datasets walked" if self.progress else ""
        )
        return (
            f"poll {verdict} in {elapsed:.1f} s: {self.requests} requests,"
            f" {len(self.seen)} files linked ({files}){walk}; coverage {coverage.line()}"
            + ("" if why is None else f"; not complete because {why}")
        )


_STATES: weakref.WeakKeyDictionary[Crawler, PollState] = weakref.WeakKeyDictionary()


def attach(crawler: Crawler, state: PollState) -> None:
    """Give a crawler its poll state before it starts (plugins read it in ``from_crawler``)."""
    _STATES[crawler] = state


def state_of(crawler: Crawler) -> PollState:
    """Return the crawler's poll state.

    Raises:
        NotConfigured: the crawler was not started by ``CrawlService``, so the
            plugin asking switches itself off (Scrapy skips it).
    """
    try:
        return _STATES[crawler]
    except KeyError:
        raise NotConfigured("leakmon plugins run only in crawls started by CrawlService") from None
