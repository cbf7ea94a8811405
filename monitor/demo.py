"""``leakmon demo``: the 2022 case on a stand-in portal, paged; then the page and the metrics.

A justice-data portal's home page links a dashboard page embedding a Tableau view
whose summary export is county counts. After a few seconds the dashboard starts
offering Download > Data > Full data, a row-level list of permit holders (as the
California DOJ's did in June 2022); leakmon opens the view's session as a visitor
would, downloads the full data and pages. Everything runs on 127.0.0.1 with SQLite
in a temporary folder: a new user sees a detection in under a minute.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import shutil
import tempfile
import threading
import time
import urllib.request
from importlib import resources
from pathlib import Path

from monitor.config import Settings
from monitor.daemon import Daemon
from monitor.logs import configure_logging
from monitor.standin import Receiver
from monitor.standin_tableau import SUMMARY_FLAGS, DashboardPortal, StandinView

__all__ = ["run_demo"]

logger = logging.getLogger(__name__)

_POLL = 5.0
_LEAK_AFTER = 8.0
_WAIT_FOR_PAGE = 45.0


def _example(name: str) -> bytes:
    return (resources.files("monitor") / "examples" / name).read_bytes()


def _view() -> StandinView:
    """Return the demo's view: county counts as summary, permit holders as full data."""
    rows = list(csv.reader(io.StringIO(_example("ccw_permits_export.csv").decode("utf-8"))))
    return StandinView(
        workbook="CCW",
        sheet="Applicants",
        columns=rows[0],
        rows=[list(r) for r in rows[1:]],
        summary=_example("ccw_permits_by_county.csv"),
        flags=dict(SUMMARY_FLAGS),
    )


def _say(text: str) -> None:
    print(text, flush=True)


def run_demo(workdir: Path | None = None) -> int:
    """Run the demo; return 0 when the leak was paged, 1 otherwise."""
    configure_logging(logging.WARNING)
    folder = workdir or Path(tempfile.mkdtemp(prefix="leakmon-demo-"))
    portal = DashboardPortal(_view())
    portal.start()
    receiver = Receiver().start()
    settings = Settings.model_validate(
        {
            "storage": f"sqlite:///{folder / 'state.db'}",
            "http": {"listen": "127.0.0.1:0"},
            "targets": [
                {
                    "name": "demo-portal",
                    "start_urls": [portal.url],
                    "every": _POLL,
                    "allowed_domains": ["127.0.0.1"],
                }
            ],
            "notify": [
                {"name": "oncall", "kind": "webhook", "url": receiver.url, "min_severity": "high"}
            ],
            "crawl": {"autothrottle": False, "obey_robots_txt": True},
        }
    )
    daemon = Daemon(settings)
    outcome: dict[str, int] = {"code": 1}

    def script() -> None:
        _say(f"leakmon demo: watching {portal.url} every {_POLL:.0f} s (SQLite in {folder})")
        _say(f"metrics and health on http://{daemon.health.address}/metrics\n")
        time.sleep(_LEAK_AFTER)
        published = time.monotonic()
        portal.offer_full_data()
        _say(
            "the dashboard now offers Download > Data > Full data: behind its clean summary"
            " export, a row-level list of permit holders ..."
        )
        posts = receiver.wait_for(1, _WAIT_FOR_PAGE)
        if posts:
            page = posts[0]
            exposed = page.json().get("dataset") or page.json().get("resource_url")
            _say(f"\npaged after {page.received_at - published:.1f} s for: {exposed}")
            _say("the webhook received:\n")
            _say(json.dumps(page.json(), indent=2))
            with urllib.request.urlopen(
                f"http://{daemon.health.address}/metrics",
                timeout=5,
            ) as resp:
                metrics = resp.read().decode()
            shown = [
                ln
                for ln in metrics.splitlines()
                if ln.startswith(
                    (
                        "leakmon_open_findings{",
                        "leakmon_time_to_alert_seconds_sum",
                        "leakmon_notifications_total",
                        "leakmon_scans_total",
                    )
                )
                and not ln.rstrip().endswith(" 0.0")
            ]
            _say("\nmetrics (excerpt):\n" + "\n".join(shown))
            outcome["code"] = 0
        else:
            _say(f"no page within {_WAIT_FOR_PAGE:.0f} s: see the log above")
        daemon.request_stop()

    threading.Thread(target=script, name="demo", daemon=True).start()
    try:
        daemon.run()
    finally:
        portal.stop()
        receiver.stop()
        if workdir is None:  # the folder is the demo's own: leave nothing behind
            shutil.rmtree(folder, ignore_errors=True)
    return outcome["code"]
