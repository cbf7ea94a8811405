"""Polls that cannot see the whole portal say so (ok=False), so no file is taken for gone."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest

from tests.crawl.conftest import hooks, paths

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def run(scenario: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return scenario("failures")


def _done(run: dict[str, Any], target: str) -> dict[str, Any]:
    done = hooks(run["events"], "on_poll_done", target)
    assert len(done) == 1
    return done[0]


def _files(run: dict[str, Any], target: str) -> list[str]:
    return sorted(paths([e["url"] for e in hooks(run["events"], "on_file", target)], run["base"]))


def test_start_url_that_is_down_gives_ok_false(run: dict[str, Any]) -> None:
    assert run["ok"]["down"] is False
    done = _done(run, "down")
    assert done["ok"] is False
    assert done["seen"] == []
    assert run["fetches"]["down"] == {"error": 6.0}  # robots.txt and the page, each tried 3 times


def test_start_url_answering_500_gives_ok_false(run: dict[str, Any]) -> None:
    assert _done(run, "broken")["ok"] is False
    assert run["fetches"]["broken"]["5xx"] == 3  # retried, then given up


def test_start_url_disallowed_by_robots_gives_ok_false(run: dict[str, Any]) -> None:
    assert _done(run, "robots")["ok"] is False
    assert "/private/start/" not in {h["path"] for h in run["hits"]}


def test_failing_page_makes_the_poll_incomplete_but_files_still_arrive(run: dict[str, Any]) -> None:
    done = _done(run, "flaky")
    assert done["ok"] is False
    assert paths(done["seen"], run["base"]) == ["/data/a.csv", "/data/d.csv"]
    assert _files(run, "flaky") == ["/data/a.csv", "/data/d.csv"]


def test_max_depth_zero_reads_only_the_start_pages(run: dict[str, Any]) -> None:
    done = _done(run, "shallow")
    assert done["ok"] is True
    assert paths(done["seen"], run["base"]) == ["/shallow/s.csv"]
    assert "/shallow/next/" not in {h["path"] for h in run["hits"]}


def test_request_budget_bounds_the_poll_and_marks_it_incomplete(run: dict[str, Any]) -> None:
    done = _done(run, "budget")
    assert done["ok"] is False
    assert len(done["seen"]) == 10  # every link was seen on the page ...
    assert len(_files(run, "budget")) == 2  # ... but robots.txt, the page and 2 files used it up
    assert run["fetches"]["budget"] == {"2xx": 4.0}
    assert not hooks(run["events"], "on_fetch_error", "budget")


def test_no_file_is_requested_twice_within_a_poll(run: dict[str, Any]) -> None:
    many = Counter(h["path"] for h in run["hits"] if h["path"].startswith("/many/"))
    assert many["/many/"] == 1
    assert max(v for k, v in many.items() if k != "/many/") == 1
