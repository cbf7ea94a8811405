"""The daemon and a store under load: busy writes waited out, validators loaded in bulk.

In process, on a real SQLite file: the lock in the first test is a real write
lock held by another connection for longer than the busy timeout, as a long
poll bookkeeping transaction or a stray ``sqlite3`` shell would hold it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import tracemalloc
from typing import TYPE_CHECKING

import pytest

from monitor import daemon as daemon_module
from monitor.crawl import Validators
from monitor.models import FetchedFile, FileReport, utcnow
from monitor.store import engine as engine_module
from tests.inprocess import daemons, fetched_csv, report, wait_for

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from monitor.daemon import Daemon

TARGET = "portal"
BASE = "https://data.example.gov/datasets/resource/download/"
URL = BASE + "roster.csv"
LAST_MODIFIED = "Sun, 01 Nov 2026 12:00:00 GMT"


@pytest.fixture
def make_daemon(tmp_path: Path) -> Iterator[Callable[..., Daemon]]:
    with daemons(
        tmp_path,
        scan_workers=1,  # one worker: a no-op submitted after a task runs after it
        targets=[{"name": TARGET, "start_urls": ["http://127.0.0.1:9/"]}],
        # Never started here: the alert stays in the outbox, which is what is checked.
        notify=[{"name": "hook", "kind": "webhook", "url": "http://127.0.0.1:9/hook"}],
    ) as make:
        yield make


def _fetched(tmp_path: Path) -> FetchedFile:
    return fetched_csv(tmp_path / "download.csv", TARGET, URL, '"v1"', LAST_MODIFIED)


def test_a_scan_result_meeting_a_locked_store_is_recorded_once_the_lock_is_released(
    make_daemon: Callable[..., Daemon], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "_BUSY_TIMEOUT_MS", 200)
    monkeypatch.setattr(daemon_module, "_WRITE_RETRY_FIRST_S", 0.05)
    daemon = make_daemon()
    scanned: list[str] = []

    def scan(path: Path, *, source: str, media_type: str | None) -> FileReport:
        scanned.append(source)
        return report(source)

    monkeypatch.setattr(daemon.scanner, "scan", scan)
    lock = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        fetched = _fetched(tmp_path)
        daemon.on_file(fetched)
        # Held past the busy timeout more than once: each write attempt gave up.
        wait_for(lambda: daemon.metrics.store_errors.labels("touch")._value.get() >= 3)
        assert daemon.readiness()[1]["store"] == "failing"
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    daemon.pool.submit(lambda: None).result(timeout=30)

    assert scanned == [URL]  # scanned once: only the store writes were retried
    state = daemon.store.resource(URL)
    assert state is not None
    assert (state.sha256, state.etag) == (fetched.sha256, '"v1"')  # validators written last
    incidents = daemon.store.open_incidents(TARGET)
    assert [i.resource_url for i in incidents] == [URL]
    assert [(item.notifier, item.alert.event) for item in daemon.store.due(utcnow())] == [
        ("hook", "opened")
    ]
    assert daemon.validators(URL) == Validators('"v1"', LAST_MODIFIED, fetched.sha256)


def test_a_scan_result_waiting_for_the_store_is_given_up_at_stop_without_validators(
    make_daemon: Callable[..., Daemon], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On stop the wait ends; the file has no validators, so the next start fetches it again.
    monkeypatch.setattr(engine_module, "_BUSY_TIMEOUT_MS", 100)
    daemon = make_daemon()
    monkeypatch.setattr(daemon.scanner, "scan", lambda p, source, media_type: report(source))
    lock = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        daemon.on_file(_fetched(tmp_path))
        wait_for(lambda: daemon.metrics.store_errors.labels("touch")._value.get() >= 1)
        daemon._stop.set()
        daemon.pool.submit(lambda: None).result(timeout=10)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert daemon.store.resource(URL) is None
    assert daemon.store.open_incidents() == []


def _stored_files(daemon: Daemon, tmp_path: Path, n: int) -> list[str]:
    """Store ``n`` fetched files of TARGET (validators set in one SQL statement)."""
    urls = [f"{BASE}dataset-{i:06d}/file-{i:06d}.csv" for i in range(n)]
    daemon.store.touch_resources(TARGET, urls, seen_at=utcnow())
    db = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    db.execute(
        "UPDATE resources SET etag = printf('\"%08x\"', id), last_modified = ?, "
        "sha256 = printf('%064x', id)",
        (LAST_MODIFIED,),
    )
    db.close()
    return urls


def test_validators_come_from_the_bulk_load_never_from_per_url_queries(
    make_daemon: Callable[..., Daemon], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon = make_daemon()
    urls = _stored_files(daemon, tmp_path, 3)
    first = daemon.store.resource(urls[0])
    assert first is not None
    asked: list[str] = []
    monkeypatch.setattr(daemon.store, "resource", asked.append)

    daemon.start_loading_validators()

    assert daemon.validators(urls[0]) == Validators(first.etag, LAST_MODIFIED, first.sha256)
    assert daemon.validators(BASE + "new.csv") == Validators(None, None, None)  # full fetch
    assert asked == []


@pytest.fixture
def slow_load(monkeypatch: pytest.MonkeyPatch) -> Callable[[Daemon], threading.Event]:
    """Make a daemon's bulk load wait for the returned event before reading the store."""

    def slow(daemon: Daemon) -> threading.Event:
        release = threading.Event()
        real = daemon.store.validators

        def validators(target: str) -> Iterator[tuple[str, str | None, str | None, str]]:
            release.wait(10)
            yield from real(target)

        monkeypatch.setattr(daemon.store, "validators", validators)
        return release

    return slow


