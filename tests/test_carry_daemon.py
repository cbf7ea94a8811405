"""The daemon keeps a plain site's carry-over in the store, so a restart continues the rotation.

In process, with the real store (SQLite), as ``tests/test_coverage_daemon.py`` does for
the walk cursor: the crawl's carry-over is set as a poll that hit its budget leaves it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry

from monitor.config import Settings
from monitor.daemon import Daemon
from monitor.metrics import Metrics

if TYPE_CHECKING:
    from pathlib import Path

SITE = "http://127.0.0.1:9/"
TAIL = [
    {
        "url": f"{SITE}files/{i}.csv",
        "portal": "html",
        "dataset": None,
        "title": f"{i}.csv",
        "referer": SITE,
    }
    for i in range(3)
]


def _daemon(tmp_path: Path) -> Daemon:
    config = {
        "storage": f"sqlite:///{tmp_path / 'state.db'}",
        "http": {"listen": "127.0.0.1:0"},
        "targets": [{"name": "site", "kind": "html", "start_urls": [SITE]}],
    }
    daemon = Daemon(Settings.model_validate(config), Metrics(CollectorRegistry()))
    daemon.store.migrate()
    return daemon


def _poll_done(daemon: Daemon) -> None:
    daemon.on_poll_done("site", set(), False)
    # The store writes are done once every worker thread has reached a task queued after
    # them (one free thread is not enough: another may still be writing).
    workers = daemon.settings.scan_workers
    barrier = threading.Barrier(workers)
    for done in [daemon.pool.submit(barrier.wait, 30) for _ in range(workers)]:
        done.result(timeout=30)


def test_the_budget_tail_survives_a_restart(tmp_path: Path) -> None:
    first = _daemon(tmp_path)
    try:
        first.crawl._carry["site"] = list(TAIL)  # what a poll cut by its budget leaves
        _poll_done(first)
    finally:
        first.shutdown()
    again = _daemon(tmp_path)
    try:
        again._resume_walks()
        assert again.crawl.carry("site") == TAIL  # fetched first by the next poll
    finally:
        again.shutdown()


def test_a_poll_without_a_tail_clears_the_stored_one(tmp_path: Path) -> None:
    first = _daemon(tmp_path)
    try:
        first.crawl._carry["site"] = list(TAIL)
        _poll_done(first)
        first.crawl._carry.pop("site")  # the next poll fetched everything
        _poll_done(first)
        assert first.store.carry_overs() == {}
    finally:
        first.shutdown()
