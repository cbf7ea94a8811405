"""Poll leases and named locks: what lets several replicas share one store (cluster mode)."""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text

from monitor.store import Store
from monitor.store.locks import lock_key
from tests.store.fakes import minutes

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.engine import URL

TARGETS = [f"portal-{n:02d}" for n in range(20)]
LEASE = 30.0


def test_new_targets_are_due_at_once(store: Store) -> None:
    store.sync_polls(TARGETS[:3], minutes(0))
    claims = store.claim_polls("a", TARGETS[:3], minutes(0), LEASE, limit=10)
    assert sorted(c.target for c in claims) == TARGETS[:3]
    assert all(c.cursor is None and not c.taken_over for c in claims)


def test_a_held_poll_is_not_offered_to_another_replica(store: Store) -> None:
    store.sync_polls(["one"], minutes(0))
    assert [c.target for c in store.claim_polls("a", ["one"], minutes(0), LEASE, 5)] == ["one"]
    assert store.claim_polls("b", ["one"], minutes(0) + dt.timedelta(seconds=29), LEASE, 5) == []


def test_a_lease_that_ran_out_is_taken_over(store: Store) -> None:
    store.sync_polls(["one"], minutes(0))
    store.claim_polls("a", ["one"], minutes(0), LEASE, 5)
    later = minutes(0) + dt.timedelta(seconds=LEASE + 1)
    claims = store.claim_polls("b", ["one"], later, LEASE, 5)
    assert [(c.target, c.taken_over) for c in claims] == [("one", True)]
    # The dead replica's late finish does not undo the takeover.
    assert not store.finish_poll("a", "one", next_due_at=later, cursor=None, at=later)
    assert store.finish_poll("b", "one", next_due_at=minutes(5), cursor="page-2", at=later)


def test_renewed_lease_keeps_the_poll(store: Store) -> None:
    store.sync_polls(["one"], minutes(0))
    store.claim_polls("a", ["one"], minutes(0), LEASE, 5)
    held = store.renew_polls("a", ["one"], minutes(1) + dt.timedelta(seconds=LEASE))
    assert held == {"one"}
    assert store.claim_polls("b", ["one"], minutes(1), LEASE, 5) == []
    assert store.renew_polls("b", ["one"], minutes(2)) == set()


def test_finish_sets_the_next_due_time_and_keeps_the_cursor(store: Store) -> None:
    store.sync_polls(["one"], minutes(0))
    store.claim_polls("a", ["one"], minutes(0), LEASE, 5)
    assert store.finish_poll("a", "one", next_due_at=minutes(5), cursor="c-7", at=minutes(1))
    assert store.claim_polls("b", ["one"], minutes(4), LEASE, 5) == []
    (claim,) = store.claim_polls("b", ["one"], minutes(5), LEASE, 5)
    assert (claim.cursor, claim.taken_over) == ("c-7", False)


def test_release_hands_polls_back_at_once(store: Store) -> None:
    store.sync_polls(["one", "two"], minutes(0))
    store.claim_polls("a", ["one", "two"], minutes(0), LEASE, 5)
    assert store.release_polls("a") == 2
    claims = store.claim_polls("b", ["one", "two"], minutes(0), LEASE, 5)
    assert sorted(c.target for c in claims) == ["one", "two"]


def test_sync_keeps_existing_due_times(store: Store) -> None:
    store.sync_polls(["one"], minutes(0))
    store.claim_polls("a", ["one"], minutes(0), LEASE, 5)
    store.finish_poll("a", "one", next_due_at=minutes(10), cursor=None, at=minutes(0))
    store.sync_polls(["one", "two"], minutes(1))
    assert [c.target for c in store.claim_polls("a", ["one", "two"], minutes(1), LEASE, 5)] == [
        "two"
    ]


def test_limit_bounds_one_claim(store: Store) -> None:
    store.sync_polls(TARGETS, minutes(0))
    assert len(store.claim_polls("a", TARGETS, minutes(0), LEASE, limit=3)) == 3


def test_replicas_claiming_at_once_share_out_every_poll_once(store: Store) -> None:
    store.sync_polls(TARGETS, minutes(0))
    start = threading.Barrier(4)

    def replica(name: str) -> list[str]:
        start.wait()
        got: list[str] = []
        for _ in range(10):
            got += [c.target for c in store.claim_polls(name, TARGETS, minutes(0), LEASE, 2)]
        return got

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(replica, ["a", "b", "c", "d"]))
    everything = [t for got in results for t in got]
    assert sorted(everything) == TARGETS  # each exactly once


@pytest.fixture
def lock_name() -> str:
    return f"test-lock-{secrets.token_hex(6)}"


@pytest.fixture
def second_store(store_url: str, store: Store) -> Iterator[Store]:
    """Return another process's view of the same database (its own engine and pool)."""
    other = Store(store_url)
    yield other
    other.close()


def test_a_named_lock_has_one_holder(store: Store, second_store: Store, lock_name: str) -> None:
    first, second = store.lock(lock_name), second_store.lock(lock_name)
    assert first.try_acquire()
    assert first.held()
    assert not second.try_acquire()
    first.release()
    assert not first.held()
    assert second.try_acquire()
    second.release()


@pytest.mark.postgres
def test_a_dead_holders_lock_is_free_at_once(postgres_database: URL, lock_name: str) -> None:
    store_url = postgres_database.render_as_string(hide_password=False)
    holder, other = Store(store_url), Store(store_url)
    try:
        lock = holder.lock(lock_name)
        assert lock.try_acquire()
        assert not other.lock(lock_name).try_acquire()
        _kill_lock_holder(store_url, lock_name)  # as when the replica's process is killed
        assert other.lock(lock_name).try_acquire()
        assert not lock.held()
    finally:
        holder.close()
        other.close()


def _kill_lock_holder(url: str, name: str) -> None:
    key = lock_key(name) & 0xFFFFFFFFFFFFFFFF
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        killed = conn.execute(
            text(
                # The timeout makes PostgreSQL wait until the backend has exited (and so
                # released its locks); without it the call returns once the signal is sent.
                "SELECT pg_terminate_backend(pid, 10000) FROM pg_locks WHERE locktype = 'advisory'"
                " AND granted AND classid = :hi AND objid = :lo"
            ),
            {"hi": key >> 32, "lo": key & 0xFFFFFFFF},
        ).all()
    engine.dispose()
    assert killed == [(True,)]
