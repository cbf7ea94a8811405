"""``poll_once`` runs the reactor for one poll and returns; the reactor then cannot run again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, sys
from monitor.config import Settings
from monitor.crawl import poll_once
from monitor.metrics import Metrics
from tests.crawl.portal import Portal, Resource, page
from tests.crawl.recording import RecordingHooks

portal = Portal().start()
portal.set("/", page("Index", "/a.csv"))
portal.set("/a.csv", Resource(b"k,v\\n1,2\\n", "text/csv"))
settings = Settings.model_validate(
    {
        "targets": [{"kind": "html", "name": "once", "start_urls": [portal.url]}],
        "crawl": {"autothrottle": False},
    }
)
hooks = RecordingHooks()
try:
    poll_once(settings, "nope", hooks, Metrics())
except KeyError as exc:
    unknown = str(exc)
ok = poll_once(settings, "once", hooks, Metrics())
try:
    poll_once(settings, "once", hooks, Metrics())
    again = "ran"
except Exception as exc:
    again = type(exc).__name__
portal.stop()
print(json.dumps({"ok": ok, "unknown": unknown, "again": again, "events": hooks.events}))
"""


@pytest.mark.timeout(120)
def test_poll_once_polls_once_and_the_reactor_is_not_restartable() -> None:
    env = dict(os.environ, TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS="")
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["ok"] is True
    assert "nope" in out["unknown"]
    assert out["again"] == "ReactorNotRestartable"
    hooks = [e["hook"] for e in out["events"] if e["hook"] != "validators"]
    assert hooks == ["on_file", "on_coverage", "on_poll_done"]
