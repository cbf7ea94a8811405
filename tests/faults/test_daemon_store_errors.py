"""The daemon's store-failure bookkeeping, in process: readiness, the write probe, validators.

The end-to-end outage tests (test_store_outage.py) show the behaviour on a real
process; these pin the rules down quickly and without timing: a failed store call
makes the daemon not ready until a write goes through, the reactor's validators
lookup never raises and stops asking a failing store, and a worker task's store
failure is logged rather than lost in its future.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import TYPE_CHECKING

import pytest

from monitor.crawl import Validators
from monitor.errors import StoreError
from tests.inprocess import daemons

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from monitor.daemon import Daemon


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    # One worker: a no-op submitted after a task runs after it.
    with daemons(tmp_path, scan_workers=1) as make:
        yield make()


def _store_state(daemon: Daemon) -> str:
    return daemon.readiness()[1]["store"]


def test_a_failed_store_call_means_not_ready_until_a_write_goes_through(daemon, tmp_path):
    assert _store_state(daemon) == "ok"
    lock = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    daemon._store_failed(StoreError("store sqlite:///x: database is locked"), "test")

    # The ping (SELECT 1) still answers under the lock: readiness must not trust it alone.
    assert daemon.store.ping()
    assert _store_state(daemon) == "failing"
    assert daemon.metrics.ready._value.get() == 0
    lock.execute("ROLLBACK")
    lock.close()
    daemon.pool.submit(lambda: None).result()  # the probe queued by readiness() has run
    assert _store_state(daemon) == "ok"


def test_the_write_probe_fails_while_writes_are_locked(daemon, tmp_path, monkeypatch):
    daemon._store_failed(StoreError("earlier failure"), "test")
    calls = []

    def locked(*, delivered_before):
        calls.append(delivered_before)
        raise StoreError("store sqlite:///x: OperationalError: database is locked")

    monkeypatch.setattr(daemon.store, "prune_outbox", locked)
    assert _store_state(daemon) == "failing"
    daemon.pool.submit(lambda: None).result()
    assert len(calls) == 1
    assert _store_state(daemon) == "failing"  # still failing, and a new probe was queued
    daemon.pool.submit(lambda: None).result()
    assert len(calls) == 2


def test_validators_lookup_never_raises_and_stops_asking_a_failing_store(daemon, monkeypatch):
    asked = []

    def down(url):
        asked.append(url)
        raise StoreError("store postgresql://x: OperationalError: connection refused")

    monkeypatch.setattr(daemon.store, "resource", down)
    assert daemon.validators("http://127.0.0.1/a.csv") == Validators(None, None, None)
    assert daemon.validators("http://127.0.0.1/b.csv") == Validators(None, None, None)
    assert asked == ["http://127.0.0.1/a.csv"]  # the second was not asked: backing off
    assert _store_state(daemon) == "failing"
    assert daemon.metrics.store_errors.labels("validators")._value.get() == 1


def test_a_worker_tasks_store_failure_is_logged_not_lost(daemon, monkeypatch, caplog):
    def down(*args, **kwargs):
        raise StoreError("store sqlite:///x: OperationalError: disk I/O error")

    monkeypatch.setattr(daemon.store, "touch_resources", down)
    with caplog.at_level(logging.WARNING, logger="monitor.daemon"):
        daemon.on_unchanged("t", "http://127.0.0.1/a.csv")
        daemon.on_poll_done("t", {"http://127.0.0.1/a.csv"}, ok=False)
        daemon.pool.submit(lambda: None).result()
    assert "store unavailable during touch_all, will be retried" in caplog.text
    assert "disk I/O error" in caplog.text
    assert _store_state(daemon) == "failing"
    assert daemon.metrics.store_errors.labels("touch_all")._value.get() == 1
