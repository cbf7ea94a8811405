"""File downloads go to disk as they arrive (decoded, hashed, bounded), never whole in memory."""

from __future__ import annotations

import gzip
import hashlib
import zlib
from typing import Any

import brotli
import pytest
from scrapy.core.downloader.handlers import http11

import monitor.crawl.fetch  # noqa: F401  (installs the spooling reader)
from monitor.crawl.streaming import SpoolTarget, _DiskBody, _SpoolingReader

BODY = b"district,permits\n" + b"North,12\n" * 50_000


def test_scrapys_reader_is_the_spooling_one() -> None:
    assert http11._ResponseReader is _SpoolingReader


@pytest.mark.parametrize(
    ("coding", "encoded"),
    [
        (None, BODY),
        ("gzip", gzip.compress(BODY)),
        ("deflate", zlib.compress(BODY)),
        ("deflate", zlib.compress(BODY)[2:-4]),  # raw deflate, as some servers send
        ("br", brotli.compress(BODY)),
    ],
)
def test_a_body_is_written_decoded_and_hashed(coding: str | None, encoded: bytes) -> None:
    target = SpoolTarget(suffix=".csv")
    body = _DiskBody(target, coding, limit=10 * len(BODY))
    for i in range(0, len(encoded), 7_000):  # in network-sized pieces
        body.write(encoded[i : i + 7_000])
    assert body.getvalue() == b""  # nothing of it is held for the response
    assert target.path is not None
    assert target.path.suffix == ".csv"
    assert target.path.read_bytes() == BODY
    assert target.sha256 == hashlib.sha256(BODY).hexdigest()
    assert target.size == len(BODY)
    target.discard()
    assert target.path is None


def test_a_compression_bomb_stops_at_the_limit() -> None:
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024))  # 64 MiB in about 64 KB
    target = SpoolTarget()
    body = _DiskBody(target, "gzip", limit=1024 * 1024)
    for i in range(0, len(bomb), 16_384):
        body.write(bomb[i : i + 16_384])
        if target.too_large:
            break
    assert target.too_large
    assert target.path is not None
    assert target.path.stat().st_size <= 1024 * 1024 + 16_384 * 1100  # never the whole bomb
    body.close()
    target.discard()


def test_a_retry_starts_a_new_file() -> None:
    target = SpoolTarget()
    first = _DiskBody(target, None, limit=0)
    first.write(b"partial")
    first.close()
    old = target.path
    _DiskBody(target, None, limit=0).getvalue()
    assert old is not None
    assert not old.exists()
    assert target.path is not None
    target.discard()


def test_a_user_info_link_is_fetched_with_basic_authentication() -> None:
    from monitor.crawl.fetch import _without_userinfo

    headers: dict[str, str] = {}
    url = _without_userinfo("http://anonymous@data.example.gov:8080/leak.csv", headers)
    assert url == "http://data.example.gov:8080/leak.csv"
    assert headers == {"Authorization": "Basic YW5vbnltb3VzOg=="}  # "anonymous:"
    headers = {}
    assert _without_userinfo("https://u:p%40ss@h.example/x.csv?a=1", headers) == (
        "https://h.example/x.csv?a=1"
    )
    assert headers["Authorization"] == "Basic dTpwQHNz"  # "u:p@ss"
    headers = {}
    assert _without_userinfo("https://h.example/people/@me.csv", headers) == (
        "https://h.example/people/@me.csv"
    )
    assert headers == {}


def test_a_user_info_link_is_fetched_not_dropped(
    scenario: Any,
) -> None:
    # Issue 16: such a link was never fetched, no error counted, the poll complete.
    run = scenario("tests.crawl.userinfo_scenarios:userinfo")
    host = run["base"].removeprefix("http://")
    assert run["ok"] is True
    assert run["files"] == [f"{run['base']}data/ok.csv", f"http://anonymous@{host}data/leak.csv"]
    assert run["errors"] == []
    assert "/data/leak.csv" in run["paths"]
