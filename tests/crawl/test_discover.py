"""`leakmon discover URL` crawls like a poll, detects the kind, and fetches no file."""

from __future__ import annotations

import json
import subprocess
import sys

from monitor.standin import Portal


def test_discover_lists_files_without_fetching_them() -> None:
    portal = Portal().start()
    try:
        portal.publish("counts.csv", b"county,count\nA,1\n")
        portal.publish("people.csv", b"name\nJohn Smith\n")
        result = subprocess.run(
            [sys.executable, "-m", "monitor.cli", "discover", "--format", "json", portal.url],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        found = json.loads(result.stdout)
        assert found["kind"] == "html"
        assert sorted(f["url"] for f in found["files"]) == [
            portal.url + "data/counts.csv",
            portal.url + "data/people.csv",
        ]
        assert found["incomplete"] is None
        fetched = [path for _, path, _ in portal.requests if path.startswith("/data/")]
        assert fetched == []
    finally:
        portal.stop()
