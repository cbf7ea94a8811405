"""In the daemon, a file that kills its scan worker is reported as not checked, never dropped."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from monitor.standin import Portal
from tests import synthetic
from tests.faults.harness import Daemon, HoldingReceiver, wait_until
from tests.test_isolation import _long_pdf

if TYPE_CHECKING:
    from pathlib import Path


def test_file_that_kills_its_worker_becomes_a_file_limit_finding(tmp_path: Path) -> None:
    slow = _long_pdf(tmp_path / "register.pdf")
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
        extra={"scan": {"limits": {"worker_timeout_s": 1.5, "max_pdf_pages": 3000}}},
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
