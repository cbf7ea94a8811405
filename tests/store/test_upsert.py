"""Insert-if-absent tells its caller whether it inserted, on SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.store.schema import PollRow
from monitor.store.upsert import insert_if_absent
from tests.store.fakes import minutes

if TYPE_CHECKING:
    from monitor.store import Store


def test_says_it_inserted_a_new_row_and_skipped_an_existing_one(store: Store) -> None:
    # On PostgreSQL it once answered "skipped" for every insert: SQLAlchemy adds an
    # implicit RETURNING there, and psycopg's rowcount is then -1. Each new file's
    # first baseline went down the slow path (a locking read, ORM objects) for it.
    with store._db.session(write=True) as s:
        first = insert_if_absent(s, PollRow, {"target": "t", "next_due_at": minutes(0)}, ["target"])
        again = insert_if_absent(s, PollRow, {"target": "t", "next_due_at": minutes(5)}, ["target"])
        other = insert_if_absent(s, PollRow, {"target": "u", "next_due_at": minutes(0)}, ["target"])

    assert (first, again, other) == (True, False, True)
