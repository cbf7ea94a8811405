"""The daemon holds a poll's unchanged files a batch at a time, not one entry per watched file.

In process, with the real store (SQLite), as ``tests/test_carry_daemon.py`` does.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pytest

from monitor.daemon import _TOUCH_EVERY, Daemon
from tests.inprocess import daemons

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

SITE = "http://127.0.0.1:9/"
LONG_AGO = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    with daemons(
        tmp_path,
        scan_workers=1,  # one worker: a no-op submitted after a task runs after it
        targets=[{"name": "site", "kind": "html", "start_urls": [SITE]}],
    ) as make:
        yield make()


def _drain(daemon: Daemon) -> None:
    daemon.pool.submit(lambda: None).result(timeout=60)


def _touched(daemon: Daemon, urls: list[str]) -> int:
    wanted = set(urls)
    return sum(
        1 for r in daemon.store.resources("site") if r.url in wanted and r.last_seen > LONG_AGO
    )


def test_unchanged_files_are_recorded_in_batches_while_the_poll_runs(daemon: Daemon) -> None:
    urls = [f"{SITE}f{i:05d}.csv" for i in range(2 * _TOUCH_EVERY + 7)]
    daemon.store.touch_resources("site", urls, seen_at=LONG_AGO)
    for url in urls:
        daemon.on_unchanged("site", url)
        assert len(daemon._unchanged.get("site", ())) < _TOUCH_EVERY
    _drain(daemon)
    assert _touched(daemon, urls) == 2 * _TOUCH_EVERY  # before the poll ends
    daemon.on_poll_done("site", set(urls), ok=False)
    _drain(daemon)
    assert _touched(daemon, urls) == len(urls)
    assert "site" not in daemon._unchanged
