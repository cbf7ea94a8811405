"""What one poll of one target shares between the crawl's plugins, and whether it saw everything."""

from __future__ import annotations

import logging
import weakref
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from scrapy.exceptions import NotConfigured

if TYPE_CHECKING:
    from collections.abc import Callable

    from scrapy.crawler import Crawler

    from monitor.crawl.hooks import Hooks
    from monitor.metrics import Metrics
    from monitor.models import DownloadJob

__all__ = ["PollState", "attach", "state_of"]

logger = logging.getLogger(__name__)


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
        offload: cluster mode: queues a found file on the shared frontier (blocking, so
            called in a thread) instead of downloading it here; returns False when the
            URL was queued already.
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
    offload: Callable[[DownloadJob], bool] | None = None

    def __post_init__(self) -> None:
        # Until a spider says otherwise, a walk that made no progress resumes where it was.
        if self.next_cursor is None:
            self.next_cursor = self.cursor

    def page_failed(self, url: str, why: str, start: bool, kind: str | None = None) -> None:
        """Record a page the crawl could not read, so the poll is not taken as complete."""
        kind = kind or ("start URL" if start else "page")
        self.failures.append(f"{kind} {url}: {why}")
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
        why = self.incomplete()
        if why is None:
            verdict = "complete"
        else:
            verdict = "partial" if self.problem() is None else "INCOMPLETE"
        files = ", ".join(f"{k}={v}" for k, v in sorted(self.files.items())) or "none fetched"
        walk = (
            f", {self.progress[0]} of {self.progress[1]} datasets walked" if self.progress else ""
        )
        return (
            f"poll {verdict} in {elapsed:.1f} s: {self.requests} requests,"
            f" {len(self.seen)} files linked ({files}){walk}"
            + ("" if why is None else f"; unseen files are not taken as gone because {why}")
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
