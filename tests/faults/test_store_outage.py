"""The database goes away under a running daemon, then comes back: no crash, no restart needed.

PostgreSQL: the daemon reaches the real server through a TCP proxy the test owns;
cutting the proxy (listener closed, live connections dropped) is the outage, the
server itself is never touched. SQLite: another connection holds ``BEGIN
EXCLUSIVE`` on the file, as a stray ``sqlite3`` shell or a VACUUM would. In WAL
mode reads go on under that lock and writes wait for the 30 s busy timeout.

Expected of the daemon: /readyz answers 503 and ``leakmon_ready`` is 0 while
writes cannot go in; the crawler keeps polling and fetching; and after the store
is back it is ready again and pages a leak published during the outage.
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import TYPE_CHECKING

import pytest

from tests import synthetic
from tests.faults.harness import Daemon, TcpProxy, check_consistent, engine_for, wait_until

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from monitor.standin import Portal
    from tests.faults.harness import HoldingReceiver, Postgres

POLL = 2


def _activity(daemon: Daemon) -> tuple[float, float]:
    """Return (polls done, fetches made) from /metrics."""
    return (
        daemon.metric("leakmon_poll_duration_seconds_count"),
        daemon.metric("leakmon_fetches_total"),
    )


def _not_ready(daemon: Daemon) -> dict | None:
    status, body = daemon.readyz()
    if status in (0, 200):
        return None
    return json.loads(body)


def _outage(
    tmp_path: Path,
    storage: str,
    portal: Portal,
    receiver: HoldingReceiver,
    cut: Callable[[], None],
    restore: Callable[[], None],
    *,
    hold_after_not_ready: float,
    not_ready_within: float,
) -> dict[str, float]:
    """Run the outage story once; return the measured seconds."""
    clean = synthetic.clean_aggregate_csv(tmp_path / "files")
    portal.publish("counts.csv", clean.read_bytes())
    daemon = Daemon(tmp_path, storage=storage, portal_url=portal.url, receiver_url=receiver.url)
    try:
        daemon.start().wait_ready()
        assert wait_until(lambda: _activity(daemon)[0] >= 1, 20)

        cut()
        cut_at = time.monotonic()
        leak = synthetic.ccw_applicants_csv(tmp_path / "leak", rows=200)
        portal.publish("permits.csv", leak.read_bytes())
        details = wait_until(lambda: _not_ready(daemon), not_ready_within, 0.25)
        assert details, f"still ready {not_ready_within} s into it:\n{daemon.logs()[-3000:]}"
        not_ready_after = time.monotonic() - cut_at
        assert details["ready"] is False
        assert details["store"] in ("unreachable", "failing")
        assert daemon.metric("leakmon_ready") == 0
        polls, fetches = _activity(daemon)
        time.sleep(hold_after_not_ready)
        # The crawler went on while the store was away, and the daemon is still up.
        assert daemon.alive(), daemon.logs()[-3000:]
        assert _not_ready(daemon)
        later_polls, later_fetches = _activity(daemon)
        assert later_polls > polls
        assert later_fetches > fetches
        assert receiver.posts == []

        restore()
        back_at = time.monotonic()
        assert wait_until(lambda: daemon.readyz()[0] == 200, 30, 0.1), daemon.logs()[-3000:]
        ready_after = time.monotonic() - back_at
        assert daemon.metric("leakmon_ready") == 1
        assert wait_until(lambda: receiver.posts, 60), daemon.logs()[-3000:]
        paged_after = time.monotonic() - back_at
        bodies = [p.json() for p in receiver.posts]
        assert all(b["resource_url"] == portal.url + "data/permits.csv" for b in bodies)
        assert daemon.alive()
        assert "Traceback" not in daemon.logs()
        engine = engine_for(storage)
        try:
            check_consistent(engine)
        finally:
            engine.dispose()
        return {
            "outage": back_at - cut_at,
            "not_ready_after": not_ready_after,
            "ready_after": ready_after,
            "paged_after": paged_after,
        }
    finally:
        daemon.stop()


@pytest.mark.postgres
def test_postgres_outage_is_survived_and_reported(
    tmp_path: Path, postgres: Postgres, portal: Portal, receiver: HoldingReceiver
) -> None:
    """About 20 s without PostgreSQL (connections refused and dropped) on a 2 s poll."""
    proxy = TcpProxy(("127.0.0.1", 5432)).start()
    try:
        measured = _outage(
            tmp_path,
            postgres.url_via(proxy.port),
            portal,
            receiver,
            proxy.cut,
            proxy.restore,
            hold_after_not_ready=18,
            not_ready_within=10,
        )
    finally:
        proxy.stop()
    assert measured["not_ready_after"] < 5
    assert measured["ready_after"] < 10
    print(measured)


def test_sqlite_lock_past_the_busy_timeout_is_survived_and_reported(
    tmp_path: Path, portal: Portal, receiver: HoldingReceiver
) -> None:
    """An exclusive lock held past the 30 s busy timeout: writes fail, reads go on."""
    path = tmp_path / "state.db"
    holder: list[sqlite3.Connection] = []

    def lock() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        holder.append(conn)

    def unlock() -> None:
        conn = holder.pop()
        conn.execute("ROLLBACK")
        conn.close()

    measured = _outage(
        tmp_path,
        f"sqlite:///{path}",
        portal,
        receiver,
        lock,
        unlock,
        hold_after_not_ready=3,
        not_ready_within=45,
    )
    # Not ready only once a writer gave up: the busy timeout (30 s) after the
    # first write that met the lock.
    assert 25 < measured["not_ready_after"] < 40
    assert measured["ready_after"] < 10
    print(measured)
