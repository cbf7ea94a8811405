"""One portal polled three times, end to end on loopback: what is found, fetched and reported.

The scenario runs once per reactor (Twisted's default, which the daemon installs,
and asyncio's, Scrapy's default) in a child process; each test reads its record.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest

from tests.crawl.conftest import hooks, paths
from tests.crawl.scenarios import UA

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.timeout(240)

FIRST_SEEN = [
    "/data/a.csv",
    "/data/b.xlsx",
    "/data/big.csv",
    "/data/plain.csv",
    "/data/removed.csv",
    "/data/stream.csv",
    "/export?format=csv",
    "/get/huge",
    "/get/report",
    "/private/secret.csv",
]


@pytest.fixture(scope="module", params=["default", "asyncio"])
def story(
    request: pytest.FixtureRequest, scenario: Callable[..., dict[str, Any]]
) -> dict[str, Any]:
    return scenario("story", request.param)


def _poll(story: dict[str, Any], step: str) -> dict[str, Any]:
    return next(p for p in story["polls"] if p["step"] == step)


def _urls(story: dict[str, Any], step: str, hook: str) -> list[str]:
    return paths([e["url"] for e in hooks(_poll(story, step)["events"], hook)], story["base"])


def _seen(story: dict[str, Any], step: str) -> list[str]:
    done = hooks(_poll(story, step)["events"], "on_poll_done")
    assert len(done) == 1
    return paths(done[0]["seen"], story["base"])


def _hits(story: dict[str, Any], step: str) -> Counter[str]:
    return Counter(h["path"] for h in _poll(story, step)["hits"])


def test_runs_on_the_requested_reactor(story: dict[str, Any]) -> None:
    assert story["reactor"] in (
        "EPollReactor",
        "PollReactor",
        "SelectReactor",
        "AsyncioSelectorReactor",
    )


def test_every_poll_completes(story: dict[str, Any]) -> None:
    assert [p["ok"] for p in story["polls"]] == [True, True, True]
    assert [hooks(p["events"], "on_poll_done")[0]["ok"] for p in story["polls"]] == [True] * 3


def test_first_poll_finds_every_linked_file_once(story: dict[str, Any]) -> None:
    assert _seen(story, "first") == FIRST_SEEN
    assert sorted(_urls(story, "first", "on_file")) == [
        "/data/a.csv",
        "/data/b.xlsx",
        "/data/plain.csv",
        "/export?format=csv",
        "/get/report",
    ]
    handled = [
        e["url"]
        for e in _poll(story, "first")["events"]
        if e["hook"] in ("on_file", "on_unchanged", "on_gone", "on_fetch_error")
    ]
    assert len(handled) == len(set(handled))


def test_a_file_linked_three_times_is_requested_once_per_poll(story: dict[str, Any]) -> None:
    for step in ("first", "unchanged", "changed"):
        assert _hits(story, step)["/data/a.csv"] == 1


def test_extensionless_attachment_is_probed_then_fetched(story: dict[str, Any]) -> None:
    # The followed link's download stops after its headers; the fetch step gets the body.
    # /get/huge proves the probe read no body: a page over the size limit would have
    # failed the poll, yet every poll completes and only the fetch reports it too large.
    assert _hits(story, "first")["/get/report"] == 2
    assert _hits(story, "first")["/get/huge"] == 2
    report = next(
        e
        for e in hooks(_poll(story, "first")["events"], "on_file")
        if e["url"].endswith("/get/report")
    )
    assert report["size"] == len(b"year,count\n2023,5\n")


def test_second_poll_is_conditional_and_reports_unchanged(story: dict[str, Any]) -> None:
    hits = _poll(story, "unchanged")["hits"]
    conditional = {h["path"] for h in hits if h["if_none_match"] or h["if_modified_since"]}
    assert {"/data/a.csv", "/data/b.xlsx", "/export?format=csv", "/get/report"} <= conditional
    etag_only = next(h for h in hits if h["path"] == "/data/b.xlsx")
    assert etag_only["if_none_match"]
    assert not etag_only["if_modified_since"]
    lm_only = next(h for h in hits if h["path"] == "/export?format=csv")
    assert lm_only["if_modified_since"]
    assert not lm_only["if_none_match"]
    assert _urls(story, "unchanged", "on_file") == []
    assert sorted(_urls(story, "unchanged", "on_unchanged")) == [
        "/data/a.csv",
        "/data/b.xlsx",
        "/data/plain.csv",
        "/export?format=csv",
        "/get/report",
    ]


def test_server_ignoring_conditional_requests_is_unchanged_by_sha256(story: dict[str, Any]) -> None:
    plain = [h for h in _poll(story, "unchanged")["hits"] if h["path"] == "/data/plain.csv"]
    assert len(plain) == 1
    assert not plain[0]["if_none_match"]
    assert not plain[0]["if_modified_since"]
    assert "/data/plain.csv" in _urls(story, "unchanged", "on_unchanged")


def test_changed_file_is_handed_over_again(story: dict[str, Any]) -> None:
    assert _urls(story, "changed", "on_file") == ["/data/a.csv"]
    first = hooks(_poll(story, "first")["events"], "on_file")
    again = hooks(_poll(story, "changed")["events"], "on_file")[0]
    assert again["sha256"] != next(e for e in first if e["url"] == again["url"])["sha256"]


def test_file_unlinked_from_the_index_is_absent_from_seen(story: dict[str, Any]) -> None:
    assert "/data/plain.csv" in _seen(story, "unchanged")
    assert "/data/plain.csv" not in _seen(story, "changed")
    assert "/data/plain.csv" not in _hits(story, "changed")


def test_removed_file_calls_on_gone(story: dict[str, Any]) -> None:
    gone = hooks(_poll(story, "first")["events"], "on_gone")
    assert [(e["url"].removeprefix(story["base"]), e["status"]) for e in gone] == [
        ("/data/removed.csv", 404)
    ]


def test_oversize_files_are_fetch_errors_announced_or_streamed(story: dict[str, Any]) -> None:
    errors = hooks(_poll(story, "first")["events"], "on_fetch_error")
    assert sorted(paths([e["url"] for e in errors], story["base"])) == [
        "/data/big.csv",
        "/data/stream.csv",
        "/get/huge",
    ]
    assert all(e["error"].startswith("too large") for e in errors)


def test_robots_txt_is_fetched_and_obeyed(story: dict[str, Any]) -> None:
    for step in ("first", "unchanged", "changed"):
        hits = _hits(story, step)
        assert hits["/robots.txt"] == 1
        assert not [p for p in hits if p.startswith("/private/")]


def test_other_domains_are_never_visited(story: dict[str, Any]) -> None:
    assert story["external_hits"] == 0
    assert not [u for u in _seen(story, "first") if "localhost" in u]


def test_depth_limit_is_respected(story: dict[str, Any]) -> None:
    hits = _hits(story, "first")
    assert hits["/catalog/"] == 1
    assert hits["/catalog/b/"] == 1
    assert hits["/catalog/b/c/"] == 0  # depth 3, over max_depth=2
    assert "/data/too-deep.csv" not in _seen(story, "first")


def test_assets_are_not_followed(story: dict[str, Any]) -> None:
    hits = _hits(story, "first")
    assert hits["/style.css"] == 0
    assert hits["/favicon.ico"] == 0


def test_html_behind_a_download_link_is_not_reported(story: dict[str, Any]) -> None:
    assert _hits(story, "first")["/export/help"] == 1
    assert "/export/help" not in _seen(story, "first")
    assert all(
        not e.get("url", "").endswith("/export/help")
        for e in _poll(story, "first")["events"]
        if e["hook"] != "validators"
    )


def test_user_agent_is_the_configured_honest_one(story: dict[str, Any]) -> None:
    agents = {h["user_agent"] for p in story["polls"] for h in p["hits"]}
    assert agents == {UA}


def test_fetched_files_are_complete_and_described(story: dict[str, Any]) -> None:
    files = hooks(_poll(story, "first")["events"], "on_file")
    assert all(f["sha_ok"] and f["size_ok"] and f["utc"] and f["first_seen_ok"] for f in files)
    assert {f["portal"] for f in files} == {"html"}
    a = next(f for f in files if f["url"].endswith("/data/a.csv"))
    assert a["media_type"] == "text/csv"
    assert a["etag"]
    assert a["last_modified"]
    assert a["dataset"] == "Open data catalogue"
    assert a["suffix"] == ".csv"
    b = next(f for f in files if f["url"].endswith("/data/b.xlsx"))
    assert b["dataset"] == "Dataset B"


def test_metrics_count_fetches_bytes_and_polls(story: dict[str, Any]) -> None:
    fetches = story["fetches"]
    assert fetches["304"] >= 4
    assert fetches["too_large"] == 9  # three files, three polls
    assert fetches["4xx"] == 3  # removed.csv, each poll
    assert fetches["2xx"] > 0
    assert "error" not in fetches
    assert story["bytes"] > 0
    assert story["last_poll"] > 0
    assert story["poll_count"] == 3
