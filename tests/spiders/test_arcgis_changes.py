"""ArcGIS's change feed on recorded layer descriptions: ``editingInfo.lastEditDate``.

``borisbikes_layer.json`` is a recorded ArcGIS 10.3 hosted layer that carries
``editingInfo``; ``columbia_layer.json`` a recorded 10.01 layer that does not
(tests/fixtures/SOURCES.md). Callbacks are called directly.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from scrapy import Request
from scrapy.http import TextResponse

from spiders.arcgis import ArcgisSpider
from spiders.arcgis_layers import FEED_PRIORITY, edited_at
from spiders.arcgis_rest import locate

RECORDED = Path(__file__).resolve().parents[1] / "data" / "portals" / "arcgis" / "recorded"
ROOT = "https://gis.example.gov/arcgis/rest/services"
LAYER = ROOT + "/Transport/Bikes/FeatureServer/0"


def _recorded(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDED / name).read_text(encoding="utf-8"))
    return data


def _spider(**overrides: Any) -> ArcgisSpider:
    args: dict[str, Any] = {"target": "gis", "start_urls": [ROOT], "allowed_domains": []}
    return ArcgisSpider(**(args | overrides))


def _answer(url: str, data: Any) -> TextResponse:
    return TextResponse(url, body=json.dumps(data).encode(), encoding="utf-8", request=Request(url))


def _edited(spider: ArcgisSpider, url: str, data: Any) -> list[Request]:
    return list(spider.edited(_answer(url, data), locate(url)))


def test_reads_the_last_edit_of_a_recorded_layer() -> None:
    when = edited_at(_recorded("borisbikes_layer.json"))
    assert when == dt.datetime(2014, 9, 15, 11, 7, 10, 99000, tzinfo=dt.UTC)
    assert edited_at(_recorded("columbia_layer.json")) is None  # 10.01 does not say
    assert edited_at({"editingInfo": {"lastEditDate": True}}) is None


def test_a_layer_edited_since_the_last_poll_is_counted_ahead_of_the_walk() -> None:
    spider = _spider(changed_since="2014-09-15T11:00:00+00:00", cursor="4")
    (count,) = _edited(spider, LAYER, _recorded("borisbikes_layer.json"))
    assert count.url.startswith(LAYER + "/query?")
    assert "returnCountOnly=true" in count.url
    assert count.priority == FEED_PRIORITY
    assert count.cb_kwargs["at"] is None  # a feed request: it never moves the walk


def test_a_layer_not_edited_since_or_that_does_not_say_waits_for_the_walk() -> None:
    spider = _spider(changed_since="2014-09-15T12:00:00+00:00")
    assert _edited(spider, LAYER, _recorded("borisbikes_layer.json")) == []
    assert _edited(spider, LAYER, _recorded("columbia_layer.json")) == []


def test_a_service_feed_reads_only_its_edited_layers() -> None:
    service = LAYER.rsplit("/", 1)[0]
    recent = _recorded("borisbikes_layer.json")
    old = {**recent, "id": 1, "editingInfo": {"lastEditDate": 1_300_000_000_000}}
    spider = _spider(changed_since="2014-09-01T00:00:00+00:00")
    requests = _edited(spider, service + "/layers", {"layers": [recent, old], "tables": []})
    assert [r.url.split("/query")[0] for r in requests] == [service + "/0"]


def test_a_broken_feed_answer_makes_the_poll_incomplete_without_moving_the_walk() -> None:
    spider = _spider(changed_since="2014-09-01T00:00:00+00:00", cursor="7")
    error = {"error": {"code": 500, "message": "Unable to complete operation.", "details": []}}
    assert _edited(spider, LAYER, error) == []
    assert (
        list(
            spider.edited(
                TextResponse(LAYER, body=b"<html>", request=Request(LAYER)), locate(LAYER)
            )
        )
        == []
    )
    assert len(spider.failures) == 2
    assert (spider.next_cursor, spider.stuck) == ("7", False)


def test_the_feed_asks_for_edit_dates_within_half_the_budget_left() -> None:
    services = [{"name": f"Svc/S{i:02d}", "type": "FeatureServer"} for i in range(40)]
    spider = _spider(changed_since="2024-01-01T00:00:00+00:00", max_datasets=2, max_requests=20)
    spider._listing = 1
    out = list(spider.directory(_answer(ROOT + "?f=json", {"folders": [], "services": services})))
    feed = [r for r in out if r.callback == spider.edited]
    walk = [r for r in out if r.callback == spider.layers]
    assert len(walk) == 2
    # 90% of 20 is 18; robots.txt leaves 17, and half of that (8) is the feed's.
    assert len(feed) == 8
    assert spider.feed_cut == 38 - 8
    assert all(r.priority == FEED_PRIORITY for r in feed)


def test_a_failed_edit_date_request_leaves_the_feed_unread() -> None:
    services = [
        {"name": "Svc/A", "type": "FeatureServer"},
        {"name": "Svc/B", "type": "FeatureServer"},
    ]
    spider = _spider(changed_since="2024-01-01T00:00:00+00:00", max_datasets=1)
    spider._listing = 1
    list(spider.directory(_answer(ROOT + "?f=json", {"folders": [], "services": services})))
    assert spider.feed_through
    error = {"error": {"code": 500, "message": "Unable to complete operation.", "details": []}}
    _edited(spider, ROOT + "/Svc/B/FeatureServer/layers", error)
    assert not spider.feed_through
