"""A finished poll hands its URLs to the daemon and keeps no per-file records of its own.

A finished poll's state is still referenced after its poll (by its crawler, until the
garbage collector's next full pass; see ``PollState.release``): what it held per file
would be held twice while the next poll runs.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from monitor.config import Settings
from monitor.crawl import CrawlService
from monitor.crawl.poll import PollState
from monitor.metrics import Metrics
from tests.crawl.recording import RecordingHooks

if TYPE_CHECKING:
    from monitor.models import Coverage

BASE = "http://127.0.0.1:1/"
URLS = [f"{BASE}f{i}.csv" for i in range(50)]


class _Hooks(RecordingHooks):
    """Keeps the very ``seen`` set the daemon is given."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] | None = None
        self.coverage: Coverage | None = None

    def on_coverage(self, coverage: Coverage) -> None:
        self.coverage = coverage

    def on_poll_done(self, target: str, seen: set[str], ok: bool) -> None:
        self.seen = seen


def _finished_poll() -> tuple[PollState, _Hooks, set[str], CrawlService]:
    settings = Settings.model_validate(
        {"targets": [{"kind": "html", "name": "t", "start_urls": [BASE]}]}
    )
    hooks = _Hooks()
    service = CrawlService(settings, hooks, Metrics())
    state = PollState("t", hooks, Metrics(), budget=100, max_bytes=1, file_extensions=(".csv",))
    state.close_reason = "finished"
    for url in URLS[:-1]:
        state.seen.add(url)
        state.resource(url, "unchanged")
    state.seen.add(URLS[-1])
    state.resource(URLS[-1], "budget", "request budget")  # carried over to the next poll
    state.found[URLS[-1]] = {"portal": "html", "dataset": None, "title": "f", "referer": BASE}
    seen = state.seen
    service._finish(True, state, time.monotonic())
    return state, hooks, seen, service


def test_a_finished_poll_hands_its_seen_set_over_without_a_copy() -> None:
    _, hooks, seen, _ = _finished_poll()
    assert hooks.seen is seen
    assert hooks.seen == set(URLS)


def test_a_finished_poll_keeps_no_per_file_records() -> None:
    state, hooks, _, service = _finished_poll()
    held: dict[str, Any] = {
        "seen": state.seen,
        "resources": state.resources,
        "reasons": state.reasons,
        "found": state.found,
        "carry_pending": state.carry_pending,
    }
    assert {name: len(v) for name, v in held.items()} == dict.fromkeys(held, 0)
    # What the poll reported was taken from the records first.
    assert hooks.coverage is not None
    assert hooks.coverage.counts["unchanged"] == len(URLS) - 1
    assert hooks.coverage.counts["budget"] == 1
    assert [e["url"] for e in service.carry("t")] == [URLS[-1]]
