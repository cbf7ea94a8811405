"""Long-lived scan workers: reused for many files, replaced after a limit, N files or a reload."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import pytest

from monitor.config import LimitsConfig, ScanConfig
from monitor.isolation import WORKER_KILLED, IsolatedScanner
from tests import synthetic
from tests.test_isolation import SLOW_PDF_PAGES, _big_json, _long_pdf

if TYPE_CHECKING:
    from collections.abc import Iterator


#: Under the slow PDF's ~17 s, and over what a fresh worker's first small file took
#: here (over 1.5 s at load 8-12 on the 2 shared cores: the detector built, first imports).
_SLOW_FILE_LIMIT = 6.0


def _config(**limits: float) -> ScanConfig:
    return ScanConfig(limits=LimitsConfig(**limits), free_text_analysis=False)


@pytest.fixture
def leak(tmp_path: Path) -> Path:
    return synthetic.ccw_applicants_csv(tmp_path / "leak", rows=30)


@pytest.fixture
def scanners() -> Iterator[list[IsolatedScanner]]:
    """Scanners a test makes; closed at the end even when the test fails."""
    made: list[IsolatedScanner] = []
    yield made
    for scanner in made:
        scanner.close()


def _scanner(scanners: list[IsolatedScanner], config: ScanConfig) -> IsolatedScanner:
    scanner = IsolatedScanner(config)
    scanners.append(scanner)
    return scanner


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while _running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _descendants() -> set[int]:
    return {child.pid for child in psutil.Process().children(recursive=True)}


def _scan_ok(scanner: IsolatedScanner, path: Path) -> int:
    """Scan a small leak, check its report, and return the pid of the worker that scanned it."""
    report = scanner.scan(path)
    assert report.error is None, report.error
    assert report.rows == 30
    assert report.findings
    (pid,) = scanner.worker_pids()
    return pid


def test_many_small_files_are_scanned_by_one_worker(
    scanners: list[IsolatedScanner], leak: Path
) -> None:
    scanner = _scanner(scanners, _config())
    pids = [_scan_ok(scanner, leak) for _ in range(25)]
    assert len(set(pids)) == 1
    assert pids[0] in _descendants()  # a real process of ours, alive between files
    assert scanner.workers_started == 1
    assert 0 < scanner.worker_cpu_s < 25 * 5  # reported by the worker; seconds, not ms


def test_worker_is_replaced_after_worker_max_files(
    scanners: list[IsolatedScanner], leak: Path
) -> None:
    scanner = _scanner(scanners, _config(worker_max_files=3))
    seen: list[int] = []
    for n in range(9):
        report = scanner.scan(leak)
        assert report.error is None
        assert report.findings
        if n % 3 == 2:
            # The third file of each worker is its last: it is stopped as the file is reported.
            assert scanner.worker_pids() == set()
        else:
            seen.extend(scanner.worker_pids())
    assert len(seen) == 6
    assert scanner.workers_started == 3
    assert seen[0] == seen[1] != seen[2] == seen[3] != seen[4] == seen[5]
    assert all(_gone(pid) for pid in seen)


def test_worker_is_replaced_when_its_memory_passes_worker_recycle_mb(
    scanners: list[IsolatedScanner], leak: Path
) -> None:
    # 1 MiB: every worker holds more than that after a file, so none takes a second file.
    scanner = _scanner(scanners, _config(worker_recycle_mb=1))
    first = scanner.scan(leak)
    assert first.error is None
    assert scanner.worker_pids() == set()
    # With the default bound the same file leaves its worker waiting for the next.
    other = _scanner(scanners, _config())
    _scan_ok(other, leak)


def test_next_file_after_a_timeout_is_scanned_by_a_fresh_worker(
    scanners: list[IsolatedScanner], leak: Path, tmp_path: Path
) -> None:
    scanner = _scanner(
        scanners, _config(worker_timeout_s=_SLOW_FILE_LIMIT, max_pdf_pages=SLOW_PDF_PAGES)
    )
    warm = _scan_ok(scanner, leak)
    report = scanner.scan(_long_pdf(tmp_path / "register.pdf", SLOW_PDF_PAGES))
    assert report.error == (
        f"{WORKER_KILLED}: scan worker exceeded the time limit of {_SLOW_FILE_LIMIT:g} s"
        " (worker_timeout_s)"
    )
    assert _gone(warm)
    assert scanner.worker_pids() == set()
    fresh = _scan_ok(scanner, leak)
    assert fresh != warm
    assert _scan_ok(scanner, leak) == fresh  # and that one is kept


def test_next_file_after_a_memory_kill_is_scanned_by_a_fresh_worker(
    scanners: list[IsolatedScanner], leak: Path, tmp_path: Path
) -> None:
    scanner = _scanner(scanners, _config(worker_memory_mb=1024))
    path = _big_json(tmp_path / "huge.json")
    busy: list[int] = []
    watcher = threading.Thread(target=lambda: busy.extend(_first_pids(scanner, 30)))
    watcher.start()
    report = scanner.scan(path, source="https://portal.example/huge.json")
    watcher.join()
    assert report.error is not None
    assert report.error.startswith(f"{WORKER_KILLED}: scan worker ")
    assert report.file == "https://portal.example/huge.json"
    assert len(busy) == 1
    assert _gone(busy[0])
    after = scanner.scan(leak)
    assert after.error is None
    assert after.findings


def _first_pids(scanner: IsolatedScanner, within: float) -> set[int]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        pids = scanner.worker_pids()
        if pids:
            return pids
        time.sleep(0.01)
    return set()


def test_a_changed_configuration_replaces_the_workers(
    scanners: list[IsolatedScanner], leak: Path, tmp_path: Path
) -> None:
    scanner = _scanner(scanners, _config(max_pdf_pages=SLOW_PDF_PAGES))
    old = _scan_ok(scanner, leak)
    scanner.reconfigure(_config(max_pdf_pages=SLOW_PDF_PAGES))  # the same settings: nothing to do
    assert scanner.worker_pids() == {old}
    scanner.reconfigure(_config(worker_timeout_s=_SLOW_FILE_LIMIT, max_pdf_pages=SLOW_PDF_PAGES))
    assert _gone(old)
    # The new worker obeys the new limit.
    report = scanner.scan(_long_pdf(tmp_path / "register.pdf", SLOW_PDF_PAGES))
    assert report.error == (
        f"{WORKER_KILLED}: scan worker exceeded the time limit of {_SLOW_FILE_LIMIT:g} s"
        " (worker_timeout_s)"
    )
    assert _scan_ok(scanner, leak) != old


def test_two_threads_share_at_most_two_workers(scanners: list[IsolatedScanner], leak: Path) -> None:
    scanner = _scanner(scanners, _config())
    seen: set[int] = set()

    def scan(_: int) -> None:
        report = scanner.scan(leak)
        assert report.error is None
        seen.update(scanner.worker_pids())

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(scan, range(40)))
    assert 1 <= len(seen) <= 2
    assert scanner.worker_pids() <= seen


def test_close_leaves_no_worker_process(scanners: list[IsolatedScanner], leak: Path) -> None:
    scanner = _scanner(scanners, _config())
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: scanner.scan(leak), range(10)))
    pids = scanner.worker_pids()
    assert pids
    assert pids <= _descendants()
    scanner.close()
    assert scanner.worker_pids() == set()
    assert all(_gone(pid) for pid in pids)
    assert not pids & _descendants()
    late = scanner.scan(leak)
    assert late.error == (
        f"{WORKER_KILLED}: scan worker stopped: the scanner is closed (leakmon stopping)"
    )
    assert not _descendants() & scanner.worker_pids()


def test_close_stops_a_busy_worker_at_once(scanners: list[IsolatedScanner], tmp_path: Path) -> None:
    scanner = _scanner(scanners, _config(worker_timeout_s=120, max_pdf_pages=SLOW_PDF_PAGES))
    slow = _long_pdf(tmp_path / "register.pdf", SLOW_PDF_PAGES)
    reports = []
    scanning = threading.Thread(target=lambda: reports.append(scanner.scan(slow)))
    scanning.start()
    (pid,) = _first_pids(scanner, 30)
    time.sleep(0.5)  # the worker is reading the pages (about 17 s)
    started = time.monotonic()
    scanner.close()
    scanning.join(10)
    assert not scanning.is_alive()
    assert time.monotonic() - started < 3
    assert _gone(pid)
    (report,) = reports
    assert report.error == (
        f"{WORKER_KILLED}: scan worker stopped: the scanner was closed (leakmon stopping)"
    )


_KILLED_PARENT = """
import os, signal, sys
from pathlib import Path
from monitor.config import ScanConfig
from monitor.isolation import IsolatedScanner

