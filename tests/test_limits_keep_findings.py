"""A limit, a kill or a shutdown never resolves a finding: only a complete scan does.

The daemon in process (real store, real isolated scan workers, real files): a
leak is found by a complete scan, then a new version of the same URL hits one
limit of each kind. The leak's findings must stay open, a "could not be
checked" finding must open, the version must not be marked as seen (the stored
validators stay those of the last complete scan) and the file must be held for
a retry with backoff rather than fetched on every poll. A later complete scan
resolves what it no longer finds, the "could not be checked" finding included.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from prometheus_client import CollectorRegistry

from monitor.config import Settings
from monitor.daemon import Daemon
from monitor.isolation import WORKER_KILLED
from monitor.metrics import Metrics
from monitor.models import FetchedFile, utcnow
from tests import synthetic
from tests.test_isolation import SLOW_PDF_PAGES, _big_json, _long_pdf

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

URL = "https://data.example.gov/files/permits"
TARGET = "portal"
ENCRYPTED = Path(__file__).parent / "data" / "files" / "encrypted.xlsx"


def _daemon(tmp_path: Path, **limits: Any) -> Daemon:
    settings = Settings.model_validate(
        {
            "storage": f"sqlite:///{tmp_path / 'state.db'}",
            "http": {"listen": "127.0.0.1:0"},
            "scan_workers": 1,
            "scan": {"free_text_analysis": False, "limits": limits, "retry_unchecked": "10m"},
        }
    )
    d = Daemon(settings, Metrics(registry=CollectorRegistry()))
    d.store.migrate()
    return d


@pytest.fixture
def make_daemon(tmp_path: Path) -> Iterator[Callable[..., Daemon]]:
    made: list[Daemon] = []

    def make(**limits: Any) -> Daemon:
        made.append(_daemon(tmp_path, **limits))
        return made[-1]

    yield make
    for d in made:
        d.pool.shutdown(wait=True)
        d.store.close()


def _fetched(path: Path, version: str) -> FetchedFile:
    # The daemon deletes what it scans: give it a copy.
    copy = path.with_name(f"v-{version}-{path.name}")
    shutil.copyfile(path, copy)
    return FetchedFile(
        target=TARGET,
        url=URL,
        path=copy,
        sha256=hashlib.sha256(copy.read_bytes()).hexdigest(),
        size=copy.stat().st_size,
        media_type=None,
        etag=f'"{version}"',
        last_modified=None,
        fetched_at=utcnow(),
    )


def _scan(daemon: Daemon, fetched: FetchedFile) -> None:
    daemon.store.touch_resource(TARGET, URL, seen_at=fetched.fetched_at)
    daemon._scan(fetched)


def _open(daemon: Daemon) -> dict[str, str]:
    return {
        f.key: f.entity
        for f in daemon.store.findings(open_only=True, target=TARGET)
        if f.resource_url == URL
    }


def _leak_then(daemon: Daemon, tmp_path: Path) -> dict[str, str]:
    leak = synthetic.ccw_applicants_csv(tmp_path / "leak", rows=200)
    _scan(daemon, _fetched(leak, "v1"))
    found = _open(daemon)
    assert "PERSON" in found.values(), found
    assert daemon.validators(URL).etag == '"v1"'
    return found


def _assert_kept_and_held(daemon: Daemon, before: dict[str, str], reason: str) -> None:
    after = _open(daemon)
    assert set(before) <= set(after), "a limit resolved a finding"
    limits = [k for k, e in after.items() if e == "FILE_LIMIT"]
    assert len(limits) == 1, after
    [record] = [f for f in daemon.store.findings(open_only=True) if f.key == limits[0]]
    assert "could not be" in record.reason
    assert reason in record.reason
    # Not marked as seen: the stored validators are still the last complete version's.
    state = daemon.store.resource(URL)
    assert state is not None
    assert state.etag == '"v1"'
    # Held for a retry with backoff: not fetched in the next polls.
    held = daemon.validators(URL)
    assert held.hold is not None
    assert "could not check" in held.hold


def _assert_retry_then_resolves(daemon: Daemon, tmp_path: Path) -> None:
    failures, _, why = daemon._retry[URL]
    daemon._retry[URL] = (failures, 0.0, why)  # the backoff has run out
    assert daemon.validators(URL).hold is None
    clean = synthetic.clean_aggregate_csv(tmp_path / "clean")
    _scan(daemon, _fetched(clean, "v3"))
    # The complete scan resolved the leak and the "could not be checked" finding; what
    # is left is the drift from the leak's columns to the clean file's.
    assert set(_open(daemon).values()) == {"SCHEMA_DRIFT"}
    assert daemon.store.resource(URL).etag == '"v3"'
    assert URL not in daemon._retry


def test_file_too_large_for_the_reader_keeps_findings(make_daemon, tmp_path):
    daemon = make_daemon(max_file_mb=1)
    before = _leak_then(daemon, tmp_path)
    big = synthetic.ccw_applicants_csv(tmp_path / "big", rows=20_000)
    assert big.stat().st_size > 1024**2
    _scan(daemon, _fetched(big, "v2"))
    _assert_kept_and_held(daemon, before, "FileTooLarge")
    _assert_retry_then_resolves(daemon, tmp_path)


def test_worker_killed_by_its_time_limit_keeps_findings(make_daemon, tmp_path):
    # Long enough to outlast the limit (3,000 pages now scan in under 3 s).
    daemon = make_daemon(worker_timeout_s=3, max_pdf_pages=SLOW_PDF_PAGES)
    before = _leak_then(daemon, tmp_path)
    _scan(daemon, _fetched(_long_pdf(tmp_path / "register.pdf", SLOW_PDF_PAGES), "v2"))
    _assert_kept_and_held(daemon, before, "exceeded the time limit")
    _assert_retry_then_resolves(daemon, tmp_path)


def test_worker_killed_by_its_memory_limit_keeps_findings(make_daemon, tmp_path):
    # The leak is found with the default limit; then the same store, under a limit the
    # big document cannot fit (800 MiB may not hold a worker with every name list).
    before = _leak_then(make_daemon(), tmp_path)
    daemon = make_daemon(worker_memory_mb=800)
    _scan(daemon, _fetched(_big_json(tmp_path / "huge.json"), "v2"))
    _assert_kept_and_held(daemon, before, WORKER_KILLED)
    # A later complete scan (by a worker with room again) resolves.
    again = make_daemon()
    again._retry[URL] = daemon._retry[URL]
    _assert_retry_then_resolves(again, tmp_path)


def test_encrypted_file_keeps_findings(make_daemon, tmp_path):
    daemon = make_daemon()
    before = _leak_then(daemon, tmp_path)
    encrypted = tmp_path / ENCRYPTED.name  # a copy: the fixture stays where it is
    shutil.copyfile(ENCRYPTED, encrypted)
    _scan(daemon, _fetched(encrypted, "v2"))
    _assert_kept_and_held(daemon, before, "EncryptedFile")
    _assert_retry_then_resolves(daemon, tmp_path)


def test_download_over_the_limit_keeps_findings(make_daemon, tmp_path):
    daemon = make_daemon()
    before = _leak_then(daemon, tmp_path)
    daemon._too_large(TARGET, URL, "too large: over the download limit of 1048576 bytes")
    _assert_kept_and_held(daemon, before, "over the download limit")
    _assert_retry_then_resolves(daemon, tmp_path)


def test_damaged_file_keeps_findings_and_says_so(make_daemon, tmp_path):
    daemon = make_daemon()
    before = _leak_then(daemon, tmp_path)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(ENCRYPTED.read_bytes()[:100])  # not a workbook any more
    _scan(daemon, _fetched(broken, "v2"))
    _assert_kept_and_held(daemon, before, "CorruptFile")


def test_scan_stopped_by_shutdown_changes_nothing(make_daemon, tmp_path):
    # Long enough to outlast the limit (3,000 pages now scan in under 3 s).
    daemon = make_daemon(worker_timeout_s=3, max_pdf_pages=SLOW_PDF_PAGES)
    before = _leak_then(daemon, tmp_path)
    daemon._stop.set()  # the daemon is stopping when the worker comes back killed
    _scan(daemon, _fetched(_long_pdf(tmp_path / "register.pdf", SLOW_PDF_PAGES), "v2"))
    assert _open(daemon) == before  # nothing resolved, nothing added
    assert daemon.store.resource(URL).etag == '"v1"'
    assert daemon.validators(URL).hold is None  # fetched and scanned again at the next start


def test_backoff_doubles_with_each_failure(make_daemon, tmp_path):
    daemon = make_daemon()
    waits = []
    for _ in range(4):
        daemon._retry_later(URL, "FileTooLarge: test")
        _, due, _ = daemon._retry[URL]
        waits.append(round(due - time.monotonic()))
    assert waits == [600, 1200, 2400, 4800]
    for _ in range(20):
        daemon._retry_later(URL, "FileTooLarge: test")
    assert daemon._retry[URL][1] - time.monotonic() <= 86400
