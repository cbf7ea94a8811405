"""Redirect loops and link traps: redirects, depth, the request budget and session-id stripping."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from scrapy import Request

from monitor.crawl.sessions import SessionIds, without_session_ids
from monitor.crawl.settings import REDIRECT_MAX_TIMES

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.timeout(180)

BUDGET = 60


@pytest.fixture(scope="module")
def run(scenario: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return scenario("tests.crawl.hostile_scenarios:loops")


def test_a_start_url_in_a_redirect_loop_makes_the_poll_incomplete(run: dict[str, Any]) -> None:
    assert run["ok"]["loop-start"] is False
    assert run["fetches"]["loop-start"] == {"3xx": 2.0}  # a -> b -> a: the repeat is dropped


def test_an_endless_redirect_chain_stops_at_redirect_max_times(run: dict[str, Any]) -> None:
    assert run["ok"]["chain-start"] is False
    assert run["fetches"]["chain-start"] == {"3xx": float(REDIRECT_MAX_TIMES + 1)}


def test_a_file_that_redirects_forever_is_a_fetch_error(run: dict[str, Any]) -> None:
    errors = run["polls"]["links"]["errors"]
    assert [(e["url"].rsplit("/", 1)[1], e["error"]) for e in errors] == [
        ("chain.csv", "too many redirects (a loop?)")
    ]


def test_loops_among_links_are_bounded_and_make_the_poll_incomplete(run: dict[str, Any]) -> None:
    # /chain and /data/chain.csv redirect forever: each stops after REDIRECT_MAX_TIMES.
    assert run["hits"]["/data/chain.csv"] == REDIRECT_MAX_TIMES + 1
    assert run["hits"]["/chain"] == 2 * (REDIRECT_MAX_TIMES + 1)  # links and chain-start
    # The pages /loop/a and /chain were never read: what they link is unseen, not gone.
    assert run["ok"]["links"] is False
    assert [u.rsplit("/", 1)[1] for u in run["polls"]["links"]["files"]] == ["ok.csv"]


def test_an_endless_calendar_is_bounded_by_depth(run: dict[str, Any]) -> None:
    # max_depth 3: the start month and three hops each way (a hop reaches two months).
    assert run["ok"]["cal-deep"] is True
    assert run["fetches"]["cal-deep"] == {"2xx": 7.0}


def test_an_endless_calendar_is_bounded_by_the_request_budget(run: dict[str, Any]) -> None:
    assert run["ok"]["calendar"] is False  # max_depth 50: the budget ran out first
    assert run["fetches"]["calendar"] == {"2xx": float(BUDGET)}
    assert run["took"]["calendar"] < 30


def test_session_id_links_are_one_page(run: dict[str, Any]) -> None:
    assert run["hits"]["/s/"] == 1
    assert run["ok"]["sessions"] is True
    assert run["fetches"]["sessions"] == {"2xx": 2.0}  # the page and its file


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://d.gov/s/?sid=9f2c&page=2", "https://d.gov/s/?page=2"),
        ("https://d.gov/s/;jsessionid=A1B2?x=1", "https://d.gov/s/?x=1"),
        ("https://d.gov/s;JSESSIONID=A1B2/next", "https://d.gov/s/next"),
        ("https://d.gov/?PHPSESSID=abc", "https://d.gov/"),
        ("https://d.gov/?CFID=1&CFTOKEN=2&q=roads", "https://d.gov/?q=roads"),
        ("https://d.gov/data?id=7", "https://d.gov/data?id=7"),
        ("https://d.gov/data?side=left&sido=2", "https://d.gov/data?side=left&sido=2"),
        ("https://d.gov/a;b=c", "https://d.gov/a;b=c"),
    ],
)
def test_without_session_ids(url: str, expected: str) -> None:
    assert without_session_ids(url) == expected


def test_only_followed_requests_are_rewritten() -> None:
    out = list(
        SessionIds().process_spider_output(
            None,  # type: ignore[arg-type]
            [Request("https://d.gov/s/?sid=1"), {"url": "https://d.gov/f.csv?sid=1"}],
        )
    )
    assert out[0].url == "https://d.gov/s/"
    assert out[1] == {"url": "https://d.gov/f.csv?sid=1"}  # an item keeps its URL
