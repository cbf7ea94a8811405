"""A target with no ``kind:`` is detected (here: a CKAN portal) and watched like any other."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import pytest

from monitor.standin import Receiver
from tests import synthetic
from tests.net import free_port
from tests.portals import CkanPortal

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.timeout(120)


def test_ckan_portal_without_kind_is_detected_and_paged(tmp_path: Path) -> None:
    portal, receiver = CkanPortal().start(), Receiver().start()
    log = tmp_path / "daemon.log"
    proc = None
    try:
        portal.publish(
            "ccw-counts",
            "ccw_counts.csv",
            synthetic.clean_aggregate_csv(tmp_path / "f").read_bytes(),
        )
        config = tmp_path / "leakmon.yaml"
        config.write_text(
            json.dumps(
                {
                    "storage": f"sqlite:///{tmp_path / 'state.db'}",
                    "http": {"listen": f"127.0.0.1:{free_port()}"},
                    "targets": [
                        {
                            "name": "portal",
                            "start_urls": [portal.url],
                            "every": "5s",
                            "allowed_domains": ["127.0.0.1"],
                        }
                    ],
                    "notify": [{"name": "hook", "kind": "webhook", "url": receiver.url}],
                    "crawl": {"autothrottle": False},
                }
            )
        )
        with log.open("w") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "monitor.cli", "run", "--config", str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        time.sleep(6)
        leak = synthetic.ccw_applicants_csv(tmp_path / "leak", rows=200).read_bytes()
        portal.publish("ccw-permits", "permits_export.csv", leak)
        posts = receiver.wait_for(1, timeout=40)
        assert posts, log.read_text()[-3000:]
        assert posts[0].json()["portal"] == "ckan"
        assert "detected portal kind ckan" in log.read_text()
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=20)
        portal.stop()
        receiver.stop()
