"""In the daemon, a file that kills its scan worker is reported as not checked, never dropped."""

from __future__ import annotations

import contextlib
import json
import signal
import time
from typing import TYPE_CHECKING

import psutil

from monitor.standin import Portal
from tests import synthetic
from tests.faults.harness import Daemon, HoldingReceiver, wait_until
from tests.test_isolation import SLOW_PDF_PAGES, _long_pdf

if TYPE_CHECKING:
    from pathlib import Path


def test_file_that_kills_its_worker_becomes_a_file_limit_finding(tmp_path: Path) -> None:
    slow = _long_pdf(tmp_path / "register.pdf", SLOW_PDF_PAGES)
    leak = synthetic.ccw_applicants_csv(tmp_path / "leak", rows=100)
    portal = Portal().start()
    receiver = HoldingReceiver().start()
    portal.publish("register.pdf", slow.read_bytes(), media_type="application/pdf")
    portal.publish("permits.csv", leak.read_bytes())
    daemon = Daemon(
        tmp_path,
        storage=f"sqlite:///{tmp_path / 'state.db'}",
        portal_url=portal.url,
        receiver_url=receiver.url,
        # 6 s: the long PDF needs about 17 s; a worker's first file (the detector built,
        # first imports) took over 1.5 s here on 2 cores shared with other jobs.
        extra={"scan": {"limits": {"worker_timeout_s": 6, "max_pdf_pages": SLOW_PDF_PAGES}}},
    )

    def alerts() -> dict[str, dict]:
        docs = [json.loads(post.body) for post in receiver.posts]
        return {doc["resource_url"].rsplit("/", 1)[-1]: doc for doc in docs}

    try:
        daemon.start().wait_ready()
        assert wait_until(lambda: {"register.pdf", "permits.csv"} <= set(alerts()), 60), (
            f"{receiver.posts}\n{daemon.logs()[-3000:]}"
        )
        assert daemon.alive()
        errors = daemon.metric("leakmon_scan_errors_total")
    finally:
        daemon.stop()
        receiver.stop()
        portal.stop()
    killed = alerts()["register.pdf"]
    text = json.dumps(killed)
    assert "FILE_LIMIT" in text
    assert (
        "could not be fully checked: ScanWorkerKilled: scan worker exceeded the time limit" in text
    )
    assert errors >= 1
    assert "failed: ScanWorkerKilled: scan worker exceeded the time limit" in daemon.logs()
    # The worker after the killed one scanned the leak as usual.
    assert "FILE_LIMIT" not in json.dumps(alerts()["permits.csv"])


def _scan_workers(daemon_pid: int) -> set[int]:
    """Return the daemon's scan workers: the forkserver's children (grandchildren of the daemon)."""
    try:
        children = psutil.Process(daemon_pid).children()
    except psutil.NoSuchProcess:
        return set()
    workers = set()
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            workers |= {grandchild.pid for grandchild in child.children()}
    return workers


def test_sigterm_during_a_long_scan_stops_the_daemon_at_once(tmp_path: Path) -> None:
    slow = _long_pdf(tmp_path / "register.pdf", SLOW_PDF_PAGES)  # about 17 s of pdfminer
    portal = Portal().start()
    receiver = HoldingReceiver().start()
    portal.publish("register.pdf", slow.read_bytes(), media_type="application/pdf")
    daemon = Daemon(
        tmp_path,
        storage=f"sqlite:///{tmp_path / 'state.db'}",
        portal_url=portal.url,
        receiver_url=receiver.url,
        extra={"scan": {"limits": {"worker_timeout_s": 900, "max_pdf_pages": SLOW_PDF_PAGES}}},
    )
    try:
        daemon.start().wait_ready()
        assert daemon.proc is not None
        pid = daemon.proc.pid
        assert wait_until(lambda: _scan_workers(pid), 60), daemon.logs()[-3000:]
        workers = _scan_workers(pid)
        time.sleep(2)  # well into the file, far from its end
        started = time.monotonic()
        daemon.proc.send_signal(signal.SIGTERM)
        daemon.proc.wait(timeout=30)
        took = time.monotonic() - started
    finally:
        daemon.stop()
        receiver.stop()
        portal.stop()
    assert took < 10, daemon.logs()[-3000:]
    assert not any(_alive(w) for w in workers)
    # Cut short by the stop, not by the file: no FILE_LIMIT, and scanned again at the next start.
    assert "interrupted by shutdown" in daemon.logs()
    assert not receiver.posts


def _alive(pid: int) -> bool:
    with contextlib.suppress(psutil.NoSuchProcess):
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    return False
