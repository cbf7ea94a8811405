"""What a poll found, checked and could not check, with why: the poll's coverage."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from monitor.crawl.poll import OUTCOME_STATES, PollState
from monitor.metrics import Metrics
from monitor.models import COVERAGE_STATES, NOT_CHECKED_STATES, Coverage, utcnow
from tests.crawl.recording import RecordingHooks

BASE = "http://127.0.0.1:1/"


def _state() -> PollState:
    state = PollState("t", RecordingHooks(), Metrics(), budget=10, max_bytes=1, file_extensions=())
    state.close_reason = "finished"
    return state


def test_every_fetch_outcome_has_a_coverage_state() -> None:
    assert set(OUTCOME_STATES.values()) <= set(COVERAGE_STATES)
    # Every way FileFetch can end but "not a file" (which is no resource at all).
    assert {"new_or_changed", "unchanged", "gone", "over_budget", "robots", "refused"} <= set(
        OUTCOME_STATES
    )


def test_everything_checked_is_complete() -> None:
    state = _state()
    state.resource(BASE + "a.csv", "checked")
    state.resource(BASE + "b.csv", "unchanged")
    coverage = state.coverage()
    assert coverage.verdict == "complete"
    assert coverage.why is None
    assert coverage.incomplete_since is None
    assert (coverage.discovered, coverage.not_checked) == (2, 0)
    assert "coverage 2 found: 1 checked, 1 unchanged" in state.summary(1.0)
    assert state.summary(1.0).startswith("poll complete")


@pytest.mark.parametrize("reason", NOT_CHECKED_STATES)
def test_anything_not_checked_makes_the_poll_incomplete_with_its_reason(reason: str) -> None:
    state = _state()
    state.resource(BASE + "a.csv", "checked")
    state.resource(BASE + "b.csv", reason, "why it was not")
    coverage = state.coverage()
    assert coverage.verdict == "incomplete"
    assert coverage.why == "1 of 2 resources not checked"
    assert coverage.counts[reason] == 1
    assert coverage.notes == (f"{reason} {BASE}b.csv: why it was not",)
    assert state.summary(1.0).startswith("poll INCOMPLETE")
    assert state.incomplete() is None  # the listing was whole: gone files may still resolve


def test_spiders_report_what_they_found_but_could_not_report() -> None:
    state = _state()
    spider = SimpleNamespace(
        next_cursor=None,
        progress=(3, 3),
        failures=[],
        unchecked={BASE + "rest/services/x/FeatureServer": ("unsupported", "an Esri service")},
    )
    state.take_walk(spider)
    assert state.coverage().counts["unsupported"] == 1


def test_a_fetch_that_never_ended_is_an_error() -> None:
    state = _state()
    state.resource(BASE + "a.csv", "found")
    coverage = state.coverage()
    assert coverage.counts["error"] == 1
    assert coverage.verdict == "incomplete"


def test_a_walk_slice_with_everything_checked_is_partial() -> None:
    state = PollState(
        "t", RecordingHooks(), Metrics(), budget=10, max_bytes=1, file_extensions=(), cursor="3"
    )
    state.close_reason = "finished"
    state.take_walk(SimpleNamespace(next_cursor="6", progress=(6, 10), failures=[]))
    state.resource(BASE + "a.csv", "checked")
    assert state.coverage().verdict == "partial"


def test_a_failed_api_page_is_an_unchecked_resource() -> None:
    state = _state()
    state.page_failed(BASE + "api/3/action/package_search", "HTTP 500", start=True, kind="API page")
    state.page_failed(BASE + "data.json", "Forbidden by robots.txt", start=True)
    coverage = state.coverage()
    assert (coverage.counts["error"], coverage.counts["robots"]) == (1, 1)
    assert coverage.verdict == "incomplete"


def test_incomplete_since_is_carried_until_a_complete_poll() -> None:
    earlier = utcnow() - dt.timedelta(hours=5)
    state = _state()
    state.resource(BASE + "a.csv", "budget")
    assert state.coverage(earlier).incomplete_since == earlier
    assert _state().coverage(earlier).incomplete_since is None


def test_coverage_checks_itself_and_round_trips() -> None:
    counts = dict.fromkeys(COVERAGE_STATES, 0)
    with pytest.raises(ValueError, match="why"):
        Coverage("t", utcnow(), counts, "incomplete")
    with pytest.raises(ValueError, match="counts"):
        Coverage("t", utcnow(), {"checked": 1}, "complete")
    with pytest.raises(ValueError, match="timezone"):
        Coverage("t", dt.datetime(2026, 1, 1), counts, "complete")
    coverage = Coverage("t", utcnow(), counts | {"robots": 2}, "incomplete", "2 not", ("x",))
    assert Coverage.from_dict(coverage.to_dict()) == coverage


def test_a_page_robots_txt_disallows_is_counted_not_silent() -> None:
    from scrapy import Request
    from scrapy.exceptions import IgnoreRequest

    from monitor.crawl.guard import PollGuard

    state = _state()
    page = Request(BASE + "private/list.html", meta={"depth": 1})
    PollGuard(state).process_exception(page, IgnoreRequest("Forbidden by robots.txt"))
    assert state.failures == []  # a page robots.txt keeps us from is no failed page
    assert state.coverage().counts["robots"] == 1


def test_robots_ignore_is_logged_at_start_and_thresholds_are_exported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from twisted.internet.task import Clock

    from monitor.config import Settings
    from monitor.crawl import CrawlService

    targets = [
        {"kind": "ckan", "name": "own", "start_urls": [BASE], "robots": "ignore"},
        {"kind": "ckan", "name": "other", "start_urls": [BASE], "coverage_alert_after": "6h"},
    ]
    settings = Settings.model_validate({"targets": targets})
    metrics = Metrics()
    service = CrawlService(settings, RecordingHooks(), metrics, clock=Clock())
    with caplog.at_level("WARNING"):
        service.start()
    service.stop()
    assert [r.getMessage() for r in caplog.records if "robots: ignore" in r.getMessage()] == [
        "target=own robots: ignore: its robots.txt is not read (rules and Crawl-Delay);"
        " only for a portal whose operator allows it"
    ]
    after = "leakmon_coverage_alert_after_seconds"
    assert metrics.registry.get_sample_value(after, {"target": "own"}) == 86400
    assert metrics.registry.get_sample_value(after, {"target": "other"}) == 6 * 3600
    since = "leakmon_coverage_incomplete_since_timestamp_seconds"
    assert metrics.registry.get_sample_value(since, {"target": "own"}) == 0