def test_while_the_bulk_load_runs_past_its_wait_files_are_held_not_fetched_in_full(
    make_daemon: Callable[..., Daemon],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    slow_load: Callable[[Daemon], threading.Event],
) -> None:
    monkeypatch.setattr(daemon_module, "_LOAD_WAIT_S", 0.2)
    daemon = make_daemon()
    urls = _stored_files(daemon, tmp_path, 2)
    release = slow_load(daemon)
    asked: list[str] = []
    monkeypatch.setattr(daemon.store, "resource", asked.append)
    daemon.start_loading_validators()

    started = time.monotonic()
    held = daemon.validators(urls[0])
    again = daemon.validators(urls[1])
    waited = time.monotonic() - started

    assert held.hold is not None
    assert "loading" in held.hold
    assert again.hold is not None
    assert waited < 1.0  # the reactor waited once, at most the budget, not per file
    release.set()
    wait_for(daemon._loaded.is_set)
    assert daemon.validators(urls[0]).sha256 is not None
    assert asked == []


def test_a_file_found_gone_during_the_bulk_load_is_not_brought_back(
    make_daemon: Callable[..., Daemon],
    tmp_path: Path,
    slow_load: Callable[[Daemon], threading.Event],
) -> None:
    daemon = make_daemon()
    urls = _stored_files(daemon, tmp_path, 3)
    release = slow_load(daemon)
    daemon.start_loading_validators()

    daemon._gone(TARGET, urls[1], "file removed (HTTP 404)")
    release.set()
    wait_for(daemon._loaded.is_set)

    assert daemon.validators(urls[0]).sha256 is not None
    assert daemon.validators(urls[1]) == Validators(None, None, None)


def test_a_complete_poll_marks_the_unlinked_files_gone(
    make_daemon: Callable[..., Daemon], tmp_path: Path
) -> None:
    daemon = make_daemon()
    urls = _stored_files(daemon, tmp_path, 5)

    daemon._unlinked(TARGET, set(urls[:3]))

    assert [s.url for s in daemon.store.resources(TARGET)] == urls[:3]
    gone = [s.url for s in daemon.store.resources(TARGET, include_gone=True) if s.gone_at]
    assert gone == urls[3:]


def test_validators_in_memory_take_well_under_a_kilobyte_per_file(
    make_daemon: Callable[..., Daemon], tmp_path: Path
) -> None:
    daemon = make_daemon()
    n = 5000
    _stored_files(daemon, tmp_path, n)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        daemon._loading = True
        daemon._load_validators()  # on this thread, so that tracemalloc sees it all
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(daemon._validators) == n
    per_file = (after - before) / n
    assert per_file < 1024, per_file


def test_a_restarted_daemon_polls_conditionally_from_validators_loaded_in_bulk(
    tmp_path: Path,
) -> None:
    # `leakmon run` as a real process, stopped and started again on the same store: the
    # first request of every file after the restart is conditional (no file downloaded
    # and scanned again), because the validators were loaded before the poll needed them.
    from monitor.standin import Portal
    from tests.faults.harness import Daemon as Process
    from tests.faults.harness import wait_until

    portal = Portal().start()
    names = [f"counts-{i}.csv" for i in range(8)]
    try:
        for i, name in enumerate(names):
            portal.publish(name, f"region,count\nnorth,{i}\nsouth,{i + 1}\n".encode())
        storage = f"sqlite:///{tmp_path / 'state.db'}"
        daemon = Process(tmp_path, storage=storage, portal_url=portal.url, poll=1)
        daemon.start().wait_ready()
        try:
            everyone_conditional = lambda: all(  # noqa: E731
                portal.conditional_requests(n) >= 1 for n in names
            )
            assert wait_until(everyone_conditional, 120), daemon.logs()[-3000:]
        finally:
            daemon.stop()
        with portal._lock:
            portal.requests.clear()

        daemon.start().wait_ready()
        try:
            asked = lambda: all(  # noqa: E731
                any(path == f"/data/{n}" for _, path, _ in portal.requests) for n in names
            )
            assert wait_until(asked, 60), daemon.logs()[-3000:]
            with portal._lock:
                firsts = {}
                for _, path, conditional in portal.requests:
                    firsts.setdefault(path, conditional)
            assert all(firsts[f"/data/{n}"] for n in names), firsts
            assert f"validators of {len(names)} file(s) loaded" in daemon.logs()
        finally:
            daemon.stop()
    finally:
        portal.stop()
