"""The daemon in process, for tests of its store and scan-result rules.

Built on a real SQLite file in the test's folder, its health server on a free
port of 127.0.0.1, and closed the same way by every test that builds one (a
daemon left open keeps its scan workers and store threads running into the next
test).
"""

from __future__ import annotations

import hashlib
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry

from monitor.config import Settings
from monitor.daemon import Daemon
from monitor.metrics import Metrics
from monitor.models import FetchedFile, FileReport, Finding, Severity, utcnow

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

__all__ = ["close_daemon", "daemon_on", "daemons", "fetched_csv", "report", "wait_for"]


def daemon_on(tmp_path: Path, **config: Any) -> Daemon:
    """Build a daemon on ``tmp_path/state.db`` with ``config`` over the defaults, migrated."""
    settings = Settings.model_validate(
        {
            "storage": f"sqlite:///{tmp_path / 'state.db'}",
            "http": {"listen": "127.0.0.1:0"},
            **config,
        }
    )
    daemon = Daemon(settings, Metrics(registry=CollectorRegistry()))
    daemon.store.migrate()
    return daemon


def close_daemon(daemon: Daemon) -> None:
    """Stop a daemon built by ``daemon_on``: its workers, health server and store."""
    daemon._stop.set()
    daemon.pool.shutdown(wait=True)
    daemon.health.stop()
    daemon.store.close()


@contextmanager
def daemons(tmp_path: Path, **config: Any) -> Iterator[Callable[..., Daemon]]:
    """Yield a maker of daemons on one store (``config`` plus the maker's overrides).

    Every daemon made is closed on exit, so a test may build a second one on the
    same file, as after a restart.
    """
    made: list[Daemon] = []

    def make(**overrides: Any) -> Daemon:
        made.append(daemon_on(tmp_path, **(config | overrides)))
        return made[-1]

    try:
        yield make
    finally:
        for daemon in made:
            close_daemon(daemon)


def wait_for(check: Callable[[], bool], timeout: float = 20.0) -> None:
    """Wait until ``check()`` holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def report(url: str, leak: bool = True) -> FileReport:
    """Return a scan report of a 40-row CSV, with one masked e-mail finding if ``leak``."""
    finding = Finding(
        file=url,
        table=None,
        column="contact",
        entity="EMAIL_ADDRESS",
        severity=Severity.HIGH,
        score=0.9,
        matched=40,
        scanned=40,
        evidence=("j***@e***.org",),
        reason="synthetic addresses",
    )
    findings = (finding,) if leak else ()
    return FileReport(file=url, kind="csv", size=100, tables=1, rows=40, findings=findings)


def fetched_csv(
    path: Path, target: str, url: str, etag: str, last_modified: str | None = None
) -> FetchedFile:
    """Write a small CSV at ``path`` (its body differs per path) and return it as downloaded."""
    path.write_bytes(b"contact\nsomeone@example.org\n" + path.name.encode())
    return FetchedFile(
        target=target,
        url=url,
        path=path,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        size=path.stat().st_size,
        media_type="text/csv",
        etag=etag,
        last_modified=last_modified,
        fetched_at=utcnow(),
    )
