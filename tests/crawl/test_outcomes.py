"""How the crawler names request kinds and download outcomes."""

from __future__ import annotations

import pytest
from scrapy import Request
from scrapy.exceptions import (
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from scrapy.http.headers import Headers

from monitor.crawl.outcomes import (
    FETCH_META,
    describe,
    is_page,
    is_page_request,
    is_too_large,
    status_class,
)
from monitor.crawl.poll import PollState
from monitor.metrics import Metrics
from tests.crawl.recording import RecordingHooks


@pytest.mark.parametrize(
    ("headers", "page"),
    [
        ({"Content-Type": "text/html; charset=utf-8"}, True),
        ({"Content-Type": "application/xhtml+xml"}, True),
        ({}, True),
        ({"Content-Type": "text/csv"}, False),
        ({"Content-Type": "application/octet-stream"}, False),
        (
            {"Content-Type": "text/html", "Content-Disposition": "attachment; filename=x.html"},
            False,
        ),
        ({"Content-Type": "text/html", "Content-Disposition": "inline"}, True),
        ({"Content-Disposition": 'ATTACHMENT; filename="x.csv"'}, False),
    ],
)
def test_is_page(headers: dict[str, str], page: bool) -> None:
    assert is_page(Headers(headers)) is page


def test_page_requests_are_neither_fetches_nor_robots() -> None:
    assert is_page_request(Request("http://127.0.0.1/"))
    assert not is_page_request(Request("http://127.0.0.1/a.csv", meta={FETCH_META: True}))
    assert not is_page_request(
        Request("http://127.0.0.1/robots.txt", meta={"dont_obey_robotstxt": True})
    )


@pytest.mark.parametrize(
    ("status", "label"),
    [
        (200, "2xx"),
        (206, "2xx"),
        (301, "3xx"),
        (304, "304"),
        (404, "4xx"),
        (503, "5xx"),
        (999, "error"),
    ],
)
def test_status_class(status: int, label: str) -> None:
    assert status_class(status) == label


@pytest.mark.parametrize(
    ("exc", "too_large"),
    [
        (DownloadCancelledError("Expected to receive 2000 bytes which is larger than ..."), True),
        (IgnoreRequest("Ignored response ... larger than the download max size (1)"), True),
        (IgnoreRequest("Forbidden by robots.txt"), False),
        (DownloadTimeoutError("Getting x took longer than 1 seconds."), False),
    ],
)
def test_is_too_large(exc: Exception, too_large: bool) -> None:
    assert is_too_large(exc) is too_large


def test_describe_names_the_failure() -> None:
    assert describe(DownloadTimeoutError("Getting x took longer than 5 seconds.")).startswith(
        "timeout: "
    )
    assert describe(DownloadConnectionRefusedError()) == "DownloadConnectionRefusedError"


def _state() -> PollState:
    return PollState("t", RecordingHooks(), Metrics(), budget=10, max_bytes=1, file_extensions=())


def test_poll_is_complete_only_when_finished_cleanly() -> None:
    state = _state()
    assert state.incomplete() is not None  # not closed yet
    state.close_reason = "finished"
    assert state.incomplete() is None
    state.page_failed("http://127.0.0.1/x", "HTTP 503", start=False)
    assert state.incomplete() == "page http://127.0.0.1/x: HTTP 503"


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"budget_exhausted": True}, "the request budget of 10 ran out"),
        ({"stopping": True}, "the crawler was stopped"),
        ({"close_reason": "shutdown"}, "the crawl ended with reason 'shutdown'"),
    ],
)
def test_poll_incomplete_reasons(change: dict[str, object], why: str) -> None:
    state = _state()
    state.close_reason = "finished"
    for key, value in change.items():
        setattr(state, key, value)
    assert state.incomplete() == why
