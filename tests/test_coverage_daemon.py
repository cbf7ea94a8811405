"""The daemon keeps each target's coverage and walk cursor in the store, across a restart.

In process, with the real store (SQLite); ``leakmon status`` and ``leakmon findings``
show what the last poll could not check.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import yaml
from prometheus_client import CollectorRegistry

from monitor.cli import main
from monitor.config import Settings
from monitor.daemon import Daemon
from monitor.metrics import Metrics
from monitor.models import COVERAGE_STATES, Coverage, utcnow

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

NOTE = "robots http://127.0.0.1:9/api/3/action/package_search: robots.txt disallows the Action API"


def _config(tmp_path: Path) -> dict[str, object]:
    return {
        "storage": f"sqlite:///{tmp_path / 'state.db'}",
        "http": {"listen": "127.0.0.1:0"},
        "targets": [{"name": "city", "kind": "ckan", "start_urls": ["http://127.0.0.1:9/"]}],
    }


def _daemon(tmp_path: Path) -> Daemon:
    daemon = Daemon(Settings.model_validate(_config(tmp_path)), Metrics(CollectorRegistry()))
    daemon.store.migrate()
    return daemon


def _coverage(since: dt.datetime) -> Coverage:
    counts = dict.fromkeys(COVERAGE_STATES, 0) | {"checked": 45, "robots": 1}
    return Coverage(
        "city", utcnow(), counts, "incomplete", "1 of 46 resources not checked", (NOTE,), since
    )


def test_cursor_and_coverage_clock_survive_a_restart(tmp_path: Path) -> None:
    since = utcnow() - dt.timedelta(hours=3)
    first = _daemon(tmp_path)
    try:
        first.crawl.resume("city", "page:2:5")  # where the poll's walk stopped
        first.on_coverage(_coverage(since))
        first.on_poll_done("city", set(), False)
        first.pool.shutdown(wait=True)
    finally:
        first.shutdown()
    again = _daemon(tmp_path)
    try:
        again._resume_walks()
        assert again.crawl.cursor("city") == "page:2:5"
        assert again.crawl._short_since["city"] == since
    finally:
        again.shutdown()


def test_status_and_findings_show_what_was_not_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    daemon = _daemon(tmp_path)
    try:
        daemon.on_coverage(_coverage(utcnow()))
        daemon.pool.shutdown(wait=True)
    finally:
        daemon.shutdown()
    config = tmp_path / "leakmon.yaml"
    config.write_text(yaml.safe_dump(_config(tmp_path)))
    assert main(["status", "--config", str(config)]) == 0
    status = capsys.readouterr().out
    assert "city: last poll" in status
    assert "incomplete" in status
    assert "46 found: 45 checked, 1 robots" in status
    assert NOTE in status
    assert main(["findings", "--config", str(config)]) == 0
    assert NOTE in capsys.readouterr().out  # no findings, but never "clean"
