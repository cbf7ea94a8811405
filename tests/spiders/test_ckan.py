"""The CKAN spider on saved Action API answers: requests, resources, dumps, walks and failures.

No network and no reactor: answers are built from ``tests/data/portals/ckan/``
and the spider's callbacks are called directly.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from scrapy import Request
from scrapy.http import TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from monitor.crawl.items import API_REQUEST, DatasetItem
from spiders.ckan import CkanSpider, portal_root

PAGES = Path(__file__).resolve().parents[1] / "data" / "portals" / "ckan"
SITE = "https://data.example.gov/"
SEARCH = SITE + "api/3/action/package_search"


def _spider(**overrides: Any) -> CkanSpider:
    args: dict[str, Any] = {
        "target": "state",
        "start_urls": [SITE],
        "allowed_domains": ["example.gov"],
    }
    return CkanSpider(**(args | overrides))


def _answer(name: str, url: str = SEARCH, status: int = 200, **meta: Any) -> TextResponse:
    body = (PAGES / name).read_bytes() if name else b""
    request = Request(url, meta={API_REQUEST: True, **meta})
    return TextResponse(url, status=status, body=body, encoding="utf-8", request=request)


def _split(output: Any) -> tuple[list[DatasetItem], list[Request]]:
    results = list(output)
    items = [r for r in results if isinstance(r, DatasetItem)]
    requests = [r for r in results if isinstance(r, Request)]
    assert len(items) + len(requests) == len(results)
    return items, requests


def _starts(spider: CkanSpider) -> list[Request]:
    async def collect() -> list[Request]:
        return [r async for r in spider.start()]

    return asyncio.run(collect())


def _query(request: Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}


@pytest.mark.parametrize(
    ("url", "root"),
    [
        ("https://data.ca.gov/", "https://data.ca.gov/"),
        ("https://data.ca.gov", "https://data.ca.gov/"),
        ("https://data.ca.gov/dataset/", "https://data.ca.gov/"),
        ("https://data.ca.gov/dataset/ccw?res_format=CSV", "https://data.ca.gov/"),
        (
            "https://open.example.ca/data/api/3/action/package_search",
            "https://open.example.ca/data/",
        ),
        ("https://open.example.ca/data/en/", "https://open.example.ca/data/en/"),
    ],
)
def test_portal_root(url: str, root: str) -> None:
    assert portal_root(url) == root


def test_first_request_is_package_search_oldest_first() -> None:
    (request,) = _starts(_spider())
    assert request.url.startswith(SEARCH + "?")
    assert _query(request) == {"rows": "1000", "start": "0", "sort": "metadata_created asc, id asc"}
    assert request.meta[API_REQUEST] is True
    assert request.dont_filter


def test_cursor_and_cap_shape_the_first_request() -> None:
    (request,) = _starts(_spider(cursor="4000", max_datasets=250))
    assert _query(request)["start"] == "4000"
    assert _query(request)["rows"] == "250"


def test_only_the_first_start_url_is_walked() -> None:
    assert len(_starts(_spider(start_urls=[SITE, "https://other.example.gov/"]))) == 1


def test_reports_resources_and_datastore_dumps_with_provenance() -> None:
    items, _ = _split(_spider().parse_search(_answer("package_search.json"), SITE, 0))
    assert [i["url"] for i in items] == [
        SITE + "dataset/5b1c5a3e-2d1f-4f7e-9a51-1f0c1d2e3a41/resource/"
        "0f4a9b6e-1c2d-4e5f-8a9b-0c1d2e3f4a5b/download/permits_by_county.csv",
        SITE + "dataset/5b1c5a3e-2d1f-4f7e-9a51-1f0c1d2e3a41/resource/"
        "7c8d9e0f-1a2b-4c3d-8e4f-5a6b7c8d9e0f/download/applicants.xlsx",
        SITE + "datastore/dump/7c8d9e0f-1a2b-4c3d-8e4f-5a6b7c8d9e0f",
        SITE + "datastore/dump/9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
        SITE + "pages/about-budgets",  # every resource URL, without its fragment
    ]
    first = items[0]
    assert first["portal"] == "ckan"
    assert first["target"] == "state"
    assert first["dataset"] == "ccw-permits-2022"
    assert first["title"] == "Concealed carry permits 2022: Permits by county"
    assert first["referer"] == SITE + "dataset/ccw-permits-2022"
    assert items[2]["title"] == "Concealed carry permits 2022: Applicants (DataStore dump)"


def test_resources_on_other_domains_are_counted_not_reported() -> None:
    spider = _spider()
    items, _ = _split(spider.parse_search(_answer("package_search.json"), SITE, 0))
    assert spider.offsite_files == {"https://s3.amazonaws.com/example-bucket/budgets.csv"}
    assert not [i for i in items if "s3.amazonaws.com" in i["url"]]


def test_dataset_without_resources_is_read_with_package_show() -> None:
    _, requests = _split(_spider().parse_search(_answer("package_search.json"), SITE, 0))
    show = requests[0]
    assert show.url == SITE + "api/3/action/package_show?id=d4e5f6a7-b8c9-4d0e-9f1a-3b4c5d6e7f8a"
    assert show.meta[API_REQUEST] is True
    assert show.meta["handle_httpstatus_list"] == [404]


def test_package_show_reports_its_resources() -> None:
    spider = _spider(allowed_domains=[])
    url = SITE + "api/3/action/package_show?id=x"
    items, _ = _split(spider.parse_show(_answer("package_show.json", url), SITE, 0))
    assert [(i["url"], i["dataset"]) for i in items] == [
        ("https://files.example.gov/roster.csv", "harvested-roster")
    ]


def test_package_deleted_since_the_search_is_skipped() -> None:
    spider = _spider()
    answer = _answer("error.json", SITE + "api/3/action/package_show?id=x", status=404)
    assert list(spider.parse_show(answer, SITE, 0)) == []
    assert spider.failures == []


def test_next_page_follows_what_the_portal_returned() -> None:
    spider = _spider()
    _, requests = _split(spider.parse_search(_answer("package_search.json"), SITE, 0))
    following = requests[-1]
    assert _query(following)["start"] == "3"  # three datasets came back, whatever rows said
    assert spider.progress == (3, 7)
    assert spider.next_cursor == "3"


def test_last_page_finishes_the_walk() -> None:
    spider = _spider(cursor="4")
    _, requests = _split(spider.parse_search(_answer("package_search.json"), SITE, 4))
    assert not [r for r in requests if "package_search" in r.url]
    assert spider.progress == (7, 7)
    assert spider.next_cursor is None


def test_cap_stops_the_walk_for_this_poll() -> None:
    spider = _spider(max_datasets=2)
    items, requests = _split(spider.parse_search(_answer("package_search.json"), SITE, 0))
    assert {i["dataset"] for i in items} == {"ccw-permits-2022", "school-budgets"}
    assert requests == []  # no package_show for the third dataset, no next page
    assert spider.progress == (2, 7)
    assert spider.next_cursor == "2"


def test_unsuccessful_answer_is_a_failure_and_the_walk_resumes_there() -> None:
    spider = _spider(cursor="3")
    assert list(spider.parse_search(_answer("error.json"), SITE, 3)) == []
    assert spider.failures
    assert "Search Query Error" in spider.failures[0]
    assert spider.next_cursor == "3"


def test_answer_that_is_not_json_is_a_failure() -> None:
    spider = _spider()
    answer = TextResponse(SEARCH, body=b"<html>Service unavailable</html>", encoding="utf-8")
    assert list(spider.parse_search(answer, SITE, 0)) == []
    assert "not JSON" in spider.failures[0]
    assert spider.next_cursor is None


def test_failed_page_leaves_the_cursor_at_the_earliest_failed_page() -> None:
    spider = _spider()
    spider.walk_to(3, 7, "3")
    for start in ("6", "3", "6"):
        request = Request(SEARCH, meta={API_REQUEST: True, "leakmon_resume": start})
        response = TextResponse(SEARCH, status=500, body=b"{}", request=request)
        failure = Failure(HttpError(response, "Ignoring non-200 response"))
        failure.request = request  # type: ignore[attr-defined]
        spider.api_failed(failure)
    spider.walk_to(7, 7, None)  # a later page succeeding does not move it on
    assert spider.next_cursor == "3"
    assert spider.failures == []  # HTTP failures are the crawler's to record


def test_walk_stops_between_datasets_before_the_request_budget_is_spent() -> None:
    spider = _spider(max_requests=5)  # plans for 4.5: robots.txt and four files
    items, requests = _split(spider.parse_search(_answer("package_search.json"), SITE, 0))
    assert {i["dataset"] for i in items} == {"ccw-permits-2022"}  # its 4 files fill the plan
    assert requests == []  # neither the next dataset, nor package_show, nor the next page
    assert (spider.next_cursor, spider.progress) == ("1", (1, 7))


def test_files_awaited_from_package_show_count_against_the_budget() -> None:
    spider = _spider(max_requests=100)
    _split(spider.parse_search(_answer("package_search.json"), SITE, 0))
    assert spider.reserved == 1  # harvested-roster's one resource, not yet known
    url = SITE + "api/3/action/package_show?id=x"
    list(spider.parse_show(_answer("package_show.json", url), SITE, 0, expected=1))
    assert spider.reserved == 0