if __name__ == "__main__":
    scanner = IsolatedScanner(ScanConfig(free_text_analysis=False))
    assert scanner.scan(Path(sys.argv[1])).error is None
    print(*scanner.worker_pids(), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # no close(), no atexit: as if the OOM killer struck
"""


def test_workers_exit_when_the_daemon_is_killed(tmp_path: Path, leak: Path) -> None:
    script = tmp_path / "killed_parent.py"
    script.write_text(_KILLED_PARENT)
    done = subprocess.run(
        [sys.executable, str(script), str(leak)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    (pid,) = (int(word) for word in done.stdout.split())
    assert _gone(pid, within=10)  # its pipe closed with the parent: it exits by itself


def test_a_worker_left_idle_is_stopped_and_the_next_file_starts_one(
    scanners: list[IsolatedScanner], leak: Path
) -> None:
    scanner = IsolatedScanner(_config(), idle_stop_s=1.0)
    scanners.append(scanner)
    first = _scan_ok(scanner, leak)
    assert _scan_ok(scanner, leak) == first  # within the idle time: kept
    assert _gone(first, within=10)
    assert scanner.worker_pids() == set()
    assert _scan_ok(scanner, leak) != first
    assert scanner.workers_started == 2


def test_a_worker_has_numpy_loaded_before_it_caps_its_address_space(
    scanners: list[IsolatedScanner], leak: Path
) -> None:
    # Set up under RLIMIT_AS, numpy's OpenBLAS hung or failed (1 read in 3): every worker
    # must get numpy from the forkserver, even when its readers have not imported it.
    scanner = _scanner(scanners, _config())
    pid = _scan_ok(scanner, leak)  # a CSV: nothing in this scan needs numpy
    maps = Path(f"/proc/{pid}/maps").read_text()
    assert "/numpy/" in maps
