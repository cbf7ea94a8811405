"""ArcGIS Hub sites: the DCAT-US feed and the one download per dataset the spider reports."""

from __future__ import annotations

from spiders.arcgis_hub import best_download, feed_url
from tests.spiders.test_arcgis import HUB, _answer, _saved, _spider, _split, _start


def test_hub_feed_gives_each_dataset_its_csv_else_geojson_else_a_data_file() -> None:
    spider = _spider(start_urls=[HUB], allowed_domains=["data-exampledoj.hub.arcgis.com"])
    _start(spider)
    items, requests = _split(
        spider.feed(_saved("hub_feed.json", HUB + "/api/feed/dcat-us/1.1.json"))
    )
    assert requests == []
    assert [(i["url"].removeprefix(HUB), i["dataset"], i["title"]) for i in items] == [
        (
            "/api/download/v1/items/3f2c9d0e8a7b4c1d9e6f5a4b3c2d1e0f/csv?layers=0",
            "CCW Permit Holders",
            "CSV",
        ),
        (
            "/api/download/v1/items/5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b/pdf",
            "Annual report 2022",
            "PDF",
        ),
    ]
    # "Stops by beat" is downloadable only from opendata.arcgis.com: another domain.
    assert spider.offsite_files == {
        "https://opendata.arcgis.com/datasets/0a1b2c3d4e5f60718293a4b5c6d7e8f9_2.geojson"
    }
    assert items[0]["referer"] == HUB + "/datasets/3f2c9d0e8a7b4c1d9e6f5a4b3c2d1e0f_0"
    assert spider.progress == (4, 4)


def test_hub_feed_without_datasets_is_unreadable() -> None:
    spider = _spider(start_urls=[HUB])
    _start(spider)
    _split(spider.feed(_answer(HUB + "/api/feed/dcat-us/1.1.json", {"error": "no such site"})))
    assert len(spider.failures) == 1


def test_feed_url_is_the_sites_dcat_feed_unless_given() -> None:
    assert feed_url(HUB) == HUB + "/api/feed/dcat-us/1.1.json"
    assert feed_url(HUB + "/search?tags=police") == HUB + "/api/feed/dcat-us/1.1.json"
    assert feed_url(HUB + "/data.json") == HUB + "/data.json"


def test_best_download_prefers_csv_then_geojson_then_any_data_file() -> None:
    def dist(fmt: str) -> dict[str, str]:
        return {"format": fmt, "title": fmt, "accessURL": f"{HUB}/x.{fmt.lower()}"}

    extensions = (".csv", ".geojson", ".zip", ".pdf")
    assert best_download(
        {"distribution": [dist("ZIP"), dist("GeoJSON"), dist("CSV")]}, extensions
    ) == (
        HUB + "/x.csv",
        "CSV",
    )
    assert best_download({"distribution": [dist("ZIP"), dist("GeoJSON")]}, extensions) == (
        HUB + "/x.geojson",
        "GeoJSON",
    )
    assert best_download({"distribution": [dist("KML"), dist("ZIP")]}, extensions) == (
        HUB + "/x.zip",
        "ZIP",
    )
    assert best_download({"distribution": [dist("KML")]}, extensions) is None
    assert best_download({"distribution": "none"}, extensions) is None
