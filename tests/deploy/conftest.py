"""One real ``leakmon run`` shared by the deploy tests that need its /metrics.

It watches two stand-in portals on 127.0.0.1 and pages a stand-in webhook receiver:
``standin`` publishes a clean file, a leaking file and a broken one from the start;
``quiet`` publishes nothing until a test does (the live Prometheus test publishes a leak
and a broken file there after Prometheus has scraped its counters at zero).
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest

from monitor.standin import Portal, Receiver
from tests import synthetic
from tests.net import free_port
from tests.processes import stop_process

if TYPE_CHECKING:
    from collections.abc import Iterator

POLL_SECONDS = 2
#: A ZIP signature and nothing else: the spreadsheet reader fails on it (a scan error).
BROKEN_XLSX = b"PK\x03\x04 not a workbook"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="package")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("coverage")
    portal, quiet, receiver = Portal().start(), Portal().start(), Receiver().start()
    portal.publish("counts.csv", synthetic.clean_aggregate_csv(tmp / "files").read_bytes())
    leak = synthetic.ccw_applicants_csv(tmp / "files", rows=300)
    portal.publish("permits_export.csv", leak.read_bytes())
    portal.publish("roster.xlsx", BROKEN_XLSX, XLSX_TYPE)
    port = free_port()
    config = tmp / "leakmon.yaml"
    config.write_text(
        json.dumps(
            {
                "storage": f"sqlite:///{tmp / 'state.db'}",
                "http": {"listen": f"127.0.0.1:{port}"},
                "targets": [
                    {
                        "name": name,
                        "start_urls": [site.url],
                        "every": f"{POLL_SECONDS}s",
                        "allowed_domains": ["127.0.0.1"],
                    }
                    for name, site in (("standin", portal), ("quiet", quiet))
                ],
                "notify": [
                    {"name": "hook", "kind": "webhook", "url": receiver.url, "min_severity": "high"}
                ],
                "crawl": {"autothrottle": False},
            }
        )
    )
    log_path = tmp / "daemon.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "run", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            yield {
                "proc": proc,
                "tmp": tmp,
                "config": config,
                "port": port,
                "url": f"http://127.0.0.1:{port}",
                "log": log_path,
                "portal": portal,
                "quiet": quiet,
                "files": tmp / "files",
            }
        finally:
            stop_process(proc)
            portal.stop()
            quiet.stop()
            receiver.stop()
