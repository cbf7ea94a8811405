"""The isolated scanner: a worker killed by a memory or time limit is reported; the next scans."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import pytest

from monitor.config import LimitsConfig, ScanConfig
from monitor.isolation import WORKER_KILLED, IsolatedScanner
from tests import synthetic
from tests.readers.test_pdf import _pdf, _text

if TYPE_CHECKING:
    from pathlib import Path


def _scanner(**limits: float) -> IsolatedScanner:
    return IsolatedScanner(ScanConfig(limits=LimitsConfig(**limits), free_text_analysis=False))


def _big_json(path: Path, records: int = 1_500_000) -> Path:
    # About 90 MB of small records: json.loads needs several times that in objects.
    path.write_text(
        '{"data": [' + '{"id": 1, "name": "person", "tags": [1, 2, 3]},' * records + "{}]}"
    )
    return path


#: Pages of text that keep pdfminer busy well past a few seconds: about 17 s (3,000 pages
#: took 3.5 s at load 4 on this 2-core machine).
SLOW_PDF_PAGES = 15_000


def _long_pdf(path: Path, pages: int = 3_000) -> Path:
    return _pdf(path, [_text(72, 750, f"Page {n} of the register") for n in range(1, pages + 1)])


def _assert_next_file_scans(scanner: IsolatedScanner, tmp_path: Path) -> None:
    leak = synthetic.ccw_applicants_csv(tmp_path / "next", rows=50)
    report = scanner.scan(leak)
    assert report.error is None
    assert report.rows == 50
    assert report.findings


def test_worker_over_its_memory_limit_is_killed_and_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # 1024 MiB of address space holds a worker with polars and the bundled name lists
    # loaded and a small file, but not a 90 MB JSON document. (800 MiB held it before
    # the wider name lists of this round; now a small file's scan aborts there 2 runs in 3.)
    scanner = _scanner(worker_memory_mb=1024)
    path = _big_json(tmp_path / "huge.json")
    with caplog.at_level(logging.ERROR, logger="monitor.isolation"):
        report = scanner.scan(path, source="https://portal.example/huge.json")
    assert report.error is not None
    assert report.error.startswith(f"{WORKER_KILLED}: scan worker ")
    assert "ran out of memory (limit 1024 MiB, worker_memory_mb)" in report.error or (
        "died before reporting" in report.error
    )
    assert report.file == "https://portal.example/huge.json"
    assert report.size == path.stat().st_size
    assert report.findings == ()
    assert "scan of https://portal.example/huge.json failed: ScanWorkerKilled" in caplog.text
    _assert_next_file_scans(scanner, tmp_path)


def test_worker_over_its_time_limit_is_killed_and_reported(tmp_path: Path) -> None:
    # A realistic slow file, a long PDF register. The limit is over what a fresh worker's
    # first small file (the next one) took on 2 loaded cores.
    scanner = IsolatedScanner(
        ScanConfig(limits=LimitsConfig(worker_timeout_s=6, max_pdf_pages=SLOW_PDF_PAGES))
    )
    path = _long_pdf(tmp_path / "register.pdf", SLOW_PDF_PAGES)
    started = time.monotonic()
    report = scanner.scan(path)
    elapsed = time.monotonic() - started
    assert report.error == (
        f"{WORKER_KILLED}: scan worker exceeded the time limit of 6 s (worker_timeout_s)"
    )
    assert 6 <= elapsed < 12  # killed at the limit, not left to finish
    assert report.seconds == pytest.approx(elapsed, abs=0.5)
    _assert_next_file_scans(scanner, tmp_path)


def test_worker_that_dies_before_reporting_says_how_it_ended(tmp_path: Path) -> None:
    # 200 MiB is below what a worker needs to start polars' threads: it aborts.
    scanner = _scanner(worker_memory_mb=200)
    report = scanner.scan(synthetic.ccw_applicants_csv(tmp_path, rows=5))
    assert report.error is not None
    assert report.error.startswith(f"{WORKER_KILLED}: scan worker ")
    assert "died before reporting" in report.error or "ran out of memory" in report.error
    if "died" in report.error:
        assert "; signal SIG" in report.error or "; exit code" in report.error


def test_max_pdf_pages_keeps_a_3000_page_pdf_within_the_time_limit(tmp_path: Path) -> None:
    # The same 3,000-page file with the default page limit is read, not killed.
    scanner = IsolatedScanner(
        ScanConfig(limits=LimitsConfig(worker_timeout_s=60, max_pdf_pages=50))
    )
    report = scanner.scan(_long_pdf(tmp_path / "register.pdf"))
    assert report.error is None
    assert report.rows == 50
