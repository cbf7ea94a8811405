"""The daemon's scan results: one transaction per result (or per batch), none lost to a busy store.

In process, on a real SQLite file; the lock is a real write lock held by another
connection for longer than the busy timeout.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import TYPE_CHECKING

import pytest

from monitor import daemon as daemon_module
from monitor.models import FetchedFile, FileReport, Severity, utcnow
from monitor.store import engine as engine_module
from tests.inprocess import daemons, fetched_csv, report, wait_for

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from monitor.daemon import Daemon

TARGET = "portal"
BASE = "https://data.example.gov/datasets/resource/download/"


@pytest.fixture
def make_daemon(tmp_path: Path) -> Iterator[Callable[..., Daemon]]:
    with daemons(
        tmp_path,
        scan_workers=1,
        targets=[{"name": TARGET, "start_urls": ["http://127.0.0.1:9/"]}],
        # Never started here: alerts stay in the outbox, which is what is checked.
        notify=[{"name": "hook", "kind": "webhook", "url": "http://127.0.0.1:9/hook"}],
    ) as make:
        yield make


def _fetched(tmp_path: Path, name: str) -> FetchedFile:
    return fetched_csv(tmp_path / name, TARGET, BASE + name, etag=f'"{name}"')


def _idle(daemon: Daemon) -> None:
    """Wait until every file handed over is done with (its result recorded or given up)."""
    wait_for(lambda: not daemon._inflight, timeout=30)


def test_scan_results_meeting_a_locked_store_after_their_touch_are_all_recorded(
    make_daemon: Callable[..., Daemon], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The files are taken (touched) and scanned; the lock comes before their results.
    monkeypatch.setattr(engine_module, "_BUSY_TIMEOUT_MS", 200)
    monkeypatch.setattr(daemon_module, "_WRITE_RETRY_FIRST_S", 0.05)
    daemon = make_daemon(scan_workers=3)
    names = ["a.csv", "b.csv", "c.csv"]
    scanned: list[str] = []
    locked = threading.Event()

    def scan(path: Path, *, source: str, media_type: str | None) -> FileReport:
        scanned.append(source)
        locked.wait(10)
        return report(source, leak=True)

    monkeypatch.setattr(daemon.scanner, "scan", scan)
    lock = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    try:
        for name in names:
            daemon.on_file(_fetched(tmp_path, name))
        wait_for(lambda: len(scanned) == len(names))
        lock.execute("BEGIN EXCLUSIVE")
        locked.set()
        # Each result gave up more than once while the lock was held.
        wait_for(lambda: daemon.metrics.store_errors.labels("record_result")._value.get() >= 6)
        assert daemon.readiness()[1]["store"] == "failing"
    finally:
        locked.set()
        lock.execute("ROLLBACK")
        lock.close()
    _idle(daemon)

    assert sorted(scanned) == [BASE + n for n in names]  # scanned once each
    for name in names:
        state = daemon.store.resource(BASE + name)
        assert state is not None
        assert state.etag == f'"{name}"'  # validators, written with the result
    assert sorted(i.resource_url for i in daemon.store.open_incidents(TARGET)) == [
        BASE + n for n in names
    ]
    assert len(daemon.store.due(utcnow())) == len(names)  # one page per file, none twice
    assert daemon.results.written == len(names)
    assert daemon.readiness()[1]["store"] == "ok"


def test_a_scan_result_is_one_transaction_after_the_touch(
    make_daemon: Callable[..., Daemon], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon = make_daemon()
    monkeypatch.setattr(
        daemon.scanner, "scan", lambda p, source, media_type: report(source, leak=False)
    )
    writes: list[str] = []
    real = daemon.store._db.session

    def session(*, write: bool):  # type: ignore[no-untyped-def]
        if write:
            writes.append("write")
        return real(write=write)

    monkeypatch.setattr(daemon.store._db, "session", session)
    monkeypatch.setattr(daemon.store, "_session", session)

    daemon.on_file(_fetched(tmp_path, "a.csv"))
    _idle(daemon)

    assert writes == ["write", "write"]  # the touch, then the whole result
    state = daemon.store.resource(BASE + "a.csv")
    assert state is not None
    assert state.etag == '"a.csv"'
    assert state.last_scanned is not None


def test_clean_results_refresh_the_gauges_once_a_second_and_leaks_at_once(
    make_daemon: Callable[..., Daemon], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon = make_daemon()
    reports = {BASE + "leak.csv": True}
    monkeypatch.setattr(
        daemon.scanner,
        "scan",
        lambda p, source, media_type: report(source, leak=reports.get(source, False)),
    )
    refreshed: list[float] = []
    real = daemon.refresh_gauges

    def refresh() -> None:
        refreshed.append(time.monotonic())
        real()

    monkeypatch.setattr(daemon, "refresh_gauges", refresh)

    for i in range(5):
        daemon.on_file(_fetched(tmp_path, f"clean-{i}.csv"))
    _idle(daemon)
    assert len(refreshed) <= 1  # not one per clean file
    wait_for(lambda: len(refreshed) >= 1, timeout=daemon_module._GAUGES_EVERY_S + 5)

    before = len(refreshed)
    daemon.on_file(_fetched(tmp_path, "leak.csv"))
    _idle(daemon)
    assert len(refreshed) > before  # a result with findings: the gauge is right at once
    gauge = daemon.metrics.open_findings.labels(TARGET, str(Severity.HIGH))
    assert gauge._value.get() == 1
