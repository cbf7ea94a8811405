"""`kill -9` of a real `leakmon run`, mid-scan and mid-delivery: nothing lost, nothing doubled.

Each test SIGKILLs the daemon process at a moment it detects from outside (the
store, or the receiver), restarts it on the same store, and then checks the
store row by row and the receiver delivery by delivery.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from tests import synthetic
from tests.faults.harness import (
    Daemon,
    check_consistent,
    engine_for,
    outbox_deliveries,
    rows,
    scan_in_progress,
    wait_until,
)

if TYPE_CHECKING:
    from pathlib import Path

    from monitor.standin import Portal
    from tests.faults.harness import HoldingReceiver


def _keys(engine, url_part: str) -> list[str]:
    return sorted(
        r["key"]
        for r in rows(
            engine,
            "SELECT f.key FROM findings f JOIN resources r ON r.id = f.resource_id "
            "WHERE r.url LIKE :pattern",
            pattern=f"%{url_part}",
        )
    )


def _downloads(spool: Path) -> list[str]:
    """Return the downloaded bodies under the daemon's TMPDIR (spool folders included)."""
    return sorted(str(p.relative_to(spool)) for p in spool.rglob("leakmon-*") if p.is_file())


def _drained(engine) -> dict[str, bool] | None:
    got = outbox_deliveries(engine)
    return got if got and all(got.values()) else None


def test_kill9_mid_scan_loses_and_doubles_nothing(
    tmp_path: Path, storage: str, portal: Portal, receiver: HoldingReceiver
) -> None:
    """Killed between "file taken" and "scan recorded": the restart scans it once, pages once."""
    first = synthetic.ccw_applicants_csv(tmp_path / "a", rows=300)
    portal.publish("permits.csv", first.read_bytes())
    daemon = Daemon(tmp_path, storage=storage, portal_url=portal.url, receiver_url=receiver.url)
    engine = engine_for(storage)
    try:
        daemon.start().wait_ready()
        assert wait_until(lambda: _drained(engine), 60), daemon.logs()[-3000:]
        before = _keys(engine, "permits.csv")
        assert before

        # Free-text notes go through Presidio: the scan takes seconds, not milliseconds.
        slow = synthetic.notes_with_names_and_phones_csv(tmp_path / "b", rows=20_000)
        url = portal.publish("call_notes.csv", slow.read_bytes())
        assert wait_until(lambda: scan_in_progress(engine, url), 30, step=0.02), daemon.logs()
        daemon.kill9()
        # The body being scanned stays on disk (in the dead daemon's spool folder)...
        left = _downloads(daemon.spool)
        assert left
        # The kill really landed mid-scan: taken, not recorded, nothing found yet.
        assert scan_in_progress(engine, url)
        assert _keys(engine, "call_notes.csv") == []
        check_consistent(engine)
        assert _keys(engine, "permits.csv") == before

        restarted = time.monotonic()
        daemon.start().wait_ready()
        assert wait_until(lambda: _keys(engine, "call_notes.csv") and _drained(engine), 60), (
            daemon.logs()[-3000:]
        )
        drained_in = time.monotonic() - restarted
        time.sleep(2.5)  # one more poll: nothing else may appear
        counts = check_consistent(engine)
        assert _keys(engine, "permits.csv") == before
        notes = _keys(engine, "call_notes.csv")
        assert notes
        assert counts["findings"] == len(before) + len(notes)
        # One scan row per version of each file: the interrupted scan left none.
        assert rows(engine, "SELECT count(*) AS n FROM scans")[0]["n"] == 2
        # Nothing was in flight when the daemon died: every event arrived exactly once.
        deliveries = receiver.deliveries()
        assert set(deliveries) == set(outbox_deliveries(engine))
        assert set(deliveries.values()) == {1}, deliveries
        print(f"restart to drained outbox: {drained_in:.1f} s; left in TMPDIR by the kill: {left}")
        # ...until the restarted daemon sweeps the dead one's folder (monitor.spool).
        assert _downloads(daemon.spool) == []
    finally:
        daemon.stop()
        engine.dispose()


def test_kill9_mid_delivery_redelivers_only_the_event_in_flight(
    tmp_path: Path, storage: str, portal: Portal, receiver: HoldingReceiver
) -> None:
    """Killed while a POST is held open: after restart that one event comes again, same id.

    The receiver records a POST when it arrives, then holds it unanswered. The
    daemon dies before it could record the delivery, so delivery is at least
    once: the in-flight event is sent again after restart with the same
    ``X-Leakmon-Delivery`` id (a receiver dedupes on it). Every other event
    arrives exactly once, and every event of the outbox arrives.
    """
    leak = synthetic.ccw_applicants_csv(tmp_path / "a", rows=300)
    portal.publish("permits.csv", leak.read_bytes())
    # One incident per file: a second leaking file queues a second event behind the held one.
    other = synthetic.ccw_applicants_csv(tmp_path / "b", rows=300, seed=2)
    portal.publish("permits_2.csv", other.read_bytes())
    receiver.hold = True
    daemon = Daemon(tmp_path, storage=storage, portal_url=portal.url, receiver_url=receiver.url)
    engine = engine_for(storage)
    try:
        daemon.start().wait_ready()
        assert receiver.held.wait(60), daemon.logs()[-3000:]
        assert wait_until(lambda: len(outbox_deliveries(engine)) > 1, 60), daemon.logs()[-3000:]
        daemon.kill9()
        [in_flight] = receiver.posts
        queued = outbox_deliveries(engine)
        assert len(queued) > 1
        assert not any(queued.values())  # the held one was never marked delivered
        check_consistent(engine)
        keys = _keys(engine, "permits.csv")
        receiver.release()

        restarted = time.monotonic()
        daemon.start().wait_ready()
        assert wait_until(lambda: _drained(engine), 60), daemon.logs()[-3000:]
        drained_in = time.monotonic() - restarted
        time.sleep(2.5)  # one more poll: nothing else may appear
        check_consistent(engine)
        assert _keys(engine, "permits.csv") == keys
        deliveries = receiver.deliveries()
        assert set(deliveries) == set(queued)
        assert deliveries[in_flight.delivery] == 2
        assert {d: n for d, n in deliveries.items() if d != in_flight.delivery} == dict.fromkeys(
            set(queued) - {in_flight.delivery}, 1
        )
        again = [p for p in receiver.posts if p.delivery == in_flight.delivery]
        assert again[0].json() == again[1].json()  # the same event, not a new one
        print(f"restart to drained outbox: {drained_in:.1f} s")
    finally:
        daemon.stop()
        engine.dispose()
