"""The request budget keeps the carried files' share, but never from the crawl's first pages."""

from __future__ import annotations

from typing import Any

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest

from monitor.crawl.budget import RequestBudget
from monitor.crawl.items import API_REQUEST
from monitor.crawl.outcomes import FETCH_META, NEW_FILE_META
from monitor.crawl.poll import PollState
from monitor.metrics import Metrics
from tests.crawl.recording import RecordingHooks

BASE = "http://127.0.0.1:1/"
CARRIED = [f"{BASE}old/f{i}.csv" for i in range(20)]


def _budget(size: int = 5) -> RequestBudget:
    """A budget of ``size`` requests with 20 files carried over: more than it can hold."""
    state = PollState(
        "t", RecordingHooks(), Metrics(), budget=size, max_bytes=1, file_extensions=()
    )
    state.carry_pending.update(CARRIED)
    return RequestBudget(state)


def _sent(budget: RequestBudget, url: str, **meta: Any) -> bool:
    try:
        budget.process_request(Request(url, meta=meta))
    except IgnoreRequest:
        return False
    return True


def test_a_catalogues_first_api_page_is_sent_though_carried_files_claim_the_budget() -> None:
    # Its URL is not a start URL: the walk's first page, or the change feed's.
    budget = _budget()
    assert _sent(budget, f"{BASE}api/3/action/package_search?rows=100", **{API_REQUEST: True})
    assert budget.state.requests == 1


def test_a_start_page_and_its_redirect_are_sent_though_carried_files_claim_the_budget() -> None:
    budget = _budget()
    assert _sent(budget, BASE)
    assert _sent(budget, f"{BASE}home", redirect_urls=[BASE])


def test_a_linked_page_waits_behind_the_carried_files() -> None:
    budget = _budget()
    assert not _sent(budget, f"{BASE}datasets/page-2", depth=1)
    assert budget.state.budget_exhausted


def test_a_file_fetched_before_waits_behind_the_carried_files() -> None:
    budget = _budget()
    assert not _sent(budget, f"{BASE}new/known.csv", depth=1, **{FETCH_META: True})


def test_a_file_never_fetched_before_goes_ahead_of_the_carried_files() -> None:
    budget = _budget()
    meta = {FETCH_META: True, NEW_FILE_META: True}
    assert _sent(budget, f"{BASE}new/applicants.csv", depth=1, **meta)


def test_carried_files_are_sent_until_the_budget_is_spent() -> None:
    budget = _budget(size=3)
    sent = [_sent(budget, url, **{FETCH_META: True}) for url in CARRIED[:4]]
    assert sent == [True, True, True, False]


@pytest.mark.parametrize("meta", [{}, {API_REQUEST: True}])
def test_a_spent_budget_drops_even_first_pages(meta: dict[str, Any]) -> None:
    budget = _budget(size=1)
    assert _sent(budget, BASE)
    assert not _sent(budget, f"{BASE}api/3/action/package_search", **meta)
