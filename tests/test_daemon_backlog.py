"""The daemon's scan backlog: a file waiting for its scan is counted and not downloaded again."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from monitor.crawl import Validators
from tests.inprocess import report, wait_for
from tests.test_daemon_store import URL, _fetched, make_daemon

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    import pytest

    from monitor.daemon import Daemon
    from monitor.models import FileReport

__all__ = ["make_daemon"]  # the fixture, shared with the store tests


def test_a_file_waiting_for_its_scan_is_held_counted_and_released_when_scanned(
    make_daemon: Callable[[], Daemon], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon = make_daemon()
    scanning, finish = threading.Event(), threading.Event()

    def scan(path: Path, *, source: str, media_type: str | None) -> FileReport:
        scanning.set()
        finish.wait(30)
        return report(source)

    monkeypatch.setattr(daemon.scanner, "scan", scan)
    fetched = _fetched(tmp_path)
    daemon.on_file(fetched)
    assert scanning.wait(30)
    # The next poll must not download it again while the first body is in its scan.
    assert daemon.validators(URL).hold == "downloaded, its scan has not finished"
    assert (daemon.backlog.files, daemon.backlog.bytes) == (1, fetched.size)
    finish.set()
    wait_for(lambda: daemon.backlog.files == 0)
    daemon.pool.submit(lambda: None).result(timeout=30)
    assert daemon.backlog.bytes == 0
    assert daemon.validators(URL) == Validators('"v1"', fetched.last_modified, fetched.sha256)
