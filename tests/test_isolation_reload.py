"""A reload that changes the scan settings restarts the scan workers; a stop ends them."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import psutil
import yaml
from prometheus_client import CollectorRegistry

from monitor.config import load_settings
from monitor.daemon import Daemon
from monitor.metrics import Metrics
from monitor.reload import load_reloaded
from tests import synthetic

if TYPE_CHECKING:
    from pathlib import Path


def _write(path: Path, limits: dict[str, object]) -> Path:
    config = {
        "storage": f"sqlite:///{path.parent / 'state.db'}",
        "http": {"listen": "127.0.0.1:0"},
        "targets": [{"name": "t", "start_urls": ["http://127.0.0.1:9/"]}],
        "scan": {"free_text_analysis": False, "limits": limits},
    }
    path.write_text(yaml.safe_dump(config))
    return path


def _gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def test_scan_settings_are_applied_by_a_reload(tmp_path: Path) -> None:
    running = load_settings(_write(tmp_path / "a.yaml", {"worker_timeout_s": 900}))
    new = load_reloaded(_write(tmp_path / "b.yaml", {"worker_timeout_s": 60}), running)
    assert new.pending == ()
    assert new.settings.scan.limits.worker_timeout_s == 60


def test_reload_restarts_scan_workers_and_shutdown_stops_them(tmp_path: Path) -> None:
    path = _write(tmp_path / "leakmon.yaml", {"worker_timeout_s": 900})
    daemon = Daemon(load_settings(path), Metrics(CollectorRegistry()), config_path=path)
    daemon.store.migrate()
    leak = synthetic.ccw_applicants_csv(tmp_path / "leak", rows=20)
    try:
        assert daemon.scanner.scan(leak).error is None
        (before,) = daemon.scanner.worker_pids()
        _write(path, {"worker_timeout_s": 60})
        assert daemon.reload()
        assert daemon.scanner.config.limits.worker_timeout_s == 60
        assert _gone(before)
        assert daemon.scanner.scan(leak).error is None
        (after,) = daemon.scanner.worker_pids()
        assert after != before
    finally:
        daemon.shutdown()
    assert daemon.scanner.worker_pids() == set()
    assert _gone(after)
