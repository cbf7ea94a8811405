"""The daemon keeps a Tableau view's offer as findings: recorded, raised when new, resolved.

In process, with the real store (SQLite): ``on_exposure`` as the crawl calls it
once per view and poll.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry

from monitor.config import Settings
from monitor.daemon import Daemon
from monitor.metrics import Metrics
from monitor.models import Severity, ViewExposure

if TYPE_CHECKING:
    from pathlib import Path

URL = "https://tableau.example.gov/views/CCW/Applicants"
FLAGS = (("allow_summary", True), ("allow_view_underlying", True))


def _daemon(tmp_path: Path) -> Daemon:
    settings = Settings.model_validate(
        {"storage": f"sqlite:///{tmp_path / 'state.db'}", "http": {"listen": "127.0.0.1:0"}}
    )
    daemon = Daemon(settings, Metrics(registry=CollectorRegistry()))
    daemon.store.migrate()
    return daemon


def _offer(daemon: Daemon, *offers: str, forbidden: tuple[str, ...] = ()) -> dict[str, Severity]:
    daemon._exposure(ViewExposure("t", URL, "CCW/Applicants", offers, FLAGS, forbidden))
    return {
        f.column or "": f.severity
        for f in daemon.store.findings(open_only=True, target="t")
        if f.resource_url == URL
    }


def test_offer_is_low_at_first_sight_medium_when_new_high_when_forbidden(tmp_path: Path) -> None:
    daemon = _daemon(tmp_path)
    try:
        assert _offer(daemon, "summary_data", "full_data") == {"full_data": Severity.LOW}
        assert _offer(daemon, "summary_data", "full_data") == {"full_data": Severity.LOW}
        assert _offer(daemon, "summary_data", "full_data", "workbook") == {
            "full_data": Severity.LOW,
            "workbook": Severity.MEDIUM,  # newly offered by a view already watched
        }
        assert _offer(daemon, "full_data", "workbook", forbidden=("workbook",)) == {
            "full_data": Severity.LOW,
            "workbook": Severity.HIGH,
        }
    finally:
        daemon.shutdown()


def test_offer_withdrawn_resolves_its_finding(tmp_path: Path) -> None:
    daemon = _daemon(tmp_path)
    try:
        _offer(daemon, "summary_data")
        assert _offer(daemon, "summary_data", "full_data") == {"full_data": Severity.MEDIUM}
        assert _offer(daemon, "summary_data") == {}
        resolved = [
            f
            for f in daemon.store.findings(open_only=False, target="t")
            if f.resource_url == URL and f.status == "resolved"
        ]
        assert [f.column for f in resolved] == ["full_data"]
    finally:
        daemon.shutdown()
