"""How a poll learns of a catalogue walk, judges API pages, and waits out rate limits.

Plain objects, no reactor: the crawl-level behaviour is in ``test_*_crawl.py``.
"""

from __future__ import annotations

import asyncio
import email.utils
from types import SimpleNamespace
from typing import Any

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest, StopDownload
from scrapy.http import Response
from scrapy.http.headers import Headers
from twisted.python.failure import Failure

from monitor.config import CrawlConfig
from monitor.crawl.guard import PollGuard
from monitor.crawl.items import API_REQUEST
from monitor.crawl.poll import PollState
from monitor.crawl.probe import HeadersProbe
from monitor.crawl.ratelimit import RetryAfter, retry_after
from monitor.metrics import Metrics
from tests.crawl.recording import RecordingHooks

URL = "http://127.0.0.1/api/3/action/package_search?start=4"


def _state(cursor: str | None = None) -> PollState:
    state = PollState(
        "t", RecordingHooks(), Metrics(), budget=10, max_bytes=1, file_extensions=(), cursor=cursor
    )
    state.close_reason = "finished"
    return state


def test_max_datasets_per_poll_defaults_to_2000() -> None:
    assert CrawlConfig().max_datasets_per_poll == 2000
    with pytest.raises(ValueError, match="max_datasets_per_poll"):
        CrawlConfig(max_datasets_per_poll=0)


def test_whole_walk_in_one_poll_is_complete() -> None:
    state = _state()
    state.take_walk(SimpleNamespace(next_cursor=None, progress=(10, 10), failures=[]))
    assert state.incomplete() is None
    assert state.progress == (10, 10)
    assert "10 of 10 datasets walked" in state.summary(0.5)


@pytest.mark.parametrize(("cursor", "after"), [(None, "3"), ("3", "6"), ("9", None)])
def test_poll_that_starts_or_stops_mid_walk_is_partial_not_a_problem(
    cursor: str | None, after: str | None
) -> None:
    state = _state(cursor)
    state.take_walk(SimpleNamespace(next_cursor=after, progress=(6, 10), failures=[]))
    assert state.problem() is None
    assert state.incomplete() == "the catalogue is walked across polls: 6 of 10 datasets"
    assert state.next_cursor == after
    assert state.summary(1.0).startswith("poll partial in 1.0 s")


def test_spider_failures_make_the_poll_incomplete() -> None:
    state = _state()
    state.take_walk(SimpleNamespace(next_cursor=None, progress=None, failures=["API page x: bad"]))
    assert state.problem() == "API page x: bad"
    assert state.summary(0.1).startswith("poll INCOMPLETE")


def test_spider_without_a_walk_leaves_the_state_alone() -> None:
    state = _state("5")
    state.take_walk(SimpleNamespace())  # the html spider
    assert (state.next_cursor, state.progress, state.failures) == ("5", None, [])


@pytest.mark.parametrize(
    ("walk", "cursor", "progress"),
    [
        ({"next_cursor": 7, "progress": (1, 2)}, None, (1, 2)),
        ({"next_cursor": "x", "progress": (1, -2)}, "x", None),
        ({"progress": [1, 2]}, None, None),
        ({"progress": ("1", 2)}, None, None),
    ],
)
def test_malformed_walk_attributes_are_not_trusted(
    walk: dict[str, Any], cursor: str | None, progress: tuple[int, int] | None
) -> None:
    state = _state()
    state.take_walk(SimpleNamespace(**walk))
    assert (state.next_cursor, state.progress) == (cursor, progress)


def test_guard_takes_a_404_of_an_api_page_as_a_failure() -> None:
    state = _state()
    guard = PollGuard(state)
    page = Request(URL, meta={"depth": 3, API_REQUEST: True})
    guard.process_response(page, Response(URL, status=404))
    assert state.failures == [f"API page {URL}: HTTP 404"]


def test_guard_leaves_statuses_a_spider_handles_to_the_spider() -> None:
    state = _state()
    guard = PollGuard(state)
    probe = Request(URL, meta={API_REQUEST: True, "handle_httpstatus_list": [404]})
    guard.process_response(probe, Response(URL, status=404))
    assert state.failures == []
    guard.process_response(probe, Response(URL, status=500))
    assert len(state.failures) == 1


def test_guard_counts_a_refused_api_page() -> None:
    state = _state()
    PollGuard(state).process_exception(
        Request(URL, meta={"depth": 2, API_REQUEST: True}), IgnoreRequest("robots.txt")
    )
    assert len(state.failures) == 1


def test_guard_counts_a_spider_callback_that_raised() -> None:
    state = _state()
    spider = SimpleNamespace(name="ckan")
    PollGuard(state).spider_error(Failure(KeyError("result")), Response(URL), spider)  # type: ignore[arg-type]
    assert "the spider failed on it" in state.failures[0]


def test_probe_reads_api_answers_whole() -> None:
    probe = HeadersProbe()
    json_headers = Headers({"Content-Type": "application/json"})
    probe.headers_received(json_headers, 10, Request(URL, meta={API_REQUEST: True}), None)  # type: ignore[arg-type]
    with pytest.raises(StopDownload):
        probe.headers_received(json_headers, 10, Request(URL), None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (b"7", 7.0),
        (b" 0 ", 0.0),
        (email.utils.formatdate(1_000_030, usegmt=True).encode(), 30.0),
        (email.utils.formatdate(999_000, usegmt=True).encode(), 0.0),  # already past
        (b"soon", None),
        (b"-5", None),
        (b"", None),
        (None, None),
    ],
)
def test_retry_after(value: bytes | None, seconds: float | None) -> None:
    assert retry_after(value, now=1_000_000) == seconds


def _limited(retry_after: str | None, **meta: Any) -> tuple[Request, Response]:
    headers = {"Retry-After": retry_after} if retry_after else {}
    return Request(URL, meta=meta), Response(URL, status=429, headers=headers)


def test_rate_limit_longer_than_the_timeout_is_not_retried() -> None:
    request, response = _limited("3600")
    out = asyncio.run(
        RetryAfter(_state(), max_wait=60, max_retries=2).process_response(request, response)
    )
    assert out is response
    assert request.meta["dont_retry"] is True


@pytest.mark.parametrize(
    ("header", "meta"),
    [(None, {}), ("1", {"retry_times": 2}), ("1", {"dont_retry": True})],
)
def test_rate_limit_without_a_due_retry_is_not_waited_for(
    header: str | None, meta: dict[str, Any]
) -> None:
    request, response = _limited(header, **meta)
    middleware = RetryAfter(_state(), max_wait=60, max_retries=2)
    assert asyncio.run(middleware.process_response(request, response)) is response
    assert request.meta.get("dont_retry") is meta.get("dont_retry")
